"""Root extraction accuracy on ../shared/arabic/roots_dev.tsv: Kashaf vs ISRI vs Tashaphyne.

Strict accuracy (the predicted root equals the gold root after folding every
hamza shape to ء and ى to ي on both sides), overall and per source, plus
CPU microseconds per word on cache misses. Run from the project root:

    .venv/bin/python benchmarks/roots.py [--errors N] [--only kashaf]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analyzers import roots
from analyzers.lexicon import fold_root
from analyzers.normalize import fold_letters, strip_marks
from analyzers.roots import root


def read_gold(path: Path) -> list[tuple[str, str, str]]:
    """(word, folded gold root, source) rows."""
    with path.open(encoding="utf-8") as f:
        return [(r["word"], fold_root(r["root"]), r["source"]) for r in csv.DictReader(f, delimiter="\t")]


def error_class(word: str, gold: str, predicted: str) -> str:
    """Why Kashaf missed: no reading at all, gold never proposed, or ranked below another."""
    if len(predicted) not in (3, 4):
        return "no root found (word returned)"
    surface = strip_marks(word)
    proposed = {
        r for s, m, *_ in roots._stems(surface, fold_letters(surface)) for r, *_ in roots._readings(s, m)
    }
    return "gold ranked below another candidate" if gold in proposed else "gold never proposed"


def systems(only: str | None) -> dict[str, Callable[[str], str]]:
    """The extractors to compare; the reference ones are skipped when not installed."""
    out: dict[str, Callable[[str], str]] = {"kashaf": root.__wrapped__}
    try:
        from nltk.stem.isri import ISRIStemmer

        out["isri"] = ISRIStemmer().stem
    except ImportError:
        print("nltk not installed: ISRI skipped")
    try:
        from tashaphyne.stemming import ArabicLightStemmer

        tash = ArabicLightStemmer()

        def tashaphyne_root(word: str) -> str:
            tash.light_stem(word)  # get_root reads the segmentation light_stem leaves behind
            return tash.get_root()

        out["tashaphyne"] = tashaphyne_root
    except ImportError:
        print("Tashaphyne not installed: skipped")
    return {k: v for k, v in out.items() if only is None or k == only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", type=int, default=0, help="print N sample errors of Kashaf")
    parser.add_argument("--only", help="run one system (kashaf, isri, tashaphyne)")
    args = parser.parse_args()
    from tests.conftest import SHARED

    path = SHARED / "arabic/roots_dev.tsv"
    if not path.exists():
        sys.exit(f"{path} is absent: external data lives in ../shared beside the project")
    gold = read_gold(path)
    root("كتب")  # load the lexicon and patterns before timing
    roots._readings.cache_clear()  # time root() misses: only stems shared by several words hit a cache
    sources = sorted({s for _, _, s in gold})
    print(f"{len(gold)} words; strict accuracy (hamza shapes → ء, ى → ي on both sides)\n")
    header = f"{'system':<12}{'overall':>9}" + "".join(f"{s[:18]:>20}" for s in sources)
    print(header + f"{'cpu µs/word':>14}")
    errors: list[tuple[str, str, str, str]] = []
    for name, fn in systems(args.only).items():
        right: Counter[str] = Counter()
        total: Counter[str] = Counter()
        start = time.process_time()  # CPU time: the machine is shared, wall time is noisy
        preds = [fn(w) for w, _, _ in gold]
        elapsed = time.process_time() - start
        for (w, g, s), p in zip(gold, preds, strict=True):
            total[s] += 1
            if fold_root(p or "") == g:
                right[s] += 1
            elif name == "kashaf":
                errors.append((w, g, fold_root(p or ""), s))
        overall = sum(right.values()) / len(gold)
        cells = "".join(f"{right[s] / total[s]:>20.3f}" for s in sources)
        print(f"{name:<12}{overall:>9.3f}{cells}{elapsed / len(gold) * 1e6:>14.1f}")
    if args.errors and errors:
        print(f"\n{len(errors)} Kashaf errors; sample of {args.errors} (word, gold, predicted, source):")
        by_kind: Counter[str] = Counter(error_class(w, g, p) for w, g, p, _ in errors)
        print(", ".join(f"{kind}: {count}" for kind, count in by_kind.most_common()))
        for row in random.Random(0).sample(errors, min(args.errors, len(errors))):
            print("\t".join(row))


if __name__ == "__main__":
    main()
