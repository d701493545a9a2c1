"""Orthographic normalization of Arabic text (the contract in docs/analysis.md).

Applied to each token after tokenization, so the offsets of tokens still index
the original text. Everything here is a pure function of its input.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Harakat U+064B-U+065F (fathatan .. wavy hamza below), superscript alef U+0670,
# Quranic annotation marks U+06D6-U+06ED and tatweel U+0640.
MARKS_RE = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Zero-width characters, bidi embeddings/isolates and the Arabic letter mark.
CONTROLS_RE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")

_FOLD = str.maketrans(
    {
        # alef with hamza above/below, madda, wasla -> bare alef
        "\u0623": "\u0627",  # أ
        "\u0625": "\u0627",  # إ
        "\u0622": "\u0627",  # آ
        "\u0671": "\u0627",  # ٱ
        # hamza on waw / yeh -> hamza (see docs/analysis.md: مسؤول = مسئول)
        "\u0624": "\u0621",  # ؤ
        "\u0626": "\u0621",  # ئ
        "\u0649": "\u064a",  # ى -> ي (as Lucene; pyarabic maps it to ا)
        "\u0629": "\u0647",  # ة -> ه
        # Persian / Urdu letters seen in copied text
        "\u06cc": "\u064a",  # ی
        "\u06d2": "\u064a",  # ے
        "\u06a9": "\u0643",  # ک
        "\u06c0": "\u0647",  # ۀ
        "\u06c1": "\u0647",  # ہ
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
    }
)


def strip_marks(text: str) -> str:
    """Remove harakat, superscript alef, Quranic marks and tatweel.

    >>> strip_marks("الرَّقَّةُ")
    'الرقة'
    >>> strip_marks("روبرـــــت")
    'روبرت'
    """
    return MARKS_RE.sub("", text)


def fold_letters(text: str) -> str:
    """Fold letter variants to one shape: أإآٱ→ا, ؤئ→ء, ى→ي, ة→ه, Persian forms, digits.

    >>> fold_letters("أحمد إلى المدرسة ٣")
    'احمد الي المدرسه 3'
    """
    return text.translate(_FOLD)


def normalize(text: str) -> str:
    """Normalize Arabic text for matching.

    NFKC (presentation forms, lam-alef ligatures, composed hamza), then controls
    and marks removed, then letters folded and Latin lowercased.

    >>> normalize("الرَّقّـــة")
    'الرقه'
    >>> normalize("ﻻ")
    'لا'
    >>> normalize("مسؤول") == normalize("مسئول")
    True
    """
    if not text:
        return ""
    if len(text) <= 40:
        return _normalize_cached(text)
    return _normalize(text)


def _one_pass(text: str) -> str:
    text = CONTROLS_RE.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = MARKS_RE.sub("", text).translate(_FOLD)
    return text.lower()


# Arabic base letters (U+0621-U+064A without tatweel): no control, mark, compatibility
# form or case among them, and two of them never compose under NFKC.
_BARE = "".join(chr(c) for c in range(0x0621, 0x064B) if c != 0x0640)


def _normalize(text: str) -> str:
    if not text.strip(_BARE):  # most words: folding is all there is to do, once
        return text.translate(_FOLD)
    # A second pass is almost always a no-op; looping to a fixpoint makes
    # normalize() idempotent even for odd mixes of marks, controls and casing.
    out = _one_pass(text)
    for _ in range(4):
        again = _one_pass(out)
        if again == out:
            break
        out = again
    return out


@lru_cache(maxsize=200_000)
def _normalize_cached(text: str) -> str:
    return _normalize(text)
