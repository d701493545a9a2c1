"""Mention-tagging speed and coverage on the ANT corpus (../shared, never copied).

    .venv/bin/python benchmarks/tagging_speed.py [--docs N] [--runs 3]

Prints docs/s of tokenize+normalize alone and of tokenize+normalize+tag() over the same
articles in the same run (median of ``--runs``), then coverage: among Syria-related articles
(normalized title or text contains سوري — سوريا، سورية، السوري، السوريين … — or دمشق) the share with at
least one Syrian place (an entity whose ancestors include ``sy``) tagged.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers.gazetteer import is_syrian  # noqa: E402
from analyzers.normalize import normalize  # noqa: E402
from analyzers.tagger import tag  # noqa: E402
from analyzers.tokenize import tokenize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "ant_multisource_v2.1.jsonl.gz"
# Normalized text containing سوري (سوريا، سورية، السوري، السوريين، سوريون ...) or دمشق.
SYRIA_RE = re.compile(r"سوري|دمشق")


def load(path: Path, limit: int | None) -> list[str]:
    """Title + text of each article."""
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append(f"{row.get('title') or ''}\n{row.get('text') or ''}")
            if limit and len(docs) >= limit:
                break
    return docs


def baseline(docs: list[str]) -> None:
    for d in docs:
        for t in tokenize(d):
            normalize(t.text)


def tagging(docs: list[str]) -> None:
    for d in docs:
        tag(d)


def rates(fns: list, docs: list[str], runs: int) -> list[float]:
    """docs/s of each function, median of ``runs``; runs are interleaved so caches warm alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn(docs)
            times[i].append(time.perf_counter() - t0)
    return [len(docs) / statistics.median(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--docs", type=int, default=3000, help="articles for the speed runs")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"{args.corpus} is absent: the ANT corpus lives in ../shared beside the project")

    docs = load(args.corpus, None)
    sample = docs[: args.docs]
    tag(sample[0])  # build the name index outside the timed runs (about 0.1 s)
    base, tagged = rates([baseline, tagging], sample, args.runs)
    print(f"speed on {len(sample)} ANT articles, median of {args.runs} runs:")
    print(f"  tokenize+normalize        {base:8.1f} docs/s")
    print(f"  tokenize+normalize+tag()  {tagged:8.1f} docs/s")

    syria = [d for d in docs if SYRIA_RE.search(normalize(d))]
    covered = 0
    entities: Counter[str] = Counter()
    for d in syria:
        ids = {m.entity_id for m in tag(d)}
        entities.update(ids)
        if any(is_syrian(i) for i in ids):
            covered += 1
    print(f"Syria-related articles: {len(syria)} of {len(docs)}")
    print(f"  with >= 1 Syrian place tagged: {covered} ({covered / max(1, len(syria)):.1%})")
    print("  most frequent entities:", ", ".join(f"{e} {n}" for e, n in entities.most_common(15)))


if __name__ == "__main__":
    main()
