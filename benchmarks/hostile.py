"""The cost of the worst inputs (issue 13) against an ordinary query, in the same run.

On a built ANT index (30,337 articles; ``kashaf index ../shared/corpus/ant_multisource_v2.1.jsonl.gz
--index .bench/ant``), through the full search core (``indexer.search.search``: total,
facets, snippets, did-you-mean, explain; what ``/api/search`` answers):

- ordinary queries (``قوات النظام``, ``الرياض``), the baseline;
- 66 random 14-letter Arabic words (the probe's query: no hit, so did-you-mean runs),
  with the bounded suggestion and, once, with the bound lifted (what it cost before);
- 4 unknown words (the most did-you-mean still looks at), a 1000-character query of
  known words, 20 nested parentheses (the deepest allowed), 332 (refused before parsing);
- a second small index holding one report of 50 MB of text (cut at ingest to 1,000,000
  characters) beside ordinary ones: ``q=قوات&limit=1`` and ``q=الرياض`` that return it,
  its document-page highlighting, and the CSV-export path (no snippets) per row.

Each case runs ``--runs`` times; the median is printed with its ratio to the ordinary
baseline measured in the same run::

    .venv/bin/python benchmarks/hostile.py --index .bench/ant [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer import search as core  # noqa: E402
from indexer.build import build  # noqa: E402
from indexer.query import QueryError  # noqa: E402
from indexer.store import open_current  # noqa: E402

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


def timed(fn, runs: int) -> float:
    """Median seconds of ``fn()`` over ``runs`` calls."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def run_query(snap, q: str, **kw) -> None:
    try:
        core.search(snap, q, **kw)
    except QueryError:
        pass  # refused with a 400: its cost is the refusal's


def random_words(rng: random.Random, n: int, letters: int) -> str:
    return " ".join("".join(rng.choice(LETTERS) for _ in range(letters)) for _ in range(n))


def big_index(work: Path) -> Path:
    """One 50 MB report (cut at ingest) beside 200 short ones that mention the same words."""
    src = work / "in"
    src.mkdir(parents=True)
    sentence = "قالت قوات النظام إنها سيطرت على مواقع قرب الرياض بعد معارك عنيفة "
    big = sentence * (50_000_000 // len(sentence.encode()))
    rows = [{"id": "big", "title": "تقرير طويل", "text": big}]
    rows += [{"id": f"s{i}", "title": f"خبر {i}", "text": sentence + f"رقم {i}"} for i in range(200)]
    (src / "big.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    build([src], work / "ix", jobs=1)
    return work / "ix"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, default=ROOT / ".bench" / "ant")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = random.Random(13)
    rows: list[dict] = []

    def case(name: str, seconds: float, base: float) -> None:
        rows.append({"case": name, "ms": round(seconds * 1000, 1), "x_ordinary": round(seconds / base, 2)})
        if not args.json:
            print(f"{rows[-1]['ms']:>10.1f} ms  {rows[-1]['x_ordinary']:>8.2f}×  {name}", flush=True)

    if not args.json:
        print(f"index {args.index}; median of {args.runs} run(s); ratio to 'قوات النظام' in this run")
    with open_current(args.index) as snap:
        run_query(snap, "قوات")  # warm: lexicons, posting arrays
        base = timed(lambda: run_query(snap, "قوات النظام"), args.runs)
        case("ordinary: قوات النظام", base, base)
        case("ordinary: الرياض", timed(lambda: run_query(snap, "الرياض"), args.runs), base)
        probe = random_words(rng, 66, 14)
        case(
            "66 random 14-letter words (bounded did-you-mean)",
            timed(lambda: run_query(snap, probe), args.runs),
            base,
        )
        four = random_words(rng, 4, 9)
        case(
            "4 unknown 9-letter words (did-you-mean at its bound)",
            timed(lambda: run_query(snap, four), args.runs),
            base,
        )
        known = " ".join(["قوات", "النظام", "الرقة", "حلب", "دمشق", "المعارضة"] * 40)[:1000]
        case("1000 characters of known words", timed(lambda: run_query(snap, known), args.runs), base)
        case(
            "20 nested parentheses",
            timed(lambda: run_query(snap, "(" * 20 + "قوات" + ")" * 20), args.runs),
            base,
        )
        case("332 nested parentheses (400)", timed(lambda: run_query(snap, "(" * 332 + "x"), args.runs), base)
        # The bound lifted once: what the probe's query cost before.
        saved = core.SUGGEST_MAX_WORDS, core.SUGGEST_MAX_CHARS, core.SUGGEST_BUDGET_S
        core.SUGGEST_MAX_WORDS, core.SUGGEST_MAX_CHARS = 10**6, 10**6
        try:
            parsed = core.parse(probe, "and")
            t = time.perf_counter()
            core.suggest(snap.searcher(), parsed, probe, snap.db, budget=1e9)
            case(
                "66 random words, did-you-mean unbounded (before), suggestion only",
                time.perf_counter() - t,
                base,
            )
        finally:
            core.SUGGEST_MAX_WORDS, core.SUGGEST_MAX_CHARS, core.SUGGEST_BUDGET_S = saved

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ix = big_index(Path(tmp))
        build_s = time.perf_counter() - t
        with open_current(ix) as snap:
            run_query(snap, "قوات")
            small_base = timed(lambda: run_query(snap, "خبر", limit=1), args.runs)
            case("50 MB report index: ordinary q=خبر&limit=1", small_base, base)
            case(
                "50 MB report: q=قوات&limit=1 (returns it)",
                timed(lambda: run_query(snap, "قوات", limit=1), args.runs),
                base,
            )
            case(
                "50 MB report: q=الرياض (20 hits, it among them)",
                timed(lambda: run_query(snap, "الرياض"), args.runs),
                base,
            )
            from web import create_app

            client = create_app(ix).test_client()
            client.get("/documents/s1")  # warm the app
            page = timed(lambda: client.get("/documents/big?q=الرياض").status_code, 1)
            case("its document page (/documents/big?q=الرياض, 1,000,000 characters)", page, base)
            n = 201
            export = timed(lambda: run_query(snap, "قوات", limit=n, snippets=False, facets=False), args.runs)
            case("CSV path (no snippets): per row, ms", export / n, base)
    out = {"index": str(args.index), "runs": args.runs, "big_index_build_s": round(build_s, 1), "cases": rows}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    print(f"(the 50 MB report's index took {build_s:.0f} s to build, its text cut to 1,000,000 characters)")


if __name__ == "__main__":
    main()
