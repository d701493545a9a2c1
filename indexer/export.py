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

import json
from dataclasses import dataclass

import numpy as np

from indexer import dedupe
from indexer.highlight import LEVELS, matched_levels, snippet
from indexer.ranking import corpus
from indexer.search import (
    DEFAULT_SCORING,
    Plan,
    Scoring,
    SearchOptions,
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


def batch_hits(
    snap: Snapshot, r: Ranked, lo: int, hi: int, *, grouped: bool, plain: bool = False
) -> list[dict]:
    """The hits ``lo:hi`` of ``r`` as :func:`indexer.search.search` shows them (``id``,
    ``title``, ``date``, ``source``, ``url``, ``score``, ``snippet``, ``matched``) plus
    ``group`` (the story group, indexer/dedupe.py), ``meta`` (the stored metadata) and
    ``mentions`` (the ``(entity_id, kind)`` of each mention, title first, in text order):
    one batch, which the web export writes as one chunk of its response. ``grouped``: the
    store has story groups (:func:`indexer.dedupe.has_groups`).

    Each batch is read with one query per table (documents, mentions, story groups), not
    one per row, and each snippet by the fast path of indexer/highlight.py: the snippets
    and levels are :func:`indexer.search._hit`'s (``tests/test_exports.py`` compares them).
    With ``plain``, each snippet is plain text (:func:`indexer.highlight.plain_text` of that
    fragment, written directly: what a CSV or JSONL row holds)."""
    stored = snap.searcher().stored_fields
    terms, wanted = r.plan.terms, r.plan.entity_ids
    nums, scores = r.docnums[lo:hi], r.scores[lo:hi]
    ids = [stored(int(d))["id"] for d in nums]
    marks = ",".join("?" * len(ids))
    cur = snap.db.cursor()
    cur.row_factory = None  # plain tuples: a third of the cost of sqlite3.Row here
    rows = {
        row[0]: row
        for row in cur.execute(
            f"SELECT id, title, body, date, source, url, meta FROM docs WHERE id IN ({marks})", ids
        )
    }
    # Per report: each entity once, in the order of its first mention (title first), and
    # the spans of the query's entities, for the snippets. Without such entities SQLite
    # groups the mentions (about 14 a report, of 6 entities: half the rows for Python).
    mentions: dict[str, list[tuple[str, str]]] = {}
    spans: dict[tuple[str, bool], list[tuple[int, int]]] = {}
    if wanted:
        firsts: dict[str, dict[tuple[str, str], None]] = {}
        for doc_id, in_body, start, end, entity_id, kind in cur.execute(
            "SELECT doc_id, field != 'title', start, \"end\", entity_id, kind FROM mentions "
            f"WHERE doc_id IN ({marks}) ORDER BY doc_id, 2, start",
            ids,
        ):
            seen = firsts.get(doc_id)
            if seen is None:
                seen = firsts[doc_id] = {}
            seen[entity_id, kind] = None
            if entity_id in wanted:
                spans.setdefault((doc_id, bool(in_body)), []).append((start, end))
        mentions = {doc_id: list(seen) for doc_id, seen in firsts.items()}
    else:
        for doc_id, entity_id, kind in cur.execute(
            "SELECT doc_id, entity_id, kind FROM mentions "
            f"WHERE doc_id IN ({marks}) GROUP BY doc_id, entity_id, kind "
            "ORDER BY doc_id, MIN((field != 'title') * 4294967296 + start), MIN(rowid)",
            ids,
        ):
            seen = mentions.get(doc_id)
            if seen is None:
                seen = mentions[doc_id] = []
            seen.append((entity_id, kind))
    groups: dict[str, str] = {}
    if grouped:
        groups = dict(snap.db.execute(f"SELECT doc_id, grp FROM dedupe WHERE doc_id IN ({marks})", ids))
    out = []
    for doc_id, score in zip(ids, scores.tolist(), strict=True):
        _id, title, body, date, source, url, meta = rows.get(doc_id) or (doc_id, "", "", *[None] * 4)
        title, body = title or "", body or ""
        levels = matched_levels(title, terms, spans.get((doc_id, False), []))
        body_spans = spans.get((doc_id, bool(body)), [])
        frag, body_levels = snippet(body or title, terms, body_spans, plain=plain)
        levels |= body_levels
        out.append(
            {
                "id": doc_id,
                "title": title,
                "date": date,
                "source": source,
                "url": url,
                "score": round(score, 4),
                "snippet": frag,
                "matched": [lv for lv in (*LEVELS, "entity") if lv in levels],
                "group": groups.get(doc_id, doc_id),
                "meta": json.loads(meta or "{}"),
                "mentions": mentions.get(doc_id, []),
            }
        )
    return out
