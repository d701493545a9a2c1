"""Result sets: is the default set of a plain query precise? Kashaf against Lucene's AND sets.

For each query of ``../shared/eval/result_sets/dev_queries.tsv`` (or ``--queries``) on the
text-only ANT index (the 30,337 articles without titles, as ``benchmarks/quality.py`` builds
it for ant_title): the size of Kashaf's default set (``op=and``, ``level=stem``), Lucene's
AND count (``lucene_and_counts.tsv``), their ratio, how many documents only the root level
would add (left out of the default set), and, given Lucene's sets document by document
(``--lucene-sets``, the output of ``../shared/tools/lucene/`` LuceneSet), a sample of the
documents in Kashaf's set but not in Lucene's with the words that matched them, for review.
Goal: median ratio <= 1.3, max <= 2.5, the extras being real variants.

    .venv/bin/python benchmarks/result_sets.py [--cache DIR] [--lucene-sets sets.tsv] [--sample 3]
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

from analyzers.normalize import normalize  # noqa: E402
from analyzers.tokenize import tokenize  # noqa: E402
from benchmarks.ir_eval import SHARED, read_tsv_pairs, require_shared  # noqa: E402
from benchmarks.quality import kashaf_index  # noqa: E402
from indexer.search import DEFAULT_SCORING, SearchOptions, _matched_levels, plan  # noqa: E402
from indexer.store import open_current  # noqa: E402

SETS = SHARED / "eval" / "result_sets"
GOAL_MEDIAN, GOAL_MAX = 1.3, 2.5


def read_lucene_sets(path: Path) -> dict[str, set[str]]:
    """LuceneSet's output: ``qid \\t count \\t doc ids…`` (ids separated by tabs or spaces)."""
    out: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            qid, _count, *rest = line.rstrip("\n").split("\t")
            out[qid] = {d for chunk in rest for d in chunk.split()}
    return out


def matched_words(snap, p, doc_id: str) -> list[str]:
    """The words of a document that matched the query, with their level (and named entities)."""
    row = snap.db.execute("SELECT title, body FROM docs WHERE id = ?", (doc_id,)).fetchone()
    text = f"{row['title']}\n{row['body']}" if row else ""
    found: dict[str, str] = {}
    for t in tokenize(text):
        level = p.terms.level_of(t.text)
        if level:
            found.setdefault(t.text, level)
    out = [f"{w}({lv})" for w, lv in found.items()]
    if p.entity_ids:
        names = snap.db.execute(
            "SELECT DISTINCT entity_id FROM mentions WHERE doc_id = ?", (doc_id,)
        ).fetchall()
        out += [f"<{r[0]}>" for r in names if r[0] in p.entity_ids]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kashaf-quality")
    ap.add_argument("--queries", type=Path, default=SETS / "dev_queries.tsv")
    ap.add_argument("--counts", type=Path, default=SETS / "lucene_and_counts.tsv")
    ap.add_argument("--lucene-sets", type=Path, help="LuceneSet output, for the documents only Kashaf finds")
    ap.add_argument("--sample", type=int, default=3, help="extras shown per query")
    args = ap.parse_args(argv)
    require_shared()
    args.cache.mkdir(parents=True, exist_ok=True)
    queries = read_tsv_pairs(args.queries)
    counts = {q: int(c) for q, c in read_tsv_pairs(args.counts).items()}
    lucene = read_lucene_sets(args.lucene_sets) if args.lucene_sets else {}
    rng = random.Random(11)
    ratios: list[float] = []
    head = ("qid", "query", "kashaf", "lucene", "ratio", "root+", "extra", "lost", "ms")
    row = "{:<5} {:<26} {:>7} {:>7} {:>6} {:>6} {:>6} {:>6} {:>5}"
    print(row.format(*head))
    samples: list[str] = []
    lost_samples: list[str] = []
    with open_current(kashaf_index("ant_title", args.cache)) as snap:
        searcher = snap.searcher()
        bm = DEFAULT_SCORING.bm25()
        stored = [searcher.stored_fields(d)["id"] for d in range(searcher.doc_count_all())]
        for qid, text in queries.items():
            t0 = time.perf_counter()
            p = plan(text, "and", SearchOptions(), searcher=searcher)
            mask, _score, more = _matched_levels(searcher, p, bm)
            ms = (time.perf_counter() - t0) * 1000
            mine = {stored[d] for d in mask.nonzero()[0]}
            theirs = counts.get(qid)
            ratio = len(mine) / theirs if theirs else float("nan")
            if theirs:
                ratios.append(ratio)
            extra = sorted(mine - lucene[qid]) if qid in lucene else []
            lost = sorted(lucene[qid] - mine) if qid in lucene else []
            known = qid in lucene
            print(
                row.format(
                    qid,
                    text,
                    len(mine),
                    theirs or "-",
                    f"{ratio:.2f}",
                    more,
                    len(extra) if known else "-",
                    len(lost) if known else "-",
                    f"{ms:.0f}",
                )
            )
            for doc_id in rng.sample(extra, min(args.sample, len(extra))):
                samples.append(f"{qid} {text} | {doc_id}: {' '.join(matched_words(snap, p, doc_id)[:8])}")
            for doc_id in rng.sample(lost, min(args.sample, len(lost))):
                near = " ".join(near_words(snap, text, doc_id)[:8])
                lost_samples.append(f"{qid} {text} | {doc_id}: {near}")
    med, top = statistics.median(ratios), max(ratios)
    ok = "met" if med <= GOAL_MEDIAN and top <= GOAL_MAX else "NOT met"
    print(f"median ratio {med:.2f} (goal <= {GOAL_MEDIAN}), max {top:.2f} (goal <= {GOAL_MAX}): {ok}")
    if samples:
        print("\nin Kashaf's set, not in Lucene's (a sample; matched words with their level, <entity>):")
        print("\n".join(samples))
    if lost_samples:
        print("\nin Lucene's set, not in Kashaf's (a sample; words sharing Lucene's stem of a query word):")
        print("\n".join(lost_samples))


def near_words(snap, query: str, doc_id: str) -> list[str]:
    """Words of a document that contain a query word's letters without ال (what Lucene's
    light stemmer may have matched), for reviewing what the default set leaves out."""
    cores = {normalize(w).removeprefix("ال").removesuffix("ه") for w in query.split()}
    cores = {c for c in cores if len(c) >= 2}
    row = snap.db.execute("SELECT title, body FROM docs WHERE id = ?", (doc_id,)).fetchone()
    text = f"{row['title']}\n{row['body']}" if row else ""
    return list(dict.fromkeys(t.text for t in tokenize(text) if any(c in normalize(t.text) for c in cores)))


if __name__ == "__main__":
    main()
