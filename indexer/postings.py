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

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate, compress
from typing import NamedTuple

from whoosh.formats import Positions
from whoosh.system import pack_uint

from analyzers.normalize import normalize
from analyzers.roots import root_level
from analyzers.stem import light_stem
from analyzers.stopwords import is_normalized_stopword
from analyzers.tokenize import TOKEN_RE, Token

_encode_positions = Positions().encode  # a positional value: pack_uint(n) + pickled position deltas


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


class Postings:
    """One field's postings of one text, as columns: term bytes, frequencies and value bytes
    (``None`` for frequency-only fields, whose value is ``pack_uint(freq)``), and for a
    positional field its positions, term after term (each term's ``freq`` of them). Iterating
    gives Whoosh's posting tuples ``(term bytes, freq, weight, value bytes)``; the bulk writer
    (``indexer.segments``) takes the columns as they are.

    >>> list(Postings([b"x"], [2], None))
    [(b'x', 2, 2.0, b'\\x00\\x00\\x00\\x02')]
    """

    __slots__ = ("freqs", "positions", "terms", "values")

    def __init__(
        self,
        terms: list[bytes],
        freqs: list[int],
        values: list[bytes] | None,
        positions: list[int] | None = None,
    ) -> None:
        self.terms = terms
        self.freqs = freqs
        self.values = values
        self.positions = positions

    def __len__(self) -> int:
        return len(self.terms)

    def __iter__(self):
        values = self.values if self.values is not None else map(pack_uint, self.freqs)
        return zip(self.terms, self.freqs, map(float, self.freqs), values, strict=False)


class Tokens(Sequence):
    """A text's tokens, made into :class:`~analyzers.tokenize.Token` only when one is read
    (the tagger reads a few around each name; building all of them cost more than the rest).

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


class TextAnalysis(NamedTuple):
    """One text analyzed once: its tokens and normalized forms (what ``analyzers.tagger.tag``
    reads) and the postings of its exact, stem and root fields."""

    tokens: Tokens
    norms: list[str]
    exact: Postings
    stem: Postings
    root: Postings


# Surface form → (exact form, and the exact, stem and root terms as bytes): _levels without
# lru_cache's per-call overhead, each term encoded once per word rather than once per text
# (a bytes object keeps its hash: the writer's term lookups do not hash it again).
_WORDS: dict[str, tuple[str, bytes, bytes, bytes]] = {}
_WORDS_MAX = 1_000_000  # ~300 MB at most; cleared (not evicted) when full
# The tokenizer's pattern as a group: re.split gives gap, token, gap, ..., gap, and the
# running sum of their lengths gives every token's offsets without a match object each.
_SPLIT_RE = re.compile(f"({TOKEN_RE.pattern})")


ONES = 65536  # positions whose single-occurrence value is kept in a table
_ONES: list[bytes] | None = None  # the value of one occurrence at p < ONES, made on first use


def _ones() -> list[bytes]:
    """The table of single-occurrence values, made whole before it is published (a thread
    that races another builds its own copy; none sees a half-made or doubled table)."""
    global _ONES  # noqa: PLW0603 - a table made once per process
    if _ONES is None:
        _ONES = [_encode_positions((p,)) for p in range(ONES)]
    return _ONES


def _entry(levels: tuple[str, str, str]) -> tuple[str, bytes, bytes, bytes]:
    """A word table entry: the exact form, then the three levels' terms as bytes.

    >>> _entry(("الغارات", "غار", "")) == ("الغارات", "الغارات".encode(), "غار".encode(), b"")
    True
    """
    exact, stem, root = levels
    return exact, exact.encode(), stem.encode(), root.encode()


def _levels_of(surfaces: list[str]) -> list[tuple[str, bytes, bytes, bytes]]:
    words = _WORDS
    levels = list(map(words.get, surfaces))
    if None in levels:
        for i, found in enumerate(levels):
            if found is None:
                surface = surfaces[i]
                lv = words.get(surface)
                if lv is None:
                    if len(words) >= _WORDS_MAX:
                        words.clear()
                    lv = words[surface] = _entry(_levels(surface))
                levels[i] = lv
    return levels


def _counts(terms: Iterable[bytes]) -> Postings:
    c = Counter(terms)
    c.pop(b"", None)  # a stopword: no stem, no root
    return Postings(list(c), list(c.values()), None)


def analyze_text(text: str) -> TextAnalysis:
    """Tokens, normalized forms and the postings of ``text`` (see :func:`text_postings`).

    >>> a = analyze_text("انسحبت القوات من الرقّة")
    >>> a.norms, a.tokens[3]
    (['انسحبت', 'القوات', 'من', 'الرقه'], Token(text='الرقّة', start=17, end=23))
    """
    parts = _SPLIT_RE.split(text)
    surfaces = parts[1::2]
    bounds = list(accumulate(map(len, parts)))
    starts = bounds[0:-1:2]
    ends = bounds[1::2]
    if not surfaces:
        empty = Postings([], [], [])
        return TextAnalysis(Tokens([], [], []), [], empty, Postings([], [], None), Postings([], [], None))
    exacts, exact_terms, stems, roots = zip(*_levels_of(surfaces), strict=True)
    # Occurrences grouped by exact term with one C-level stable sort of the token indices
    # (a Python loop appending each token to its form's list cost 7x as much). UTF-8 bytes
    # sort as their code points: the terms' order is the exact forms' order.
    counts = Counter(exact_terms)
    terms = sorted(counts)
    order = sorted(range(len(exacts)), key=exact_terms.__getitem__)
    freqs = list(map(counts.__getitem__, terms))
    heads = list(accumulate(freqs, initial=0))
    if terms[0] == b"":  # no exact form (cannot happen for a token with a letter; kept safe)
        del terms[0], freqs[0], heads[0]
    firsts = list(map(order.__getitem__, heads[: len(freqs)]))
    # Every value as if its word occurred once (a table lookup by position, no Python-level
    # work per posting); then the words that occur more often are encoded again, whole.
    if len(exacts) <= ONES:
        values = list(map(_ones().__getitem__, firsts))
    else:  # positions past the table's
        values = [_encode_positions((p,)) for p in firsts]
    for k in compress(range(len(freqs)), map((1).__lt__, freqs)):
        h = heads[k]
        values[k] = _encode_positions(order[h : h + freqs[k]])
    return TextAnalysis(
        Tokens(surfaces, starts, ends),
        list(exacts),
        # A token's position is its index: ``order`` holds them grouped by term already.
        Postings(terms, freqs, values, order[heads[0] :] if heads[0] else order),
        _counts(stems),
        _counts(roots),
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
    _WORDS.update(zip(words, map(_entry, levels), strict=True))


def known_words() -> set[str]:
    """The surface forms this process has analyzed already."""
    return set(_WORDS)


def text_postings(text: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Posting tuples of ``text`` for its exact, stem and root fields.

    Exact: positions (phrases), stopwords kept.
    Stem and root: frequencies, stopwords dropped; positions count every word.

    >>> exact, stem, root_ = text_postings("قصف الغارات والغارات")
    >>> sorted(f for _, f, _, _ in stem)  # الغارات and والغارات share one stem
    [1, 2]
    """
    a = analyze_text(text)
    return list(a.exact), list(a.stem), list(a.root)
