"""Facet counts (place, group, month) over every document a query matched.

The ``place`` / ``group`` / ``month`` postings are read once per searcher into
sets of document numbers; a query's counts are then set intersections with its
matched documents (cost bounded by the facet postings, not by the result size).
Place and group fields already hold the ancestors and parent groups of what a
report names (indexing rolls them up), so counts roll up too.
"""

from __future__ import annotations

import threading
import weakref

from whoosh.searching import Searcher

from analyzers import gazetteer

FACET_FIELDS = ("place", "group", "month")
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def postings(searcher: Searcher) -> dict[str, dict[str, frozenset[int]]]:
    """``{field: {term: docnums}}`` for the facet fields, cached for the searcher's life."""
    with _lock:
        found = _cache.get(searcher)
        if found is None:
            reader = searcher.reader()
            found = {}
            for fname in FACET_FIELDS:
                terms: dict[str, frozenset[int]] = {}
                if fname in searcher.schema:
                    for raw in reader.lexicon(fname):
                        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                        ids = frozenset(reader.postings(fname, raw).all_ids())
                        ids = (
                            frozenset(d for d in ids if not reader.is_deleted(d))
                            if reader.has_deletions()
                            else ids
                        )
                        if ids:
                            terms[text] = ids
                found[fname] = terms
            _cache[searcher] = found
        return found


def _entity_row(entity_id: str, count: int) -> dict:
    e = gazetteer.entities().get(entity_id)
    return {
        "id": entity_id,
        "label": e.label if e else entity_id,
        "label_en": e.name_en if e else None,
        "level": e.level if e else None,
        "parent": e.parent if e else None,
        "count": count,
    }


def facet_counts(searcher: Searcher, docs: set[int] | frozenset[int]) -> dict:
    """``{"place": [...], "group": [...], "date": [{"month", "count"}]}`` over ``docs``.

    Entities are sorted by count (descending) then id; months chronologically.
    """
    table = postings(searcher)
    out: dict = {}
    for fname in ("place", "group"):
        rows = []
        for term, ids in table[fname].items():
            n = len(ids & docs) if len(ids) < len(docs) else len(docs & ids)
            if n:
                rows.append((-n, term))
        out[fname] = [_entity_row(term, -neg) for neg, term in sorted(rows)]
    months = []
    for term, ids in sorted(table["month"].items()):
        n = len(ids & docs)
        if n:
            months.append({"month": term, "count": n})
    out["date"] = months
    return out


def entity_counts(searcher: Searcher, kind: str | None = None) -> list[dict]:
    """Every known entity (of ``kind``) with the number of documents counted for it."""
    table = postings(searcher)
    rows = []
    for e in gazetteer.entities().values():
        if kind and e.kind != kind:
            continue
        row = _entity_row(e.id, len(table[e.kind].get(e.id, ())))
        row["kind"] = e.kind
        rows.append(row)
    rows.sort(key=lambda r: (r["kind"], -r["count"], r["id"]))
    return rows
