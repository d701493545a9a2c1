"""Tokenizer: Arabic, Latin and digit runs with offsets into the original text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate
from typing import NamedTuple

# Arabic letters (base block, supplements, extended-A, presentation forms).
_AR = (
    "\u0620-\u063f\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff"
    "\u0750-\u077f\u08a0-\u08c9\ufb50-\ufd3d\ufd50-\ufdfb\ufe70-\ufefc"
)
# Marks that live inside Arabic words: harakat, superscript alef, Quranic marks,
# tatweel, and the zero-width (non-)joiners that Persian keyboards insert.
_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c\u200d"

TOKEN_RE = re.compile(
    rf"[{_MARKS}]*[{_AR}][{_AR}{_MARKS}]*"  # Arabic word; marks stay inside
    r"|\d+"  # digits of any script (Arabic-Indic included)
    rf"|(?:(?![{_AR}])[^\W\d_])(?:(?![{_AR}])[^\W_]|[\u0300-\u036f])*"  # Latin & other letters (+digits)
)


class Token(NamedTuple):
    """A word of the original text: ``text == original[start:end]``."""

    text: str
    start: int
    end: int


class Tokens(Sequence):
    """A text's tokens, made into :class:`~analyzers.tokenize.Token` only when one is read
    (the tagger reads a few around each name; building all of them cost more than the rest).
    The indexer's analysis makes them (``indexer.postings.analyze_text``); :func:`columns`
    gives any token sequence's texts and offsets as lists.

    >>> Tokens(["قصف", "حلب"], [0, 4], [3, 7])[1]
    Token(text='حلب', start=4, end=7)
    """

    __slots__ = ("ends", "starts", "surfaces")

    def __init__(self, surfaces: list[str], starts: list[int], ends: list[int]) -> None:
        self.surfaces = surfaces
        self.starts = starts
        self.ends = ends

    def __len__(self) -> int:
        return len(self.surfaces)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return Token(self.surfaces[i], self.starts[i], self.ends[i])


# The pattern as a group: re.split gives gap, token, gap, ..., gap, and the running sum of
# their lengths gives every token's offsets without a match object each.
SPLIT_RE = re.compile(f"({TOKEN_RE.pattern})")


def tokens_of(text: str) -> Tokens:
    """``tokenize(text)`` as a :class:`Tokens` (one split of the text, no match objects).

    >>> tokens_of("قصف، حلب")[1], list(tokens_of("قصف، حلب")) == tokenize("قصف، حلب")
    (Token(text='حلب', start=5, end=8), True)
    """
    parts = SPLIT_RE.split(text)
    bounds = list(accumulate(map(len, parts)))
    return Tokens(parts[1::2], bounds[0:-1:2], bounds[1::2])


def columns(tokens: Sequence[Token]) -> tuple[list[str], list[int], list[int]]:
    """The texts, starts and ends of ``tokens``: a :class:`Tokens`' own lists, or made.

    >>> columns(tokenize("قصف حلب"))
    (['قصف', 'حلب'], [0, 4], [3, 7])
    """
    if isinstance(tokens, Tokens):
        return tokens.surfaces, tokens.starts, tokens.ends
    return [t.text for t in tokens], [t.start for t in tokens], [t.end for t in tokens]


def tokenize(text: str) -> list[Token]:
    """Split text into word tokens, keeping diacritics and tatweel inside words.

    Punctuation (``،؛؟«»“”`` and ASCII) separates tokens and is dropped.

    >>> [t.text for t in tokenize("انسحبت قواتُ النظام من الرقّة، أمس (2017)")]
    ['انسحبت', 'قواتُ', 'النظام', 'من', 'الرقّة', 'أمس', '2017']
    >>> tokenize("الرقّة")[0]
    Token(text='الرقّة', start=0, end=6)
    """
    if not text:
        return []
    return [Token(m.group(), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]
