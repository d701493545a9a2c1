"""CPU cost of analysing a new word, this code vs a baseline (main's) side by side, in one run.

A cold word's full analysis is what ``indexer.postings.word_levels`` returns for it:
``(exact, stem, root)`` — normalize, stopword test, ``light_stem``, ``lexicon_root``. The
build analyses every distinct surface form of a batch once (``build._prime_words``), so
this is the largest single piece of indexing CPU (230,692 distinct forms in ANT).

The distinct forms (titles + texts, tokenized as indexing does) of a corpus from
``../shared/corpus/`` are given, sorted as the build sorts them, to ``word_levels`` in a
fresh process for each code: one process imports the baseline's ``analyzers`` and
``indexer`` packages, the other this checkout's. Each process loads its data first (the
lexicon, patterns, affix tables: timed apart as "start-up") and then times
``word_levels(forms)`` in CPU seconds (``time.process_time``), so the machine's load
matters less than for wall time. Both processes write their outputs, which are compared
form by form: ``--check`` exits with status 1 when any differs (and prints the first).

The baseline is ``main``'s code, taken with ``git archive`` into a temporary directory,
or any directory holding ``analyzers/`` and ``indexer/`` (``--baseline-code DIR``).
Run from the project root:

    .venv/bin/python benchmarks/word_analysis.py [--corpus ant] [--sample 50000] [--check]
    .venv/bin/python benchmarks/word_analysis.py --corpus all --check   # identity on all three
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpus"
CORPORA = {
    "ant": "ant_multisource_v2.1.jsonl.gz",
    "saudi": "saudinewsnet.jsonl.gz",
    "jawhara": "ant_jawharafm_v1.1.jsonl.gz",
}

# Run in a child process with the code under test first on sys.path.
CHILD = r"""
import sys, time
code, forms_path, out_path = sys.argv[1:4]
sys.path.insert(0, code)
t0 = time.process_time()
import analyzers
from indexer import postings
postings.word_levels(["والقوات"])  # loads the lexicon, patterns and affix tables
startup = time.process_time() - t0
forms = open(forms_path, encoding="utf-8").read().split("\n")[:-1]
t1 = time.process_time()
levels = postings.word_levels(forms)
cpu = time.process_time() - t1
assert postings.__file__.startswith(code), postings.__file__
with open(out_path, "w", encoding="utf-8") as f:
    for lv in levels:
        f.write("\t".join(lv) + "\n")
print(startup, cpu)
"""


def distinct_forms(path: Path) -> set[str]:
    """Distinct surface forms of the titles and texts of a JSONL corpus."""
    sys.path.insert(0, str(ROOT))
    from analyzers.tokenize import TOKEN_RE

    out: set[str] = set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            for t in (d.get("title") or "", d.get("text") or ""):
                out.update(TOKEN_RE.findall(t))
    return out


def baseline_code(ref: str, into: Path) -> Path:
    """``analyzers/`` and ``indexer/`` of git ``ref`` extracted into ``into``."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "analyzers", "indexer"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run(code: Path, forms_path: Path, out_path: Path) -> tuple[float, float]:
    """(start-up CPU s, CPU s for word_levels over the forms) of ``code`` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(code), str(forms_path), str(out_path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(code),
    )
    startup, cpu = done.stdout.split()
    return float(startup), float(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=[*CORPORA, "all"], default="ant")
    ap.add_argument("--sample", type=int, default=0, help="a fixed random sample of this many forms (0: all)")
    ap.add_argument("--baseline", default="main", help="git ref of the baseline code (default: main)")
    ap.add_argument("--baseline-code", type=Path, help="baseline: a directory with analyzers/, indexer/")
    ap.add_argument("--check", action="store_true", help="exit 1 when any form's analysis differs")
    args = ap.parse_args()
    names = list(CORPORA) if args.corpus == "all" else [args.corpus]
    missing = [n for n in names if not (SHARED / CORPORA[n]).exists()]
    if missing:
        sys.exit(f"{SHARED / CORPORA[missing[0]]} is absent: the corpora live in ../shared")

    differ = 0
    with tempfile.TemporaryDirectory(prefix="word_analysis.") as tmp:
        tmpdir = Path(tmp)
        if args.baseline_code:
            base, label = args.baseline_code.resolve(), str(args.baseline_code)
        else:
            base, label = baseline_code(args.baseline, tmpdir / "baseline"), args.baseline
        print(f"baseline: {label}   this code: {ROOT}")
        print(f"{'corpus':8} {'forms':>8} {'code':10} {'start-up s':>10} {'CPU s':>8} {'µs/form':>8}")
        for name in names:
            forms = sorted(distinct_forms(SHARED / CORPORA[name]))
            if args.sample and args.sample < len(forms):
                forms = sorted(random.Random(14).sample(forms, args.sample))
            forms_path = tmpdir / f"{name}.forms"
            forms_path.write_text("".join(f + "\n" for f in forms), encoding="utf-8")
            outs, cpus = {}, {}
            for code_label, code in (("baseline", base), ("this", ROOT)):
                outs[code_label] = tmpdir / f"{name}.{code_label}.out"
                startup, cpus[code_label] = run(code, forms_path, outs[code_label])
                cpu = cpus[code_label]
                us = cpu / len(forms) * 1e6
                print(f"{name:8} {len(forms):8} {code_label:10} {startup:10.2f} {cpu:8.2f} {us:8.1f}")
            old = outs["baseline"].read_text(encoding="utf-8").split("\n")
            new = outs["this"].read_text(encoding="utf-8").split("\n")
            diffs = [(f, a, b) for f, a, b in zip(forms, old, new, strict=False) if a != b]
            diffs += [("(missing output)", "", "")] * abs(len(old) - len(new))
            differ += len(diffs)
            speedup = cpus["baseline"] / cpus["this"] if cpus["this"] else float("inf")
            print(f"{name:8} {'':8} {'speed-up':10} {'':10} {speedup:7.1f}× outputs differing: {len(diffs)}")
            for form, a, b in diffs[:10]:
                print(f"  {form}: baseline {a.split(chr(9))} this {b.split(chr(9))}")
    if args.check and differ:
        sys.exit(1)


if __name__ == "__main__":
    main()
