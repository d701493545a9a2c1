"""Every match of a search in rank order, one evaluation for the whole set (the exports).

``/api/search.csv`` and ``/api/search.jsonl`` used to page through the search 100 hits
at a time, and each page evaluated the query again, ranked the whole set again and ran
did-you-mean again: a 1,000-row export evaluated it 11 times. Here the set is computed
once, exactly as :func:`indexer.search.search` computes it (same plan, filters, dedupe
representatives and order: ``tests/test_exports.py`` compares the two), and the hits are
read batch by batch from the document store. Memory is bounded by the batch, plus two
arrays of the set's size (document numbers and scores, 16 bytes per match).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from indexer import dedupe
from indexer.ranking import corpus
from indexer.search import (
    DEFAULT_SCORING,
    Plan,
    Scoring,
    SearchOptions,
    _hit,
    _matched_levels,
    plan,
    sort_key,
)
from indexer.store import Snapshot

BATCH = 200


@dataclass
class Ranked:
    """A search's whole result set: document numbers in result order and their scores."""

    plan: Plan
    docnums: np.ndarray
    scores: np.ndarray

    @property
    def total(self) -> int:
        return len(self.docnums)


def ranked(snap: Snapshot, query: str, op: str, opts: SearchOptions, sc: Scoring = DEFAULT_SCORING) -> Ranked:
    """The result set of ``search(snap, query, op, ...)`` in its order (by score, or by date
    then score, ties by document number; with ``opts.dedupe`` one report per story).
    Raises :class:`indexer.query.QueryError` for a query that cannot be read."""
    searcher = snap.searcher()
    p = plan(query, op, opts, sc, searcher)
    if p.query is None:
        return Ranked(p, np.zeros(0, dtype=np.int64), np.zeros(0))
    mask, score, _more = _matched_levels(searcher, p, sc.bm25())
    dates = sort_key(corpus(searcher).dates(), opts.sort) if opts.sort != "relevance" else None
    groups = dedupe.groups(searcher, snap.db) if opts.dedupe else None
    shown = dedupe.representatives(groups, mask, score, dates) if groups else mask
    # indexer.ranking.top's order for k = the whole set, kept as arrays (no list of tuples);
    # ~x orders as -x does without overflowing at int64's minimum (undated, oldest first).
    cand = np.flatnonzero(shown)
    s = score[cand]
    keys = (cand, -s) if dates is None else (cand, -s, ~dates[cand])
    order = np.lexsort(keys)
    return Ranked(p, cand[order], s[order])


def hits(snap: Snapshot, r: Ranked, batch: int | None = None) -> Iterator[list[dict]]:
    """The hits of ``r`` as :func:`indexer.search.search` shows them (``id``, ``title``,
    ``date``, ``source``, ``url``, ``score``, ``snippet``, ``matched``) plus ``group`` (the
    story group, indexer/dedupe.py), ``batch`` at a time."""
    batch = batch or BATCH
    searcher = snap.searcher()
    stored = searcher.stored_fields
    grouped = dedupe.has_groups(snap.db)
    for lo in range(0, r.total, batch):
        nums, scores = r.docnums[lo : lo + batch], r.scores[lo : lo + batch]
        out = [
            _hit(snap, r.plan, stored(int(d))["id"], float(s), True)
            for d, s in zip(nums, scores, strict=True)
        ]
        groups: dict[str, str] = {}
        if grouped:
            ids = [h["id"] for h in out]
            marks = ",".join("?" * len(ids))
            groups = dict(snap.db.execute(f"SELECT doc_id, grp FROM dedupe WHERE doc_id IN ({marks})", ids))
        for h in out:
            h["group"] = groups.get(h["id"], h["id"])
        yield out
