"""Tokens per second of Kashaf's analysis chain vs bare Snowball, in one run.

Over the text of the first N articles of ../shared/corpus/ant_multisource_v2.1.jsonl.gz:

* chain: tokenize, then per token normalize + is_stopword, and light_stem + root
  for non-stopwords (what indexing does);
* no-root chain: the same without root() (tokenize, normalize, stopwords, light_stem);
* snowball: ``snowballstemmer.stemmer('arabic').stemWords`` over the same tokens
  (already tokenized, so it is given less work than the chain).

Each is timed 3 times cold (every per-word cache cleared first; the one-time data
loads — lexicon, stop list, affix tables — stay loaded and are timed separately)
and 3 times warm (caches kept from the previous pass); the median is printed.
Run from the project root:

    .venv/bin/python benchmarks/analyzer_speed.py [--articles 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import snowballstemmer  # noqa: E402

from analyzers import is_stopword, light_stem, normalize, root, tokenize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "ant_multisource_v2.1.jsonl.gz"
MODULES = ("normalize", "tokenize", "stopwords", "lexicon", "stem", "roots")


def read_texts(path: Path, articles: int) -> list[str]:
    """Text field of the first ``articles`` articles."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if len(out) >= articles:
                break
            out.append(json.loads(line)["text"])
    return out


def per_word_caches() -> list[Callable[[], None]]:
    """cache_clear of every lru_cache in analyzers except one-entry data loaders."""
    clears = []
    for name in MODULES:
        module = importlib.import_module(f"analyzers.{name}")
        for value in vars(module).values():
            info = getattr(value, "cache_info", None)
            if info is not None and info().maxsize != 1:
                clears.append(value.cache_clear)
    return clears


def chain(texts: list[str], with_root: bool = True) -> int:
    """The full analysis of every token; returns the token count."""
    n = 0
    for text in texts:
        for t in tokenize(text):
            n += 1
            normalize(t.text)
            if not is_stopword(t.text):
                light_stem(t.text)
                if with_root:
                    root(t.text)
    return n


def timed(fn: Callable[[], object], before: Callable[[], None] | None = None) -> float:
    if before:
        before()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is absent: external data lives in ../shared beside the project")
    texts = read_texts(CORPUS, args.articles)
    tokens = [t.text for text in texts for t in tokenize(text)]
    print(f"{len(texts)} articles, {len(tokens):,} tokens, {len(set(tokens)):,} distinct")

    start = time.perf_counter()
    light_stem("والقوات"), root("والقوات")  # loads lexicon, stop list, affix tables
    print(f"one-time data loading: {time.perf_counter() - start:.2f} s (not in the figures below)")

    clears = per_word_caches()

    def clear_all() -> None:
        for clear in clears:
            clear()

    snow = snowballstemmer.stemmer("arabic")
    rows = {
        "chain cold": [timed(lambda: chain(texts), clear_all) for _ in range(args.runs)],
        "chain warm": [timed(lambda: chain(texts)) for _ in range(args.runs)],
        "no-root chain cold": [timed(lambda: chain(texts, False), clear_all) for _ in range(args.runs)],
        "no-root chain warm": [timed(lambda: chain(texts, False)) for _ in range(args.runs)],
        "snowball stemWords": [timed(lambda: snow.stemWords(tokens)) for _ in range(args.runs)],
    }
    for label, seconds in rows.items():
        med = statistics.median(seconds)
        runs = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"{label:20s} median {med:6.2f} s  {len(tokens) / med:12,.0f} tokens/s   (runs: {runs} s)")


if __name__ == "__main__":
    main()
