"""The analyzers' per-word memos, bounded in a web worker by its memory plan.

Normalizing, stemming and rooting a word are memoized per process (``functools.lru_cache``
in analyzers/ and indexer/highlight.py), with sizes made for a build, where each of the
dozen memos may hold 100,000–300,000 words: about 300 bytes a word, up to a gigabyte if all
fill. A web worker fills them with every new word its snippets and exports read, and each
worker holds its own (the master's warm entries are shared until touched), so here they
are bounded together: past :func:`budget_words` words in all, the largest are emptied
until half of that is left. Frequent words come back at once; the memos that load a
table once (``maxsize=1``: lexicons, gazetteers) are never touched.
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache

from web.sizing import WORKER_MB

MODULES = (
    "analyzers.normalize",
    "analyzers.stem",
    "analyzers.roots",
    "analyzers.stopwords",
    "analyzers.variants",
    "analyzers.tagger",
    "indexer.highlight",
    "indexer.postings",
)
WORD_BYTES = 300  # a memoized word: its key, its value and the cache's link, in CPython
SHARE = 0.2  # of a worker's planned memory, for these memos


def budget_words(worker_mb: int | None = None) -> int:
    """How many memoized words a worker keeps in all (20 % of ``KASHAF_WORKER_MB``).

    >>> budget_words(300)
    209715
    """
    if worker_mb is None:
        worker_mb = int((os.environ.get("KASHAF_WORKER_MB") or "").strip() or WORKER_MB)
    return int(worker_mb * (1 << 20) * SHARE) // WORD_BYTES


@lru_cache(maxsize=1)
def word_memos() -> tuple:
    """Every per-word ``lru_cache`` of the analysis modules (not the one-table loaders)."""
    found: dict[int, object] = {}  # by identity: modules import each other's memos
    for name in MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            info = getattr(value, "cache_info", None)
            if callable(info) and callable(getattr(value, "cache_clear", None)):
                size = info().maxsize
                if size is None or size > 1:
                    found[id(value)] = value
    return tuple(found.values())


def trim(limit: int | None = None) -> int:
    """Empty the largest memos while all together hold more than ``limit`` words (default
    :func:`budget_words`), down to half of it; returns how many words were dropped."""
    limit = budget_words() if limit is None else limit
    sizes = sorted(((fn.cache_info().currsize, i) for i, fn in enumerate(word_memos())), reverse=True)
    total = sum(size for size, _ in sizes)
    if total <= limit:
        return 0
    dropped = 0
    for size, i in sizes:
        if total - dropped <= limit // 2:
            break
        word_memos()[i].cache_clear()
        dropped += size
    return dropped
