"""Tokenizer: Arabic, Latin and digit runs with offsets into the original text."""

from __future__ import annotations

import re
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
