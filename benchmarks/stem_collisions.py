"""Stem collisions among the most frequent words of the ANT news corpus.

Counts every non-stopword token of ../shared/corpus/ant_multisource_v2.1.jsonl.gz
(normalized), takes the N most frequent distinct words and prints the groups of
distinct words that share a light stem, most frequent group first. Review them
in docs/stemming.md. Run from the project root:

    .venv/bin/python benchmarks/stem_collisions.py [--top 5000] [--articles 0] [--snowball]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers import is_stopword, light_stem, normalize, tokenize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "ant_multisource_v2.1.jsonl.gz"


def word_counts(path: Path, articles: int = 0) -> Counter[str]:
    """Normalized non-stopword token counts over the article texts (all when articles=0)."""
    counts: Counter[str] = Counter()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if articles and i >= articles:
                break
            for t in tokenize(json.loads(line)["text"]):
                if not is_stopword(t.text):
                    counts[normalize(t.text)] += 1
    return counts


def collisions(words: list[str], stem: Callable[[str], str]) -> list[tuple[str, list[str]]]:
    """(stem, words) for every stem shared by two or more of ``words``, in the order of ``words``."""
    groups: dict[str, list[str]] = defaultdict(list)
    for w in words:
        groups[stem(w)].append(w)
    return [(s, ws) for s, ws in groups.items() if len(ws) > 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5000)
    parser.add_argument("--articles", type=int, default=0, help="read only the first N articles (0 = all)")
    parser.add_argument("--snowball", action="store_true", help="also count bare Snowball's groups")
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is absent: external data lives in ../shared beside the project")
    counts = word_counts(CORPUS, args.articles)
    top = [w for w, _ in counts.most_common(args.top)]
    groups = collisions(top, light_stem)
    print(
        f"{len(top)} most frequent words, {len(groups)} collision groups, "
        f"{sum(len(ws) for _, ws in groups)} words in them"
    )
    for s, ws in groups:
        print(f"{s}\t" + " ".join(f"{w}({counts[w]})" for w in ws))
    if args.snowball:
        import snowballstemmer

        bare = collisions(top, snowballstemmer.stemmer("arabic").stemWord)
        print(f"bare Snowball on the same words: {len(bare)} collision groups")


if __name__ == "__main__":
    main()
