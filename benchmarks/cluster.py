"""The cluster engine beside the embedded one, same documents, same run.

    .venv/bin/python -m benchmarks.cluster --docs 3000 [--work .bench/cluster] [--candidates 200]

Indexes the first ``--docs`` ANT articles (``../shared``) into an embedded index (reused
when present), starts a local cluster (two shards, one mirror each, a distributed head)
in ``WORK``, writes every document to it, then runs the researcher queries of
``eval/result_sets`` (``op=and``) and the first 200 ``eval/ant_title`` headlines
(``op=or``) on both engines. Prints: write speed, queries whose totals / facets agree,
top-10 overlap, hits with equal scores, and median / p90 latency per engine (both through
``indexer.search.search`` with snippets: the same store and highlighter fill the hits).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import time
from pathlib import Path

from indexer.build import build
from indexer.engines import sphinx as sx
from indexer.search import search
from indexer.store import current_generation, open_current

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def _queries() -> list[tuple[str, str]]:
    out = []
    for line in (SHARED / "eval/result_sets/dev_queries.tsv").read_text("utf-8").splitlines():
        if "\t" in line:
            out.append((line.split("\t", 1)[1], "and"))
    heads = (SHARED / "eval/ant_title/queries.tsv").read_text("utf-8").splitlines()[:200]
    out += [(h.split("\t", 1)[1], "or") for h in heads if "\t" in h]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--work", type=Path, default=ROOT / ".bench" / "cluster")
    ap.add_argument("--candidates", type=int, default=sx.DEFAULT_CANDIDATES)
    ap.add_argument("--port", type=int, default=19600)
    ap.add_argument("--limit-queries", type=int, default=0, help="Only the first N queries.")
    args = ap.parse_args()
    work = args.work.resolve()
    ix = work / f"ix-{args.docs}"
    if current_generation(ix) is None:
        work.mkdir(parents=True, exist_ok=True)
        src = work / f"ant-{args.docs}.jsonl"
        with gzip.open(SHARED / "corpus/ant_multisource_v2.1.jsonl.gz", "rt", encoding="utf-8") as fh:
            lines = [line for _, line in zip(range(args.docs), fh, strict=False)]
        src.write_text("".join(lines), "utf-8")
        t = time.perf_counter()
        build([src], ix, jobs=2)
        print(f"embedded build: {args.docs} docs in {time.perf_counter() - t:.1f} s")
    c = sx.plan_cluster(2, 1, port=args.port, data_dir=str(work / "nodes"))
    c.candidates = args.candidates
    shutil.rmtree(work / "nodes", ignore_errors=True)
    with open_current(ix) as snap:
        sx.write_global_idf(snap, work / "kashaf.idf")
    confs = sx.write_configs(c, work / "conf", str(work / "kashaf.idf"))
    for conf in confs.values():
        sx.start_node(conf)
    time.sleep(1)
    try:
        with open_current(ix) as snap:
            t = time.perf_counter()
            done = sx.sync(snap, c, full=True)  # fresh nodes
            secs = time.perf_counter() - t
            rate = done["written"] / secs
            print(f"cluster write: {done['written']} docs to 4 replicas in {secs:.1f} s ({rate:.0f} docs/s)")
            engine = sx.SphinxEngine(c)
            same_total = same_facets = shared = expected = compared = same_score = 0
            t_emb: list[float] = []
            t_cl: list[float] = []
            queries = _queries()[: args.limit_queries or None]
            t_emb_core: list[float] = []
            t_cl_core: list[float] = []
            for i, (q, op) in enumerate(queries):
                # Alternate which engine goes first: the highlighter's and analyzers' caches
                # warmed by the first would favour the second.
                runs = {}
                for name in ("embedded", "cluster") if i % 2 == 0 else ("cluster", "embedded"):
                    eng = engine if name == "cluster" else None
                    t0 = time.perf_counter()
                    runs[name] = search(snap, q, op=op, limit=10, engine=eng)
                    t1 = time.perf_counter()
                    search(snap, q, op=op, limit=10, engine=eng, snippets=False)  # the engine's part
                    t2 = time.perf_counter()
                    (t_emb if name == "embedded" else t_cl).append(t1 - t0)
                    (t_emb_core if name == "embedded" else t_cl_core).append(t2 - t1)
                a, b = runs["embedded"], runs["cluster"]
                same_total += a["total"] == b["total"]
                same_facets += a["facets"] == b["facets"]
                top = {h["id"] for h in a["hits"]}
                shared += len(top & {h["id"] for h in b["hits"]})
                expected += len(top)
                mine = {h["id"]: h["score"] for h in a["hits"]}
                for h in b["hits"]:
                    if h["id"] in mine:
                        compared += 1
                        same_score += abs(mine[h["id"]] - h["score"]) <= 2e-4
            n = len(queries)
            print(f"queries: {n}; same total {same_total}/{n}; same facets {same_facets}/{n}")
            overlap = shared / max(expected, 1)
            print(f"top-10 overlap: {shared}/{expected} = {overlap:.3f} (candidates {c.candidates})")
            print(f"candidates Kashaf did not match: {engine.mismatches}")
            print(f"hits both engines returned with the same score: {same_score}/{compared}")
            for name, times in (
                ("embedded", t_emb),
                ("cluster", t_cl),
                ("embedded, no snippets", t_emb_core),
                ("cluster, no snippets", t_cl_core),
            ):
                ts = sorted(times)
                print(
                    f"{name:22s} latency: median {statistics.median(ts) * 1000:.0f} ms, "
                    f"p90 {ts[int(0.9 * len(ts))] * 1000:.0f} ms"
                )
            print(json.dumps({"docs": args.docs, "queries": n}))
    finally:
        for conf in confs.values():
            sx.stop_node(conf)


if __name__ == "__main__":
    main()
