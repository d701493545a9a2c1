"""Query latency on the 30,337-article ANT index: Kashaf vs stock Whoosh, side by side.

(a) the 1,000 ``ant_title`` headline queries, ``op=or``, top 10: Kashaf's ranked path
    (``indexer.search.batch``, what ``kashaf batch`` runs) against stock Whoosh
    (StandardAnalyzer, one TEXT field, BM25F, OR query) on the same articles;
(b) 1–3-word queries drawn (seeded) from frequent corpus terms and from place / group
    names, through the full ``indexer.search.search`` (op=and, total, facets over all
    matches, snippets, explain): what ``/api/search`` answers. Stock Whoosh runs the same
    words (OR-free AND query, top 10, no facets) for scale.

Each query runs on both systems back to back (interleaved, so machine noise hits both);
the whole list is repeated ``--runs`` times and each query keeps its median; Kashaf's first
run is also reported alone (posting arrays decoded for the first time: cold caches). Indexes are
the cached ones of benchmarks/quality.py (built on first use)::

    .venv/bin/python benchmarks/query_speed.py [--cache DIR] [--runs 3] [--short 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ir_eval import SHARED, read_tsv_pairs  # noqa: E402
from benchmarks.quality import kashaf_index, whoosh_index  # noqa: E402
from indexer.search import batch, search  # noqa: E402
from indexer.store import open_current  # noqa: E402


def short_queries(snap, n: int, seed: int = 0) -> list[str]:
    """``n`` queries of 1–3 words: frequent body terms and names of entities the corpus holds."""
    from analyzers import gazetteer
    from analyzers.stopwords import is_stopword
    from indexer.facets import entity_counts

    reader = snap.searcher().reader()
    freq = [
        (reader.doc_frequency("body_exact", t), t.decode() if isinstance(t, bytes) else t)
        for t in reader.lexicon("body_exact")
    ]
    words = [t for df, t in sorted(freq, reverse=True) if len(t) > 2 and not is_stopword(t)][:3000]
    names = [r["id"] for r in entity_counts(snap.searcher()) if r["count"] >= 5]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = rng.choice((1, 2, 3))
        parts = rng.sample(words[:300] if k > 1 else words, k)
        if i % 3 == 0 and names:  # a third name a place or a group
            parts[0] = gazetteer.get(rng.choice(names)).label
        out.append(" ".join(parts))
    return out


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def report(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(
        f"{label:<44} n={len(ms):>5}  median {statistics.median(ms):7.1f} ms  "
        f"p95 {p95:7.1f} ms  mean {statistics.fmean(ms):7.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kashaf-quality")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--headlines", type=int, default=1000, help="how many ant_title queries (a)")
    ap.add_argument("--short", type=int, default=300, help="how many short queries (b)")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    from whoosh.qparser import AndGroup, OrGroup, QueryParser

    kix = kashaf_index("ant_title", args.cache)
    wix = whoosh_index("ant_title", args.cache)
    heads = list(read_tsv_pairs(SHARED / "eval" / "ant_title" / "queries.tsv").items())[: args.headlines]
    with open_current(kix) as snap, wix.searcher() as ws:
        or_parser = QueryParser("text", wix.schema, group=OrGroup)
        and_parser = QueryParser("text", wix.schema, group=AndGroup)
        shorts = short_queries(snap, args.short)
        batch(snap, heads[:20], op="or", limit=10)  # load lexicons, caches
        search(snap, shorts[0])
        ws.search(or_parser.parse(heads[0][1]), limit=10)
        kash_a = [[] for _ in heads]
        stock_a = [[] for _ in heads]
        kash_b = [[] for _ in shorts]
        stock_b = [[] for _ in shorts]
        for _ in range(args.runs):
            for i, (qid, q) in enumerate(heads):
                kash_a[i].append(timed(lambda q=q, qid=qid: batch(snap, [(qid, q)], op="or", limit=10)))
                stock_a[i].append(
                    timed(lambda q=q: [h["id"] for h in ws.search(or_parser.parse(q), limit=10)])
                )
            for i, q in enumerate(shorts):
                kash_b[i].append(timed(lambda q=q: search(snap, q, limit=10)))
                stock_b[i].append(
                    timed(lambda q=q: [h["id"] for h in ws.search(and_parser.parse(q), limit=10)])
                )
        print(f"ANT v2.1: {snap.searcher().doc_count()} articles; {args.runs} run(s), per-query median")
        report("(a) headlines op=or top10  kashaf", [statistics.median(x) for x in kash_a])
        report("(a) headlines op=or top10  stock whoosh", [statistics.median(x) for x in stock_a])
        report("(a) kashaf, first pass only (caches filling)", [x[0] for x in kash_a])
        report("(b) 1-3 words +facets     kashaf search()", [statistics.median(x) for x in kash_b])
        report("(b) kashaf, first pass only (caches filling)", [x[0] for x in kash_b])
        report("(b) 1-3 words top10       stock whoosh", [statistics.median(x) for x in stock_b])
        print("examples of (b):", " | ".join(shorts[:6]))


if __name__ == "__main__":
    main()
