"""Indexing speed: Kashaf (three analyzed levels for title and body) vs stock Whoosh (one field).

    .venv/bin/python benchmarks/index_speed.py [--limit N] [--jobs N]

Reads ../shared/corpus/ant_multisource_v2.1.jsonl.gz (30,337 articles), indexes it
into temp dirs and prints docs/s, peak RSS (this process + its children) and
index size for both, measured in the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer import store  # noqa: E402
from indexer.build import build  # noqa: E402

CORPUS = (
    Path(os.environ.get("KASHAF_SHARED", ROOT.parent / "shared")) / "corpus/ant_multisource_v2.1.jsonl.gz"
)


def peak_rss_mb() -> tuple[float, float]:
    """Peak RSS of this process and of its largest finished child, in MB (Linux: KiB units)."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def stock_whoosh(path: Path, articles: list[dict], out: Path) -> float:
    """Stock Whoosh: StandardAnalyzer, one TEXT field (stored=False), one process."""
    from whoosh import fields, index
    from whoosh.analysis import StandardAnalyzer

    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True), text=fields.TEXT(analyzer=StandardAnalyzer(), stored=False)
    )
    t0 = time.perf_counter()
    ix = index.create_in(str(out), schema)
    w = ix.writer(limitmb=256)
    for a in articles:
        w.add_document(id=str(a["id"]), text=a["text"])
    w.commit()
    seconds = time.perf_counter() - t0
    assert ix.doc_count() == len(articles), (ix.doc_count(), len(articles))
    return seconds


def breakdown(articles: list[dict], out: Path) -> None:
    """Where the time goes, one process: Kashaf's analysis alone, then Whoosh's writing alone."""
    from whoosh import index

    from indexer.schema import analyze_doc, schema

    t0 = time.perf_counter()
    postings = [analyze_doc(a.get("title") or "", a["text"])[0] for a in articles]
    a_sec = time.perf_counter() - t0
    t0 = time.perf_counter()
    ix = index.create_in(str(out), schema())
    w = ix.writer(limitmb=256)
    for a, p in zip(articles, postings, strict=True):
        w.add_document(id=str(a["id"]), **p)
    w.commit()
    w_sec = time.perf_counter() - t0
    n = len(articles)
    print(
        f"breakdown ({n} docs, one process): analysis {n / a_sec:.0f} docs/s ({a_sec:.1f} s), "
        f"Whoosh add+commit of the six fields {n / w_sec:.0f} docs/s ({w_sec:.1f} s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="index only the first N articles")
    ap.add_argument("--jobs", type=int, default=None, help="Kashaf analysis processes [CPU count]")
    ap.add_argument("--skip-whoosh", action="store_true", help="measure Kashaf only")
    ap.add_argument(
        "--breakdown",
        type=int,
        default=0,
        metavar="N",
        help="also time analysis and Whoosh writing separately on the first N articles",
    )
    args = ap.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is absent: benchmark data lives in ../shared beside the project")

    with tempfile.TemporaryDirectory(prefix="kashaf-bench-") as tmpdir:
        tmp = Path(tmpdir)
        src = tmp / "input.jsonl"
        with gzip.open(CORPUS, "rt", encoding="utf-8") as f, open(src, "w", encoding="utf-8") as out:
            articles = []
            for line in f:
                articles.append(json.loads(line))
                out.write(line)
                if args.limit and len(articles) >= args.limit:
                    break
        n = len(articles)
        print(f"{n} articles, {sum(len(a['text']) for a in articles) / 1e6:.1f} M characters of text")

        t0 = time.perf_counter()
        report = build([src], tmp / "kashaf", jobs=args.jobs)
        k_sec = time.perf_counter() - t0
        assert report.documents == n, report.summary()
        k_size = store.dir_size(tmp / "kashaf")
        k_rss = peak_rss_mb()
        print(
            f"kashaf  {n / k_sec:8.0f} docs/s  {k_sec:7.1f} s  index {k_size / 1e6:7.1f} MB  "
            f"peak RSS main {k_rss[0]:.0f} MB, workers {k_rss[1]:.0f} MB  "
            f"(jobs={args.jobs or os.cpu_count()}, "
            f"3 levels x title+body + SQLite store)"
        )

        t0 = time.perf_counter()
        again = build([src], tmp / "kashaf", jobs=args.jobs)
        r_sec = time.perf_counter() - t0
        assert again.generation is None and again.unchanged == n, again.summary()
        print(
            f"kashaf re-run on unchanged input: {r_sec:.1f} s ({100 * r_sec / k_sec:.0f} % of the first run)"
        )

        if args.breakdown:
            (tmp / "breakdown").mkdir()
            breakdown(articles[: args.breakdown], tmp / "breakdown")

        if not args.skip_whoosh:
            (tmp / "whoosh").mkdir()
            w_sec = stock_whoosh(src, articles, tmp / "whoosh")
            w_size = store.dir_size(tmp / "whoosh")
            print(
                f"whoosh  {n / w_sec:8.0f} docs/s  {w_sec:7.1f} s  index {w_size / 1e6:7.1f} MB  "
                f"peak RSS {peak_rss_mb()[0]:.0f} MB (one process, cumulative)  (StandardAnalyzer, 1 field)"
            )


if __name__ == "__main__":
    main()
