"""Fused analysis for indexing: one tokenization feeds all three levels of a text.

Running the three Whoosh field analyzers tokenizes and maps every word three
times, and Whoosh's ``Format.word_values`` loops over the tokens again per field.
Here each text is tokenized once, each distinct surface form is analyzed once per
process (``_levels``, memoized: news vocabulary is Zipfian), and the posting
tuples Whoosh's writer takes — ``(term bytes, frequency, weight, encoded value)`` —
are built directly. ``tests/test_postings.py`` checks that the result equals what
the fields' own analyzers and formats produce.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pickle import dumps
from typing import NamedTuple

from whoosh.formats import Characters
from whoosh.system import pack_uint

from analyzers.normalize import normalize
from analyzers.roots import root_level
from analyzers.stem import light_stem
from analyzers.stopwords import is_normalized_stopword
from analyzers.tokenize import TOKEN_RE, Token

_CHARS = Characters()


def _analyze_word(surface: str) -> tuple[str, str, str]:
    """(exact, stem, root) terms of a surface form; stem and root are "" for stopwords.

    The form is normalized once here; the stopword test reads that normalized form.

    >>> _analyze_word("وبالغارات")[0], _analyze_word("من")
    ('وبالغارات', ('من', '', ''))
    """
    exact = normalize(surface)
    if is_normalized_stopword(exact):
        return exact, "", ""
    # Uncached: each new word is analyzed once (the callers keep the result), so the
    # per-word caches of light_stem and lexicon_root would only cost time and memory.
    stem = light_stem.__wrapped__(surface)
    return exact, stem, root_level(surface, stem)


# callers keep their own table (analyze_text's _WORDS)
_levels = lru_cache(maxsize=4096)(_analyze_word)


class TextAnalysis(NamedTuple):
    """One text analyzed once: its tokens and normalized forms (what ``analyzers.tagger.tag``
    reads) and the posting tuples of its exact, stem and root fields."""

    tokens: list[Token]
    norms: list[str]
    exact: list[tuple]
    stem: list[tuple]
    root: list[tuple]


_WORDS: dict[str, tuple[str, str, str]] = {}  # _levels without lru_cache's per-call overhead
_WORDS_MAX = 1_000_000  # ~250 MB at most; cleared (not evicted) when full


def analyze_text(text: str) -> TextAnalysis:
    """Tokens, normalized forms and the posting tuples of ``text`` (see :func:`text_postings`).

    >>> a = analyze_text("انسحبت القوات من الرقّة")
    >>> a.norms, a.tokens[3]
    (['انسحبت', 'القوات', 'من', 'الرقه'], Token(text='الرقّة', start=17, end=23))
    """
    tokens: list[Token] = []
    norms: list[str] = []
    chars: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    stems: dict[str, int] = defaultdict(int)
    roots: dict[str, int] = defaultdict(int)
    words = _WORDS
    for pos, m in enumerate(TOKEN_RE.finditer(text)):
        surface = m.group()
        start, end = m.span()
        tokens.append(Token(surface, start, end))
        levels = words.get(surface)
        if levels is None:
            if len(words) >= _WORDS_MAX:
                words.clear()
            levels = words[surface] = _levels(surface)
        exact, stem, rt = levels
        norms.append(exact)
        if exact:
            chars[exact].append((pos, start, end))
        if stem:
            stems[stem] += 1
        if rt:
            roots[rt] += 1
    return TextAnalysis(
        tokens,
        norms,
        [(w.encode(), len(p), float(len(p)), _encode_chars(p)) for w, p in chars.items()],
        [(w.encode(), f, float(f), pack_uint(f)) for w, f in stems.items()],
        [(w.encode(), f, float(f), pack_uint(f)) for w, f in roots.items()],
    )


def surfaces(texts: Iterable[str]) -> set[str]:
    """The distinct surface forms (tokens as written) of ``texts``.

    >>> sorted(surfaces(["قصف الغارات", "الغارات"]))
    ['الغارات', 'قصف']
    """
    out: set[str] = set()
    for text in texts:
        out.update(TOKEN_RE.findall(text))
    return out


def word_levels(words: list[str]) -> list[tuple[str, str, str]]:
    """``(exact, stem, root)`` of each surface form (:func:`_levels`), for :func:`learn_words`.

    >>> word_levels(["وبالغارات", "من"])[1]
    ('من', '', '')
    """
    # New words, each analyzed once: _levels' small cache would only cost a lookup.
    return [_analyze_word(w) for w in words]


def learn_words(words: list[str], levels: list[tuple[str, str, str]]) -> None:
    """Put words analyzed elsewhere (another process: the build splits a batch's new words
    between its workers) into this process's word table."""
    if len(_WORDS) + len(words) > _WORDS_MAX:
        _WORDS.clear()
    _WORDS.update(zip(words, levels, strict=True))


def known_words() -> set[str]:
    """The surface forms this process has analyzed already."""
    return set(_WORDS)


_ONE = pack_uint(1)


def _encode_chars(poslist: list[tuple[int, int, int]]) -> bytes:
    """``whoosh.formats.Characters.encode``, with the common one-occurrence case inlined."""
    if len(poslist) == 1:
        pos, start, end = poslist[0]
        return _ONE + dumps([(pos, start, end - start)], 2)
    return _CHARS.encode(poslist)


def text_postings(text: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Posting tuples of ``text`` for its exact, stem and root fields.

    Exact: positions and characters (phrases, highlights), stopwords kept.
    Stem and root: frequencies, stopwords dropped; positions count every word.

    >>> exact, stem, root_ = text_postings("قصف الغارات والغارات")
    >>> sorted(f for _, f, _, _ in stem)  # الغارات and والغارات share one stem
    [1, 2]
    """
    a = analyze_text(text)
    return a.exact, a.stem, a.root
