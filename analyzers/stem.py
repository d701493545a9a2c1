"""Light stemming: clitic stripping around Snowball's Arabic stemmer.

First version (Lucene-style affix stripping); see docs/analysis.md.
"""

from __future__ import annotations

from functools import lru_cache

from analyzers.normalize import normalize

_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


def is_arabic_word(word: str) -> bool:
    """True when every character is an Arabic letter (after normalization)."""
    return bool(word) and all("\u0621" <= c <= "\u064a" for c in word)


@lru_cache(maxsize=200_000)
def light_stem(word: str) -> str:
    """Strip clitics and inflectional suffixes.

    >>> light_stem("والقوات"), light_stem("بالرقّة")
    ('قو', 'رق')
    """
    w = normalize(word)
    if not is_arabic_word(w):
        return w
    if len(w) >= 5 and w[0] in "وف" and w[1:3] == "ال":
        w = w[1:]
    if len(w) >= 5 and w[:3] in ("بال", "كال", "فال"):
        w = w[1:]
    if len(w) >= 4 and w.startswith("لل"):
        w = w[2:]
    elif len(w) >= 4 and w.startswith("ال"):
        w = w[2:]
    for s in _SUFFIXES:
        if w.endswith(s) and len(w) > len(s) + 1:
            w = w[: -len(s)]
    return w
