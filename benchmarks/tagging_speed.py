"""Mention-tagging speed and coverage on the ANT corpus (../shared, never copied).

    .venv/bin/python benchmarks/tagging_speed.py [--docs N] [--runs 3] [--baseline DIR]

Prints docs/s of tokenize+normalize alone and of tokenize+normalize+tag() over the same
articles in the same run (median of ``--runs``); with ``--baseline DIR`` (a checkout of another
revision: ``mkdir -p .bench/main && git archive main | tar -x -C .bench/main``) that revision's
tag() is timed too, in a child process whose runs alternate with ours. Then coverage per
country: among the articles that mention a covered country (the normalized title or text
matches its pattern in NISBA_RE / COUNTRY_RE, e.g. سوري — سوريا، سورية، السوري، السوريين … — or دمشق for
Syria), the share with at least one place of that country (the country or a place under it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers import gazetteer  # noqa: E402
from analyzers.normalize import normalize  # noqa: E402
from analyzers.tagger import tag  # noqa: E402
from analyzers.tokenize import tokenize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "ant_multisource_v2.1.jsonl.gz"
# Text that mentions a country (matched on the raw text, so that اليمنى "right" is not اليمني):
# a word that is its name or its capital, with clitics (so not يمنع "prevents", عراقيل
# "obstacles") — and, in the wider definition, also its nisba (اليمني، العراقيين، اللبنانية …).
_WORD = r"(?:^|[^\w])[وفبل]*(?:{stems}){suffix}(?=[^\w]|$)"
_COUNTRY_WORDS = {
    "iq": ("العراق|لعراق|بغداد", "العراقي|عراقي"),
    "ye": ("اليمن|ليمن|صنعاء", "اليمني|يمني"),
    "ly": ("ليبيا|طرابلس الغرب", "الليبي|ليبي"),
    "lb": ("لبنان|بيروت", "اللبناني|لبناني"),
    "ps": ("فلسطين|غزة|الضفة الغربية", "الفلسطيني|فلسطيني"),
    "sd": ("السودان|لسودان|الخرطوم|لخرطوم", "السوداني|سوداني"),
}
COUNTRY_RE = {
    cc: re.compile(_WORD.format(stems=names, suffix="")) for cc, (names, _) in _COUNTRY_WORDS.items()
}
NISBA_RE = {
    # Syria keeps the definition its earlier figure (90.2 %) was measured with: the normalized
    # text contains سوري or دمشق.
    "sy": re.compile(r"سوري|دمشق"),
    **{
        cc: re.compile(_WORD.format(stems=f"{names}|{nisba}", suffix="(?:ة|ين|ون|ات|تين)?"))
        for cc, (names, nisba) in _COUNTRY_WORDS.items()
    },
}


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


def _child(docs: int, rounds: int) -> None:
    """Baseline mode: time this process's tag() each time a line comes in; print docs/s."""
    sample = load(CORPUS, docs)
    tag(sample[0])
    for _ in range(rounds):
        sys.stdin.readline()
        t0 = time.perf_counter()
        tagging(sample)
        print(len(sample) / (time.perf_counter() - t0), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--docs", type=int, default=3000, help="articles for the speed runs")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="checkout whose tag() to time alongside")
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"{args.corpus} is absent: the ANT corpus lives in ../shared beside the project")

    docs = load(args.corpus, None)
    sample = docs[: args.docs]
    tag(sample[0])  # build the name index outside the timed runs (about 0.1 s)
    child = None
    if args.baseline:
        # The child imports the baseline's analyzers first, then this file (whose own
        # ``from analyzers... import`` then finds the baseline's modules already loaded).
        code = (
            f"import sys, importlib.util; sys.path.insert(0, {str(args.baseline.resolve())!r}); "
            "import analyzers.tagger; "
            f"spec = importlib.util.spec_from_file_location('child', {str(Path(__file__).resolve())!r}); "
            "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod); "
            f"mod._child({args.docs}, {args.runs})"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=args.baseline,
        )
    times: dict[str, list[float]] = {"base": [], "tag": [], "baseline": []}
    for _ in range(args.runs):
        for name, fn in (("base", baseline), ("tag", tagging)):
            t0 = time.perf_counter()
            fn(sample)
            times[name].append(len(sample) / (time.perf_counter() - t0))
        if child:
            child.stdin.write("go\n")
            child.stdin.flush()
            times["baseline"].append(float(child.stdout.readline()))
    if child:
        child.wait()
    print(f"speed on {len(sample)} ANT articles, median of {args.runs} runs (interleaved):")
    print(f"  tokenize+normalize            {statistics.median(times['base']):8.1f} docs/s")
    print(f"  tokenize+normalize+tag()      {statistics.median(times['tag']):8.1f} docs/s")
    if child:
        print(f"  same, baseline {args.baseline}: {statistics.median(times['baseline']):8.1f} docs/s")

    table = gazetteer.entities()
    print(f"coverage on {len(docs)} ANT articles (those that mention the country; share with a place of it):")
    tags: list[set[str] | None] = [None] * len(docs)
    for cc in NISBA_RE:
        line = f"  {cc}:"
        for label, patterns in (("by name or capital", COUNTRY_RE), ("by name, capital or nisba", NISBA_RE)):
            if cc not in patterns:
                continue
            text_of = normalize if cc == "sy" else str
            related = [k for k, d in enumerate(docs) if patterns[cc].search(text_of(d))]
            covered = 0
            for k in related:
                if tags[k] is None:
                    tags[k] = {m.entity_id for m in tag(docs[k])}
                if any(table[i].kind == "place" and gazetteer.country_of(i) == cc for i in tags[k]):
                    covered += 1
            line += f"  {label}: {covered}/{len(related)} ({covered / max(1, len(related)):.1%})"
        print(line)


if __name__ == "__main__":
    main()
