"""Facet counts (place, group, month) over every document a query matched.

The ``place`` / ``group`` / ``month`` postings are read once per searcher into
arrays of document numbers; a query's count for a value is then the number of
those documents set in the query's matched mask (cost bounded by the facet
postings, not by the result size).
Place and group fields already hold the ancestors and parent groups of what a
report names (indexing rolls them up), so counts roll up too.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
from whoosh.searching import Searcher

from analyzers import gazetteer
from indexer.ranking import corpus

FACET_FIELDS = ("place", "group", "month")
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def postings(searcher: Searcher) -> dict[str, dict[str, np.ndarray]]:
    """``{field: {term: docnums}}`` for the facet fields, cached for the searcher's life."""
    with _lock:
        found = _cache.get(searcher)
        if found is None:
            reader = searcher.reader()
            live = corpus(searcher).live
            found = {}
            for fname in FACET_FIELDS:
                terms: dict[str, np.ndarray] = {}
                if fname in searcher.schema:
                    for raw in reader.lexicon(fname):
                        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                        ids = np.fromiter(reader.postings(fname, raw).all_ids(), dtype=np.int64)
                        ids = ids[live[ids]]
                        if len(ids):
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


def facet_counts(searcher: Searcher, matched: np.ndarray) -> dict:
    """``{"place": [...], "group": [...], "organization": [...], "date": [{"month", "count"}]}``
    over the documents set in ``matched`` (a boolean mask over document numbers); ``group``
    holds the actors that fight, ``organization`` the other groups.

    Entities are sorted by count (descending) then id; months chronologically.
    """
    table = postings(searcher)
    out: dict = {}
    for fname in ("place", "group"):
        rows = []
        for term, ids in table[fname].items():
            n = int(np.count_nonzero(matched[ids]))
            if n:
                rows.append((-n, term))
        out[fname] = [_entity_row(term, -neg) for neg, term in sorted(rows)]
    # The armed-actors facet holds only actors that fight; monitors, NGOs, political bodies,
    # governments and peacekeepers are counted apart (docs/entities.md, "Kinds").
    groups = out["group"]
    out["group"] = [r for r in groups if gazetteer.is_armed(r["id"])]
    out["organization"] = [r for r in groups if not gazetteer.is_armed(r["id"])]
    months = []
    for term, ids in sorted(table["month"].items()):
        n = int(np.count_nonzero(matched[ids]))
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


def entity_months(searcher: Searcher, entity_id: str) -> tuple[int, list[tuple[str, int]]]:
    """``(documents, [(month, documents)])`` counted for one entity (roll-ups included),
    months in order."""
    table = postings(searcher)
    e = gazetteer.get(entity_id)
    ids = table[e.kind].get(entity_id)
    if ids is None or not len(ids):
        return 0, []
    mask = np.zeros(int(corpus(searcher).live.shape[0]), dtype=bool)
    mask[ids] = True
    months = []
    for term, docs in sorted(table["month"].items()):
        n = int(np.count_nonzero(mask[docs]))
        if n:
            months.append((term, n))
    return len(ids), months
