"""Facet counts (place, group, source, month) and the timeline over every document a query matched.

The ``place`` / ``group`` / ``month`` postings are read once per searcher into
arrays of document numbers; a query's count for a value is then the number of
those documents set in the query's matched mask (cost bounded by the facet
postings, not by the result size).
Place and group fields already hold the ancestors and parent groups of what a
report names (indexing rolls them up), so counts roll up too.
Sources are counted case-insensitively (``BBC`` and ``bbc`` are one value); the
timeline buckets the matched documents' dates by day, week, month or year,
whichever fits the selected range (:func:`timeline`).
"""

from __future__ import annotations

import calendar
import re
import threading
import weakref
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
from whoosh.searching import Searcher

from analyzers import gazetteer
from indexer.ranking import corpus

FACET_FIELDS = ("place", "group", "month", "source")
BY_DOC_RATIO = 4  # a matched set under a quarter of the documents is counted from its documents' values
DAY_US = 86_400 * 10**6  # Whoosh stores a DATETIME as microseconds since 0001-01-01
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# The finest unit whose bucket count over the range stays readable in a sidebar chart.
UNIT_MAX_DAYS = (("day", 62), ("week", 7 * 53), ("month", 366 * 5))
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class FacetTable(dict):
    """``{term: docnums}`` of one facet field, backed by the same postings laid end to end
    (``ids``, with ``offsets`` where each term starts) so that one gather and one
    ``reduceat`` count every term of the field in a matched mask at once. The arrays may
    be memory-mapped (indexer/arrays.py): each term's value is a view into them."""

    def __init__(
        self,
        names: list[str],
        ids: np.ndarray,
        offsets: np.ndarray,
        by_doc: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        ends = [*offsets[1:].tolist(), len(ids)] if len(offsets) else []
        super().__init__(
            (name, ids[start:end]) for name, start, end in zip(names, offsets.tolist(), ends, strict=True)
        )
        self.names, self.ids, self.offsets = names, ids, offsets
        self.by_doc = by_doc  # (starts, terms): each document's values (indexer.arrays.by_document)

    def counts(self, matched: np.ndarray) -> np.ndarray:
        """How many of each term's documents are set in ``matched`` (in ``names`` order).

        A gather over every posting of the field costs the collection's size; a matched set
        much smaller than it is counted from its own documents' values instead (a
        ``bincount`` over them, where the build wrote them per document): the same counts."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.int64)
        if self.by_doc is not None:
            starts, terms = self.by_doc
            docs = np.flatnonzero(matched[: len(starts) - 1])
            if len(docs) * BY_DOC_RATIO < len(starts) - 1:
                first = starts[docs]
                sizes = starts[docs + 1] - first
                # the positions first[i] .. first[i] + sizes[i] - 1 of every matched document
                at = np.repeat(first - (np.cumsum(sizes) - sizes), sizes) + np.arange(int(sizes.sum()))
                return np.bincount(terms[at], minlength=len(self.names)).astype(np.int64)
        return np.add.reduceat(matched[self.ids], self.offsets, dtype=np.int64)


def read_table(reader, c, fname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(terms, ids, offsets)`` of a facet field: each term's live documents (32-bit
    numbers, decoded a block at a time), end to end; terms with none are left out."""
    names: list[str] = []
    parts: list[np.ndarray] = []
    for raw in reader.lexicon(fname):
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        ids = c.read_ids(fname, text)
        ids = ids[c.live[ids]]
        if len(ids):
            names.append(text)
            parts.append(ids)
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    ids = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    return names, ids, (np.cumsum(sizes) - sizes).astype(np.int64)


def postings(searcher: Searcher) -> dict[str, FacetTable]:
    """``{field: {term: docnums}}`` for the facet fields, cached for the searcher's life:
    memory-mapped from the generation's arrays where the build wrote them, else decoded."""
    with _lock:
        found = _cache.get(searcher)
        if found is None:
            reader = searcher.reader()
            c = corpus(searcher)
            found = {}
            for fname in FACET_FIELDS:
                mapped = c.mapped.facet(fname) if c.mapped is not None else None
                if mapped is not None:
                    found[fname] = FacetTable(*mapped)
                elif fname in searcher.schema:
                    found[fname] = FacetTable(*read_table(reader, c, fname))
                else:
                    found[fname] = FacetTable([], np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int64))
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


def source_key(value: str) -> str:
    """How sources are compared: case and runs of spaces do not count.

    >>> source_key("  Al  Arabiya ") == source_key("al arabiya")
    True
    """
    return re.sub(r"\s+", " ", value).strip().casefold()


def source_terms(searcher: Searcher, values: list[str] | tuple[str, ...]) -> list[str]:
    """The indexed source spellings that ``values`` name, case-insensitively (a value the
    index does not hold is kept as given, so it matches nothing rather than everything)."""
    wanted = {source_key(v) for v in values}
    found = [term for term in postings(searcher)["source"] if source_key(term) in wanted]
    known = {source_key(t) for t in found}
    return found + [v for v in values if source_key(v) not in known]


def source_counts(
    searcher: Searcher, matched: np.ndarray, count: Callable[[np.ndarray], int] | None = None
) -> list[dict]:
    """``[{"value", "count"}]``: spellings that differ only in case are one value, shown in
    its most common spelling; biggest first. ``count`` counts a posting list's matches
    (default: documents; ``indexer.dedupe`` counts story groups)."""
    groups: dict[str, dict[str, int]] = {}
    table = postings(searcher)["source"]
    if count is None:
        pairs = zip(table.names, table.counts(matched).tolist(), strict=True)
    else:
        pairs = ((term, count(ids)) for term, ids in table.items())
    for term, n in pairs:
        if n:
            groups.setdefault(source_key(term), {})[term] = n
    rows = []
    for spellings in groups.values():
        best = max(sorted(spellings), key=lambda t: spellings[t])
        rows.append({"value": best, "count": sum(spellings.values())})
    rows.sort(key=lambda r: (-r["count"], r["value"]))
    return rows


def choose_unit(first: date, last: date) -> str:
    """The bucket unit for a date range: day up to two months, week up to a year,
    month up to five years, else year.

    >>> choose_unit(date(2018, 3, 1), date(2018, 3, 31)), choose_unit(date(2018, 2, 1), date(2018, 10, 31))
    ('day', 'week')
    >>> choose_unit(date(2014, 1, 1), date(2018, 10, 31)), choose_unit(date(2011, 3, 1), date(2018, 1, 1))
    ('month', 'year')
    """
    span = (last - first).days + 1
    for unit, most in UNIT_MAX_DAYS:
        if span <= most:
            return unit
    return "year"


def _bucket_start(d: date, unit: str) -> date:
    if unit == "week":
        # ISO weeks, Monday first (a week before year 1 starts on 0001-01-01)
        return d - timedelta(days=min(d.weekday(), d.toordinal() - 1))
    if unit == "month":
        return d.replace(day=1)
    if unit == "year":
        return d.replace(month=1, day=1)
    return d


def _bucket_end(start: date, unit: str) -> date:
    if unit == "week":
        # the last week of year 9999 ends on date.max
        return start + timedelta(days=min(6, date.max.toordinal() - start.toordinal()))
    if unit == "month":
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    if unit == "year":
        return start.replace(month=12, day=31)
    return start


def buckets(first: date, last: date, unit: str) -> list[tuple[date, date]]:
    """Consecutive ``(start, end)`` buckets covering ``first..last``, clipped to it (a bar's
    range never reaches outside the selected one).

    >>> [(a.isoformat(), b.isoformat()) for a, b in buckets(date(2018, 2, 14), date(2018, 3, 3), "week")]
    [('2018-02-14', '2018-02-18'), ('2018-02-19', '2018-02-25'), ('2018-02-26', '2018-03-03')]
    """
    out = []
    start = _bucket_start(first, unit)
    while start <= last:
        end = _bucket_end(start, unit)
        out.append((max(start, first), min(end, last)))
        if end >= last:  # also stops at date.max, past which no day exists
            break
        start = end + timedelta(days=1)
    return out


def timeline(
    searcher: Searcher, matched: np.ndarray, date_from: date | None = None, date_to: date | None = None
) -> dict:
    """The matched documents' dates as a histogram over the selected range.

    The range is ``date_from..date_to`` where given, else the matched dates' span; the
    unit adapts to it (:func:`choose_unit`). A few stray dates far from the rest (a
    report misdated by years) would squash every other bar into a sliver: where no range
    is given, the outer 0.5 % of dates (at least one, among 20 or more) at an end is
    left out of the chart when that at least halves the span, and counted in
    ``before`` / ``after`` instead. Returns
    ``{"unit", "from", "to", "undated", "before", "after", "buckets": [{"start", "end",
    "count"}]}`` (ISO dates; empty buckets kept, so gaps show); ``buckets`` is empty when
    no matched document has a date.
    """
    dates = corpus(searcher).dates()
    hits = dates[matched[: len(dates)]]
    dated = hits[hits > 0]
    return timeline_of_days(np.sort(dated // DAY_US + 1), int(len(hits) - len(dated)), date_from, date_to)


def timeline_of_days(
    ordinals: np.ndarray, undated: int, date_from: date | None = None, date_to: date | None = None
) -> dict:
    """:func:`timeline` from the matched dates as sorted day ordinals (``date.toordinal()``,
    one per dated document) and the number of undated ones; the cluster engine
    (indexer/engines/sphinx.py) calls it with the day counts its ``FACET`` gives."""
    out: dict = {
        "unit": None,
        "from": None,
        "to": None,
        "undated": undated,
        "before": 0,
        "after": 0,
        "buckets": [],
    }
    if not len(ordinals):
        return out
    lo, hi = int(ordinals[0]), int(ordinals[-1])
    k = max(1, int(len(ordinals) * 0.005)) if len(ordinals) >= 20 else 0
    if k and not date_from and ordinals[k] - lo > (hi - lo) / 2:
        lo = int(ordinals[k])
    if k and not date_to and hi - ordinals[-1 - k] > (hi - int(ordinals[0])) / 2:
        hi = int(ordinals[-1 - k])
    first = date_from or date.fromordinal(lo)
    last = date_to or date.fromordinal(hi)
    if first > last:
        return out
    out["before"] = int(np.count_nonzero(ordinals < first.toordinal()))
    out["after"] = int(np.count_nonzero(ordinals > last.toordinal()))
    unit = choose_unit(first, last)
    spans = buckets(first, last, unit)
    edges = np.array([a.toordinal() for a, _ in spans] + [spans[-1][1].toordinal() + 1], dtype=np.int64)
    inside = ordinals[(ordinals >= first.toordinal()) & (ordinals <= last.toordinal())]
    counts, _ = np.histogram(inside, bins=edges)
    out.update(
        unit=unit,
        **{"from": first.isoformat(), "to": last.isoformat()},
        buckets=[
            {"start": a.isoformat(), "end": b.isoformat(), "count": int(n)}
            for (a, b), n in zip(spans, counts, strict=True)
        ],
    )
    return out


def split_organizations(out: dict) -> None:
    """The armed-actors facet holds only actors that fight; monitors, NGOs, political bodies,
    governments and peacekeepers are counted apart (docs/entities.md, "Kinds")."""
    groups = out["group"]
    out["group"] = [r for r in groups if gazetteer.is_armed(r["id"])]
    out["organization"] = [r for r in groups if not gazetteer.is_armed(r["id"])]


def facet_counts(
    searcher: Searcher, matched: np.ndarray, date_from: date | None = None, date_to: date | None = None
) -> dict:
    """``{"place": [...], "group": [...], "organization": [...], "source": [...],
    "date": [{"month", "count"}], "timeline": {...}}`` over the documents set in ``matched``
    (a boolean mask over document numbers); ``group`` holds the actors that fight,
    ``organization`` the other groups; ``date_from`` / ``date_to`` set the timeline's range.

    Entities are sorted by count (descending) then id; months chronologically.
    """
    table = postings(searcher)
    out: dict = {}
    for fname in ("place", "group"):
        t = table[fname]
        rows = [(-n, term) for term, n in zip(t.names, t.counts(matched).tolist(), strict=True) if n]
        out[fname] = [_entity_row(term, -neg) for neg, term in sorted(rows)]
    split_organizations(out)
    t = table["month"]
    months = [
        {"month": term, "count": n}
        for term, n in sorted(zip(t.names, t.counts(matched).tolist(), strict=True))
        if n
    ]
    out["date"] = months
    out["source"] = source_counts(searcher, matched)
    out["timeline"] = timeline(searcher, matched, date_from, date_to)
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
