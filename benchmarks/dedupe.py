"""Near-duplicate grouping (indexer/dedupe.py) measured on real corpora.

    .venv/bin/python benchmarks/dedupe.py [--corpus ant|snn|both] [--limit N] [--pairs N]
        [--edits N] [--build N] [--out DIR]

For each corpus (../shared/corpus: ANT v2.1, SaudiNewsNet):

1. groups: every article goes through ``dedupe.update`` in a scratch SQLite store (the
   build's own code path, in date order): number of groups with ≥ 2 reports, their sizes,
   reports in them, seconds;
2. a random sample of ``--pairs`` grouped pairs (each report with its group's founder)
   written to ``OUT/<corpus>_pairs.tsv`` to be read and judged by a person;
3. recall on constructed copies: ``--edits`` random articles of ≥ 120 words, each copied
   four ways (trimmed to its first 60 %, re-titled, boilerplate lines added, all three) and
   added incrementally after the corpus; a copy is found when it joins its original's group;
   a copy that joins another group is a wrong join;
4. cost at index time (ANT only, ``--build`` articles): ``kashaf index`` of the same articles
   in the same run, grouping off and on (``dedupe.ENABLED``), interleaved ``--rounds`` times:
   wall-clock and CPU seconds (this process and the shard writers), and the grouping's own CPU.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer import dedupe, store  # noqa: E402
from indexer.build import build  # noqa: E402

SHARED = Path(os.environ.get("KASHAF_SHARED", ROOT.parent / "shared")) / "corpus"
CORPORA = {"ant": "ant_multisource_v2.1.jsonl.gz", "snn": "saudinewsnet.jsonl.gz"}
BOILERPLATE = (
    "تابعونا على فيسبوك وتويتر",
    "جميع الحقوق محفوظة © 2018",
    "اقرأ أيضاً:",
    "شارك هذا الخبر",
)


def read(name: str, limit: int | None) -> list[dict]:
    out = []
    with gzip.open(SHARED / CORPORA[name], "rt", encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            out.append(a)
            if limit and len(out) >= limit:
                break
    return out


def store_of(articles: list[dict]) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.executescript(store.DDL)
    con.executemany(
        "INSERT INTO docs (id, title, body, date, source, url, hash, path, line) "
        "VALUES (?,?,?,?,?,?,'','',0)",
        [
            (a["id"], a.get("title") or "", a["text"], a.get("date"), a.get("source"), a.get("url"))
            for a in articles
        ],
    )
    return con


def edits(a: dict, rng: random.Random) -> dict[str, tuple[str, str]]:
    words = a["text"].split()
    trimmed = " ".join(words[: int(len(words) * 0.6)])
    retitled = "عاجل: " + " ".join(reversed((a.get("title") or "").split()))
    extra = "\n".join(rng.sample(BOILERPLATE, 3))
    return {
        "trim": (a.get("title") or "", trimmed),
        "retitle": (retitled, a["text"]),
        "boilerplate": (a.get("title") or "", f"{extra}\n{a['text']}\n{extra}"),
        "all": (retitled, f"{extra}\n{trimmed}\n{extra}"),
    }


def measure(name: str, args: argparse.Namespace, out: Path) -> None:
    articles = read(name, args.limit)
    rng = random.Random(16)
    con = store_of(articles)
    t0 = time.perf_counter()
    r = dedupe.update(con, [])
    seconds = time.perf_counter() - t0
    sizes = Counter(g for (g,) in con.execute("SELECT grp FROM dedupe"))
    multi = {g: n for g, n in sizes.items() if n > 1}
    hist = Counter(min(n, 10) for n in multi.values())
    print(
        f"\n== {name}: {len(articles)} articles, grouped in {seconds:.1f} s wall, {r['cpu']:.1f} s CPU "
        f"({r['signed']} signed)"
    )
    print(
        f"groups of >= 2: {len(multi)}; reports in them: {sum(multi.values())} "
        f"({100 * sum(multi.values()) / len(articles):.1f} %); largest {max(multi.values(), default=0)}"
    )
    print("size histogram (10 = 10 or more):", dict(sorted(hist.items())))
    # Pairs to read: each grouped report with its founder.
    by_id = {a["id"]: a for a in articles}
    pairs = [(g, d) for d, g in con.execute("SELECT doc_id, grp FROM dedupe") if d != g]
    sample = rng.sample(pairs, min(args.pairs, len(pairs)))
    path = out / f"{name}_pairs.tsv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("founder\tcopy\tsim\tsources\tdates\ttitle_a\ttitle_b\ttext_a\ttext_b\n")
        for g, d in sample:
            a, b = by_id[g], by_id[d]
            sim = dedupe.similarity(dedupe.signature(a["text"]), dedupe.signature(b["text"]))
            row = (
                g,
                d,
                f"{sim:.2f}",
                f"{a.get('source')} | {b.get('source')}",
                f"{(a.get('date') or '')[:10]} | {(b.get('date') or '')[:10]}",
                a.get("title") or "",
                b.get("title") or "",
                a["text"][:300],
                b["text"][:300],
            )
            f.write("\t".join(x.replace("\t", " ").replace("\n", " ") for x in row) + "\n")
    print(f"{len(sample)} of {len(pairs)} grouped pairs written to {path} for reading")
    # Constructed copies, added incrementally after the whole corpus.
    long = [a for a in articles if len(a["text"].split()) >= 120]
    picked = rng.sample(long, min(args.edits, len(long)))
    found: Counter = Counter()
    wrong: Counter = Counter()
    inc = 0.0
    copies = [edits(a, rng) for a in picked]
    for kind in ("trim", "retitle", "boilerplate", "all"):
        # One kind at a time, so a copy can only join its original (not a sibling copy).
        rows = [
            (f"edit-{i}-{kind}", *c[kind], a["id"])
            for i, (a, c) in enumerate(zip(picked, copies, strict=True))
        ]
        con.executemany(
            "INSERT INTO docs (id, title, body, date, source, url, hash, path, line) "
            "VALUES (?,?,?,'2099-01-01','edit',NULL,'','',0)",
            [(d, t, b) for d, t, b, _o in rows],
        )
        t0 = time.perf_counter()
        dedupe.update(con, [d for d, *_ in rows])
        inc += time.perf_counter() - t0
        for doc_id, _t, _b, orig in rows:
            g = con.execute("SELECT grp FROM dedupe WHERE doc_id = ?", (doc_id,)).fetchone()[0]
            og = con.execute("SELECT grp FROM dedupe WHERE doc_id = ?", (orig,)).fetchone()[0]
            if g == og:
                found[kind] += 1
            elif g != doc_id:
                wrong[kind] += 1
        ids = [d for d, *_ in rows]
        con.executemany("DELETE FROM docs WHERE id = ?", [(d,) for d in ids])
        dedupe.update(con, ids)
    n = len(picked)
    print(f"constructed copies of {n} articles, added incrementally in {inc:.2f} s:")
    for kind in ("trim", "retitle", "boilerplate", "all"):
        print(
            f"  {kind:<12} recall {found[kind]}/{n} = {found[kind] / max(n, 1):.3f}; "
            f"wrong group {wrong[kind]}"
        )


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the shard writers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def build_cost(n: int, jobs: int, rounds: int) -> None:
    """Wall-clock and CPU seconds of `kashaf index` of the same articles, grouping off and on,
    interleaved (the machine is shared: wall-clock is noisy, CPU time much less so)."""
    articles = read("ant", n)
    grouping: list[float] = []
    real_update = dedupe.update

    def timed_update(*args, **kwargs):
        r = real_update(*args, **kwargs)
        grouping.append(r["cpu"])
        return r

    dedupe.update = timed_update  # indexer.build calls dedupe.update through the module
    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "ant.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for a in articles:
                f.write(json.dumps(a, ensure_ascii=False) + "\n")
        for _ in range(rounds):
            for enabled in (False, True):
                dedupe.ENABLED = enabled
                ix = Path(tmp) / f"ix-{enabled}"
                t0, c0 = time.perf_counter(), _cpu()
                build([src], ix, rebuild=True, jobs=jobs)
                runs[enabled].append((time.perf_counter() - t0, _cpu() - c0))
        dedupe.ENABLED = True
    dedupe.update = real_update
    print(f"\n== index cost, {len(articles)} ANT articles, --jobs {jobs}, {rounds} round(s) interleaved")
    for enabled in (False, True):
        walls = [w for w, _ in runs[enabled]]
        cpus = [c for _, c in runs[enabled]]
        print(
            f"  grouping {'on ' if enabled else 'off'}: "
            f"wall {min(walls):.1f} s (all {[round(w) for w in walls]}), "
            f"CPU {min(cpus):.1f} s (all {[round(c) for c in cpus]})"
        )
    off = min(c for _, c in runs[False])
    on = min(c for _, c in runs[True])
    own = min(g for g in grouping if g > 0)
    print(
        f"  CPU: +{100 * (on - off) / off:.1f} % with grouping; grouping's own CPU {own:.1f} s "
        f"= {100 * own / off:.1f} % of the build without it"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=("ant", "snn", "both"), default="both")
    ap.add_argument("--limit", type=int, default=None, help="first N articles of each corpus")
    ap.add_argument("--pairs", type=int, default=40)
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--build", type=int, default=3000, help="articles for the index-cost run (0: skip)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="index-cost rounds (each: off, then on)")
    ap.add_argument("--skip-groups", action="store_true", help="only the index-cost run")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"skipped: {SHARED} is absent")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in () if args.skip_groups else ("ant", "snn") if args.corpus == "both" else (args.corpus,):
        measure(name, args, args.out)
    if args.build:
        build_cost(args.build, args.jobs, args.rounds)


if __name__ == "__main__":
    main()
