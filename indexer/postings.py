"""Fused analysis for indexing: one tokenization feeds all three levels of a text.

Running the three Whoosh field analyzers tokenizes and maps every word three
times, and Whoosh's ``Format.word_values`` loops over the tokens again per field.
Here each text is tokenized once, each distinct surface form is analyzed once per
process (``_levels``, memoized: news vocabulary is Zipfian), and the posting
tuples Whoosh's writer takes — ``(term bytes, frequency, weight, encoded value)`` —
are built directly, with each term as its number in the process's numbering of its
level (``Terms``): the bulk writer files the numbers, and a term's bytes are looked up
only when read. ``tests/test_postings.py`` checks that the result equals what the
fields' own analyzers and formats produce.
"""

from __future__ import annotations

import pickle
import struct
import threading
import zlib
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from whoosh.formats import Positions
from whoosh.system import pack_uint

from analyzers.normalize import normalize
from analyzers.roots import root_level
from analyzers.stem import light_stem
from analyzers.stopwords import is_normalized_stopword
from analyzers.tagger import name_forms
from analyzers.tokenize import TOKEN_RE, Tokens, tokens_of

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


# callers keep their own table (the word table, _Numbering.words)
_levels = lru_cache(maxsize=4096)(_analyze_word)


class Terms:
    """One level's terms numbered in this process: ``id_of`` gives a term bytes its number
    (a new term the next one), ``terms[i]`` the bytes of number ``i``.

    The word table keeps each word's numbers beside its forms, so a text's postings are
    made and counted as numbers (numpy), and the bulk writer files them under the same
    numbers, without a dictionary lookup of each posting's bytes.

    >>> t = Terms(); t.id_of("قصف".encode()), t.id_of("حلب".encode()), t.id_of("قصف".encode())
    (0, 1, 0)
    >>> t.terms[1].decode()
    'حلب'
    """

    __slots__ = ("_lock", "ids", "terms")

    def __init__(self) -> None:
        self.ids: dict[bytes, int] = {}
        self.terms: list[bytes] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.terms)

    def id_of(self, term: bytes) -> int:
        """The number of ``term``, numbered now if it has none."""
        i = self.ids.get(term)
        if i is None:
            with self._lock:  # a threaded caller must not give two terms one number
                i = self.ids.get(term)
                if i is None:
                    # the bytes first: a reader without the lock never sees a number without them
                    i = len(self.terms)
                    self.terms.append(term)
                    self.ids[term] = i
        return i


LEVELS = ("exact", "stem", "root")
_TERMS_MAX = 3_000_000  # terms of the three levels together (~100 bytes each)


class _Numbering:
    """The numbering of each level's terms in this process (``levels``) and the word table
    whose entries hold those numbers (``words``).

    Surface form → (exact form, the numbers of its exact, stem and root terms and the exact
    form's CRC-32 packed as four 32-bit integers, its forms that begin a name): ``_levels``
    without lru_cache's per-call overhead, each term numbered once per word, and one lookup
    per token gives all a text's analysis needs (the tagger's own table of name forms is as
    large, and a lookup in a table that size is a cache miss, ~0.3 µs).

    Replaced whole, by one assignment (:func:`trim`), once the levels hold more than
    ``_TERMS_MAX`` terms: a text analyzed meanwhile by another thread goes on with the old
    one throughout, a bulk writer's field keeps the numbering it started with, and a
    :class:`Postings` of another numbering is filed by its terms' bytes.
    """

    __slots__ = ("levels", "words")

    def __init__(self) -> None:
        self.levels: dict[str, Terms] = {level: Terms() for level in LEVELS}
        self.words: dict[str, tuple[str, bytes, tuple]] = {}

    def size(self) -> int:
        """Terms numbered in the three levels."""
        return sum(map(len, self.levels.values()))


_NOW = _Numbering()


def level_terms(field: str) -> Terms | None:
    """The numbering of a text field's level (``body_stem`` → the stem level's), or None.

    >>> level_terms("title_root") is level_terms("body_root"), level_terms("place")
    (True, None)
    """
    level = field.rpartition("_")[2]
    return _NOW.levels.get(level) if field.startswith(("title_", "body_")) else None


class Postings:
    """One field's postings of one text, as columns: term bytes, frequencies and value bytes
    (``None`` for frequency-only fields, whose value is ``pack_uint(freq)``), and for a
    positional field its positions, term after term (each term's ``freq`` of them). Iterating
    gives Whoosh's posting tuples ``(term bytes, freq, weight, value bytes)``; the bulk writer
    (``indexer.segments``) takes the columns as they are. Made by :func:`analyze_text`, the
    terms are numbers of a level's :class:`Terms` (``ids``, ``space``) and their bytes are
    looked up only when read.

    >>> list(Postings([b"x"], [2], None))
    [(b'x', 2, 2.0, b'\\x00\\x00\\x00\\x02')]
    """

    __slots__ = ("_terms", "freqs", "ids", "positions", "space", "values")

    def __init__(
        self,
        terms: list[bytes] | None,
        freqs: list[int] | np.ndarray,
        values: list[bytes] | None,
        positions: list[int] | np.ndarray | None = None,
        *,
        ids: np.ndarray | None = None,
        space: Terms | None = None,
    ) -> None:
        self._terms = terms
        self.freqs = freqs
        self.values = values
        self.positions = positions
        self.ids = ids
        self.space = space

    @property
    def terms(self) -> list[bytes]:
        """The terms' bytes."""
        if self._terms is None:
            self._terms = list(map(self.space.terms.__getitem__, self.ids.tolist()))
        return self._terms

    def __len__(self) -> int:
        return len(self.freqs)

    def __iter__(self):
        freqs = self.freqs.tolist() if isinstance(self.freqs, np.ndarray) else self.freqs
        values = self.values if self.values is not None else map(pack_uint, freqs)
        return zip(self.terms, freqs, map(float, freqs), values, strict=False)


class TextAnalysis(NamedTuple):
    """One text analyzed once: its tokens, normalized forms and each token's forms that begin
    a place or group name (what ``analyzers.tagger.tag`` reads), and the postings of its
    exact, stem and root fields."""

    tokens: Tokens
    norms: list[str]
    exact: Postings
    stem: Postings
    root: Postings
    forms: list[tuple]
    hashes: np.ndarray  # each normalized form's CRC-32 (of its UTF-8): story-grouping shingles


# Entries of the word table (_Numbering.words), which is cleared (not evicted) when full:
# ~300 MB at most, besides the numbering's terms (up to _TERMS_MAX).
_WORDS_MAX = 1_000_000


ONES = 65536  # positions whose single-occurrence value is kept in a table
_ONES: list[bytes] | None = None  # the value of one occurrence at p < ONES, made on first use


def _ones() -> list[bytes]:
    """The table of single-occurrence values, made whole before it is published (a thread
    that races another builds its own copy; none sees a half-made or doubled table)."""
    global _ONES  # noqa: PLW0603 - a table made once per process
    if _ONES is None:
        _ONES = [_encode_positions((p,)) for p in range(ONES)]
    return _ONES


def _details(levels: tuple[str, str, str]) -> tuple[str, str, str, int, tuple]:
    """A word's levels with what else the word table keeps of it: the exact form's CRC-32
    (``indexer.dedupe.word_hashes``) and its name-starting forms (``analyzers.tagger``).

    >>> d = _details(("وبالرقه", "رقه", "رقه"))
    >>> d[3] == zlib.crc32("وبالرقه".encode()), d[4]
    (True, (('الرقه', 2),))
    """
    exact = levels[0]
    return (*levels, zlib.crc32(exact.encode()), name_forms(exact))


def _entry(details: tuple[str, str, str, int, tuple], levels: dict[str, Terms]) -> tuple[str, bytes, tuple]:
    """A word table entry (of :func:`_details`): the exact form; the numbers of the three
    levels' terms in ``levels`` (-1: none, a stopword's stem and root) and the CRC-32,
    packed as four 32-bit numbers; the name-starting forms.

    >>> levels = _Numbering().levels
    >>> e = _entry(_details(("الغارات", "غار", "")), levels)
    >>> ids = np.frombuffer(e[1], dtype=np.int32)
    >>> e[0], levels["stem"].terms[ids[1]].decode(), int(ids[2]), e[2]
    ('الغارات', 'غار', -1, ())
    """
    exact, stem, root, crc, forms = details
    ids = (
        levels["exact"].id_of(exact.encode()) if exact else -1,
        levels["stem"].id_of(stem.encode()) if stem else -1,
        levels["root"].id_of(root.encode()) if root else -1,
    )
    return exact, _PACKED.pack(*ids, crc), forms


_PACKED = struct.Struct("=3iI")  # an entry's numbers: exact, stem, root, CRC-32


def _levels_of(surfaces: list[str], now: _Numbering) -> list[tuple[str, bytes, tuple]]:
    words = now.words
    levels = list(map(words.get, surfaces))
    if None in levels:
        for i, found in enumerate(levels):
            if found is None:
                surface = surfaces[i]
                lv = words.get(surface)
                if lv is None:
                    if len(words) >= _WORDS_MAX:
                        words.clear()
                    lv = words[surface] = _entry(_details(_levels(surface)), now.levels)
                levels[i] = lv
    return levels


def trim() -> _Numbering:
    """The numbering to go on with: this process's, or a new one (with an empty word table)
    when it has grown past ``_TERMS_MAX``. Every text's analysis asks; a build asks between
    two segments too, so that the renumbering mostly falls between two batches."""
    global _NOW  # noqa: PLW0603 - one numbering per process, replaced whole
    if _NOW.size() > _TERMS_MAX:
        _NOW = _Numbering()
    return _NOW


def _runs(grouped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each run of equal numbers in ``grouped`` (sorted) starts, and its length.

    >>> [x.tolist() for x in _runs(np.array([2, 2, 5, 7, 7, 7]))]
    [[0, 2, 3], [2, 1, 3]]
    """
    n = len(grouped)
    edge = np.empty(n + 1, dtype=bool)  # (filled in place: 1.6 µs a call, not 2.9)
    edge[0] = edge[n] = True
    np.not_equal(grouped[1:], grouped[:-1], out=edge[1:n])
    edges = edge.nonzero()[0]
    return edges[:-1], edges[1:] - edges[:-1]


def _counts(ids: np.ndarray, space: Terms) -> Postings:
    """A frequency level's postings: each number's count, without the stopwords' -1."""
    grouped = np.sort(ids)
    heads, freqs = _runs(grouped)
    found = grouped[heads]
    if found[0] < 0:  # a stopword: no stem, no root
        found, freqs = found[1:], freqs[1:]
    return Postings(None, freqs, None, ids=found, space=space)


def analyze_text(text: str) -> TextAnalysis:
    """Tokens, normalized forms and the postings of ``text`` (see :func:`text_postings`).

    >>> a = analyze_text("انسحبت القوات من الرقّة")
    >>> a.norms, a.tokens[3]
    (['انسحبت', 'القوات', 'من', 'الرقه'], Token(text='الرقّة', start=17, end=23))
    """
    now = trim()  # one numbering for the whole text
    tokens = tokens_of(text)
    surfaces = tokens.surfaces
    levels = now.levels
    if not surfaces:
        exact, stem, root = levels["exact"], levels["stem"], levels["root"]
        none = np.zeros(0, dtype=np.int32)
        return TextAnalysis(
            tokens,
            [],
            Postings(None, none, [], none, ids=none, space=exact),
            Postings(None, none, None, ids=none, space=stem),
            Postings(None, none, None, ids=none, space=root),
            [],
            np.zeros(0, dtype=np.uint32),
        )
    exacts, packed, forms = zip(*_levels_of(surfaces, now), strict=True)
    ids = np.frombuffer(b"".join(packed), dtype=np.int32).reshape(-1, 4)
    # Occurrences grouped by exact term with one stable sort of the token numbers: a
    # token's position is its index, so ``order`` lists each term's positions in turn.
    order = np.argsort(ids[:, 0], kind="stable")
    grouped = ids[order, 0]
    heads, freqs = _runs(grouped)
    terms = grouped[heads]
    if terms[0] < 0:  # no exact form (cannot happen for a token with a letter; kept safe)
        order = order[freqs[0] :]
        heads, freqs, terms = heads[1:] - freqs[0], freqs[1:], terms[1:]
    firsts = order[heads].tolist()
    # Every value as if its word occurred once (a table lookup by position, no Python-level
    # work per posting); then the words that occur more often are encoded again, whole.
    if len(exacts) <= ONES:
        values = list(map(_ones().__getitem__, firsts))
    else:  # positions past the table's
        values = [_encode_positions((p,)) for p in firsts]
    more = np.flatnonzero(freqs > 1)
    if len(more):
        # Positions.encode's bytes (the count, then the pickled deltas from 0) with the deltas
        # of every term made at once: its Python loop over positions cost 1.6 µs a term.
        deltas = order.copy()
        deltas[1:] -= order[:-1]
        deltas[heads] = order[heads]
        dl = deltas.tolist()
        for k, h, f in zip(more.tolist(), heads[more].tolist(), freqs[more].tolist(), strict=True):
            values[k] = pack_uint(f) + pickle.dumps(dl[h : h + f], 2)
    return TextAnalysis(
        tokens,
        list(exacts),
        Postings(None, freqs, values, order, ids=terms, space=levels["exact"]),
        _counts(ids[:, 1], levels["stem"]),
        _counts(ids[:, 2], levels["root"]),
        list(forms),
        ids[:, 3].view(np.uint32),
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


def word_levels(words: list[str]) -> list[tuple[str, str, str, int, tuple]]:
    """``(exact, stem, root)`` of each surface form (:func:`_levels`) and the rest of its
    :func:`_details`, for :func:`learn_words` (which only numbers the terms: the build's main
    process learns every new word, its processes analyze them).

    >>> word_levels(["وبالغارات", "من"])[1][:3]
    ('من', '', '')
    """
    # New words, each analyzed once: _levels' small cache would only cost a lookup.
    return [_details(_analyze_word(w)) for w in words]


def _stem_key(word: str) -> str:
    """What words of one stem mostly share: the first three letters after a glued و/ف,
    preposition and article (a crude cut, only for :func:`share_words`).

    >>> _stem_key("وبالغارات"), _stem_key("غارة"), _stem_key("بلد")
    ('غار', 'غار', 'بلد')
    """
    k = word.lstrip("وف")
    if len(k) > 4:
        k = k.lstrip("بلك")
    if len(k) > 4 and k.startswith("ال"):
        k = k[2:]
    return k[:3]


def share_words(words: list[str], parts: int) -> list[list[str]]:
    """``words`` cut into ``parts`` lists of about equal length for the build's processes,
    keeping words that likely share a stem (:func:`_stem_key`) in one list: each process's
    cache of stem readings (``analyzers.roots``) then serves them, where interleaving the
    words had every process read most stems (measured on ANT's 230,692 new words: 344k stem
    readings instead of 440k, 8.0 CPU-s instead of 10.0).

    >>> [len(p) for p in share_words(["غارة", "الغارات", "بلد", "وبلدة", "حلب"], 2)]
    [3, 2]
    """
    buckets: dict[int, list[str]] = {}
    for w in words:
        buckets.setdefault(zlib.crc32(_stem_key(w).encode()) % 1024, []).append(w)
    out: list[list[str]] = [[] for _ in range(parts)]
    for bucket in sorted(buckets.values(), key=len, reverse=True):  # the largest first
        min(out, key=len).extend(bucket)
    return out


def learn_words(words: list[str], levels: list[tuple[str, str, str, int, tuple]]) -> None:
    """Put words analyzed elsewhere (another process: the build splits a batch's new words
    between its workers) into this process's word table."""
    now = trim()
    if len(now.words) + len(words) > _WORDS_MAX:
        now.words.clear()
    now.words.update(zip(words, (_entry(d, now.levels) for d in levels), strict=True))


def known_words() -> set[str]:
    """The surface forms this process has analyzed already."""
    return set(_NOW.words)


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
