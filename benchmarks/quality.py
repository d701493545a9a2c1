"""Retrieval quality on the ../shared/eval collections: Kashaf vs its single levels vs stock Whoosh.

Every system runs the collection's queries as ``kashaf batch --op or`` does (in process,
through ``indexer.search.batch``, top 100) and is scored with MRR@10, nDCG@10 and
Recall@100 (benchmarks/ir_eval.py). Systems, side by side in one run:

* ``kashaf``: the default (three levels, titles above bodies, entities; a word matches at
  its exact and stem levels, its root only ranks);
* ``kashaf_root``: the same with ``level=root`` (a word also matches at its root);
* ``exact`` / ``stem`` / ``root``: one level only (entities off);
* ``whoosh``: stock Whoosh ``StandardAnalyzer``, one TEXT field (title + text), BM25F, OR query.

Indexes are built once into ``--cache`` (default /tmp/kashaf-quality) and reused::

    .venv/bin/python benchmarks/quality.py [--collections arcd xquad_ar ant_title] [--set tie=0.2 ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ir_eval import evaluate, load_collection  # noqa: E402
from indexer.search import DEFAULT_SCORING, Scoring, batch  # noqa: E402
from indexer.store import open_current  # noqa: E402

LUCENE = {
    "arcd": (0.834, 0.845, 0.983),
    "xquad_ar": (0.906, 0.912, 0.977),
    "ant_title": (0.667, 0.716, 0.967),
}
SYSTEMS = ("kashaf", "kashaf_root", "exact", "stem", "root", "whoosh")


def kashaf_index(name: str, cache: Path) -> Path:
    """The collection indexed by Kashaf (built on first use)."""
    from indexer.build import build

    ix = cache / f"kashaf_{name}"
    if (ix / "CURRENT").exists():
        return ix
    coll = load_collection(name)
    src = cache / f"{name}.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for d in coll.docs:
            f.write(
                json.dumps({"id": d["id"], "title": d["title"], "text": d["text"]}, ensure_ascii=False) + "\n"
            )
    t0 = time.monotonic()
    build([src], ix, rebuild=True)
    print(f"# indexed {name} for Kashaf in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return ix


def whoosh_index(name: str, cache: Path):
    """Stock Whoosh: StandardAnalyzer, one TEXT field with title + text (built on first use)."""
    from whoosh import fields as wf
    from whoosh import index as wi

    ix_dir = cache / f"whoosh_{name}"
    if (ix_dir / "done").exists():
        return wi.open_dir(str(ix_dir))
    ix_dir.mkdir(parents=True, exist_ok=True)
    schema = wf.Schema(id=wf.ID(stored=True, unique=True), text=wf.TEXT())
    ix = wi.create_in(str(ix_dir), schema)
    t0 = time.monotonic()
    with ix.writer(limitmb=256) as w:
        for d in load_collection(name).docs:
            w.add_document(id=d["id"], text=f"{d['title']}\n{d['text']}".strip())
    (ix_dir / "done").write_text("1")
    print(f"# indexed {name} for stock Whoosh in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return ix


def whoosh_run(ix, queries: dict[str, str], limit: int = 100) -> dict[str, list[str]]:
    from whoosh.qparser import OrGroup, QueryParser

    parser = QueryParser("text", ix.schema, group=OrGroup)
    run = {}
    with ix.searcher() as s:
        for qid, text in queries.items():
            q = parser.parse(text)
            run[qid] = [h["id"] for h in s.search(q, limit=limit)]
    return run


def level_scoring(level: str, base: Scoring) -> Scoring:
    return replace(base, levels=(level,), entities=False)


def kashaf_run(ix: Path, queries: dict[str, str], sc: Scoring, level: str = "stem") -> dict[str, list[str]]:
    with open_current(ix) as snap:
        res = batch(snap, list(queries.items()), op="or", limit=100, scoring_=sc, level=level)
    return {qid: [d for d, _ in hits] for qid, hits in res.items()}


def _value(text: str) -> float | bool | str:
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def parse_sets(items: list[str]) -> Scoring:
    """``key=value`` overrides of the default :class:`Scoring` (for tuning runs)."""
    sc = DEFAULT_SCORING
    names = {f.name: f.type for f in fields(Scoring)}
    for item in items:
        key, _, value = item.partition("=")
        if key not in names:
            raise SystemExit(f"unknown scoring key {key!r}; one of {', '.join(names)}")
        sc = replace(sc, **{key: _value(value)})
    return sc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", nargs="+", default=list(LUCENE), choices=list(LUCENE))
    ap.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kashaf-quality")
    ap.add_argument("--set", nargs="*", default=[], help="Scoring overrides, e.g. tie=0.2 title=3")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    sc = parse_sets(args.set)
    print(f"scoring: {sc}")
    print(f"{'collection':<10} {'system':<8} {'MRR@10':>7} {'nDCG@10':>8} {'R@100':>7}  {'s':>5}")
    for name in args.collections:
        coll = load_collection(name)
        lu = LUCENE[name]
        print(f"{name:<10} {'lucene':<8} {lu[0]:>7.3f} {lu[1]:>8.3f} {lu[2]:>7.3f}  (reference)")
        for system in args.systems:
            t0 = time.monotonic()
            if system == "whoosh":
                run = whoosh_run(whoosh_index(name, args.cache), coll.queries)
            else:
                ix = kashaf_index(name, args.cache)
                if system.startswith("kashaf"):
                    run = kashaf_run(ix, coll.queries, sc, "root" if system == "kashaf_root" else "stem")
                else:
                    run = kashaf_run(ix, coll.queries, level_scoring(system, sc))
            m = evaluate(run, coll.qrels)
            print(
                f"{name:<10} {system:<8} {m['MRR@10']:>7.3f} {m['nDCG@10']:>8.3f} {m['R@100']:>7.3f}  "
                f"{time.monotonic() - t0:>5.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
