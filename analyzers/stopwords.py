"""Arabic stopwords (analyzers/data/stopwords.txt), matched after normalization."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from analyzers.normalize import normalize


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The normalized stop list."""
    text = resources.files("analyzers").joinpath("data/stopwords.txt").read_text("utf-8")
    words = (line.strip() for line in text.splitlines())
    return frozenset(normalize(w).rstrip("ـ") for w in words if w and not w.startswith("#"))


@lru_cache(maxsize=50_000)
def is_stopword(word: str) -> bool:
    """True for function words, also with a glued conjunction و / ف.

    >>> is_stopword("الذين"), is_stopword("وفي"), is_stopword("فإنّ"), is_stopword("قوات")
    (True, True, True, False)
    """
    return is_normalized_stopword(normalize(word))


def is_normalized_stopword(w: str) -> bool:
    """``is_stopword`` of a word already normalized (``normalize(w) == w``), without normalizing
    it again: what the indexer asks of each new word it has just normalized.

    >>> is_normalized_stopword("وفي"), is_normalized_stopword("قوات")
    (True, False)
    """
    if not w:
        return False
    stops = stopwords()
    return w in stops or (len(w) > 2 and w[0] in "وف" and w[1:] in stops)
