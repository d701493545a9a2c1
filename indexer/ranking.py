"""Evaluate and rank compiled queries with numpy, term at a time.

Whoosh stays the index: its readers give the posting lists, field lengths and
columns through their public API. Scoring, however, happens here: each term's
postings are decoded once into two arrays (document numbers, term frequencies)
and kept in a bounded cache, and a query is evaluated as whole-collection
vectors — a boolean *matched* mask and a float *score* — so an OR of sixty
terms costs sixty vector additions instead of a Python loop per posting.
The same masks give the total and the facets, so they always agree with the
ranked hits.

The mask has two rows: row 0 is the *default* set (a word matched at its exact or stem
level, a name, a phrase), row 1 the set *broadened to the root level* (a word's root
terms match too). A :class:`WordQuery` says which of its levels define the default row;
its other levels (roots) add score and the broad row only. One evaluation thus gives the
default set, its scores (root evidence included), and how many more documents the root
level would add ("broaden to the root: +N").

Semantics follow Whoosh's (a test checks the scores against Whoosh's own when
Whoosh's IDF is chosen): ``Or`` sums the scores of the children that match,
``And`` sums and requires all, ``AndNot`` keeps the left side's score,
``ConstantScoreQuery`` gives its constant, ``AndMaybe`` matches its left side and adds
the right side's score where it matches, a ``Phrase`` scores as the sum of its
words' scores in the documents where the words are consecutive, and anything
else (dates, ``Every``) only filters.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import threading
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from whoosh import query as Q
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from indexer import arrays, termstore

DF_MEMO = 100_000  # document frequencies remembered per open index (a few MB at most)
POSITION_BITS = 20  # phrase keys: document number << 20 | position (longer documents: tail unmatched)


@dataclass(frozen=True)
class BM25:
    """Parameters of the per-field BM25 (``idf`` ``"lucene"`` or ``"whoosh"``)."""

    K1: float = 1.2
    B: float = 0.75
    field_B: tuple[tuple[str, float], ...] = ()
    idf: str = "lucene"
    fusion: str = "fields"  # "fields" (BM25F, see WordQuery) or "sum" (Whoosh's: every field apart)

    def b_of(self, fieldname: str) -> float:
        return dict(self.field_B).get(fieldname, self.B)


class WordQuery(Q.AndMaybe):
    """One query word's terms, with what each term stands for.

    To Whoosh it is ``AndMaybe(Or(default-level terms), Or(other terms))``: the word
    matches at its default levels (``strict``: exact and stem for a plain word) and the
    other levels (the root) only add to the score, so Whoosh's own matching gives the
    default set. The ranking engine also marks the other levels' documents in the broad
    row (see the module docstring).

    ``spec`` holds ``(fieldname, form, level, field_weight, level_weight)``, one per term
    in ``terms``. Under ``fusion="fields"`` (BM25F) each level's title and body
    frequencies, each normalized by its field's length and times the field's weight, are
    added *before* BM25's saturation: a word in the title counts as ``title`` extra
    occurrences rather than as a second, independently saturated match with its own
    (short-field) IDF. A level with several forms (a word and its broken plural) pools
    them as one term. The level's score is ``level_weight * idf * t * (K1 + 1) / (t + K1)``,
    with the IDF of the level's most frequent form.
    """

    def __init__(
        self,
        terms: list[Q.Term],
        spec: list[tuple[str, str, str, float, float]],
        strict: frozenset[str] | set[str] | tuple[str, ...],
    ) -> None:
        strict = frozenset(strict)
        inner = [t for t, sp in zip(terms, spec, strict=True) if sp[2] in strict]
        outer = [t for t, sp in zip(terms, spec, strict=True) if sp[2] not in strict]
        super().__init__(Q.Or(inner) if inner else Q.NullQuery, Q.Or(outer) if outer else Q.NullQuery)
        self.terms = terms
        self.spec = spec
        self.strict = strict


class CliticPhrase(Q.Or):
    """A phrase whose first word may carry a conjunction or preposition, and whose
    neighbouring words may be written joined: to Whoosh the ``Or`` of its written forms
    (``Phrase`` objects, or a ``Term`` for a one-token form). The engine evaluates only
    the forms whose every word is in the index, and scores a document once."""

    def __init__(self, forms: list[Q.Query]) -> None:
        super().__init__(forms)
        self.forms = forms


def cache_budget() -> int:
    """Bytes of decoded postings one open index may keep in this process.

    ``KASHAF_ENGINE_CACHE_MB`` if set, else 1/512 of the machine's memory, at most 48 MB
    (24 GiB: 48 MB). Every gunicorn worker has its own cache, so it stays small: the
    posting files themselves are shared between workers through the OS page cache, and
    decoding a block of them whole costs little (see :func:`read_postings`).
    """
    env = os.environ.get("KASHAF_ENGINE_CACHE_MB")
    if env:
        return max(0, int(float(env) * 2**20))
    try:
        phys = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        phys = 8 * 2**30
    return min(48 * 2**20, phys // 512)


# Whoosh stores a field's length in one byte (approximately): the lengths it stands for.
LENGTH_OF_BYTE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)


def _slow_postings(leaf, fieldname: str, text: str, values: bool):
    """Postings through Whoosh's matcher (a posting at a time): for codecs other than W3."""
    m = leaf.postings(fieldname, text)
    ids: list[int] = []
    tfs: list[float] = []
    vals: list = []
    while m.is_active():
        ids.append(m.id())
        tfs.append(m.weight())
        if values:
            vals.append(m.value())
        m.next()
    return np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float32), vals


def read_postings(leaf, fieldname: str, text: str, values: bool = False, only: np.ndarray | None = None):
    """``(ids, weights, values)`` of a term in one segment, read a block at a time.

    Whoosh's W3 codec writes a posting list as blocks of up to 128 postings, each a
    pickled, zlib-compressed tuple (delta-coded ids, weights, encoded values). Its
    matcher hands them out one posting at a time (about 1 µs each in Python); here each
    block is decompressed and unpickled whole and the ids are undeltaed with one numpy
    ``cumsum`` over the whole list: about 20 times faster. ``values`` (positions) are
    returned only on request. Deleted documents are included (the caller masks them).
    With ``only`` (sorted document numbers of the segment), a block holding none of them
    is skipped undecoded (its header gives its last id): a phrase reads the positions of
    its candidate documents only. Raises ``KeyError`` when the segment lacks the term.

    >>> import tempfile
    >>> from whoosh import fields, index
    >>> ix = index.create_in(tempfile.mkdtemp(), fields.Schema(t=fields.TEXT))
    >>> w = ix.writer()
    >>> for text in ("قصف الرقة", "الرقة", "حلب", "قصف الرقة الرقة"):
    ...     w.add_document(t=text)
    >>> w.commit()
    >>> ids, tf, _ = read_postings(ix.reader(), "t", "الرقة")
    >>> ids.tolist(), tf.tolist()
    ([0, 1, 3], [1.0, 1.0, 2.0])
    """
    try:
        ti = leaf.term_info(fieldname, text)
    except TermNotFound:
        raise KeyError((fieldname, text)) from None
    return postings_of(leaf, fieldname, text, ti, values, only)


def postings_of(  # noqa: PLR0917 - read_postings's arguments and the term info it found
    leaf, fieldname: str, text: str, ti, values: bool = False, only: np.ndarray | None = None
):
    """:func:`read_postings` of a term whose info ``ti`` was found already (a whole field's
    terms are decoded from ``leaf.iter_field`` without a lookup each)."""
    try:
        return _decode_blocks(leaf, ti, values, only)
    except _NotW3:
        return _slow_postings(leaf, fieldname, text, values)


class _NotW3(Exception):
    """A posting list not in the W3 codec's block layout (read through Whoosh's matcher)."""


def _decode_blocks(leaf, ti, values: bool, only: np.ndarray | None):
    """The W3 blocks of a term's list, decoded whole (:func:`read_postings`); raises
    :class:`_NotW3` for another layout."""
    if ti.is_inlined():
        ids, weights, vals = ti.inlined_postings()
        return np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float32), list(vals)
    try:
        postfile = leaf._terms._postfile  # W3TermsReader (Whoosh-Reloaded 2.7.5, pinned)
        offset, length = ti.extent()
    except AttributeError:
        raise _NotW3 from None
    if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps struct.unpack's tuple
        length = length[0]
    buf = postfile.get(offset, length)
    if buf[:4] != WHOOSH3_HEADER_MAGIC:
        raise _NotW3
    f = io.BytesIO(buf)
    pos = 4
    deltas: list[int] = []
    weights: list[float] = []
    vals: list = []
    starts: list[int] = []
    lasts: list[int] = []
    before = -1  # the last id of the block before this one
    while True:
        blen = int.from_bytes(buf[pos : pos + 4], "big", signed=True)
        pos += 4
        end = pos + abs(blen)
        f.seek(pos)
        count, last, _maxw, comp, _mn, _mx = pickle.load(f)
        if only is not None:
            j = int(np.searchsorted(only, before, side="right"))
            before = last
            if j >= len(only) or only[j] > last:  # none of ``only`` in this block
                pos = end
                if blen < 0 or pos >= len(buf):
                    break
                continue
        data = buf[f.tell() : end]
        ids_d, w, v = pickle.loads(zlib.decompress(data) if comp else data)
        starts.append(len(deltas))
        lasts.append(last)
        deltas.extend(ids_d)
        if w is None:
            weights.extend([1.0] * count)
        elif isinstance(w, float):
            weights.extend([w] * count)
        else:
            weights.extend(w)
        if values:
            vals.extend(v if isinstance(v, tuple) else (None,) * count)
        pos = end
        if blen < 0 or pos >= len(buf):
            break
    if not deltas:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32), vals
    d = np.array(deltas, dtype=np.int64)
    # Each block's first id is absolute: make it a delta from the previous block's last.
    if len(starts) > 1:
        d[np.array(starts[1:], dtype=np.int64)] -= np.array(lasts[:-1], dtype=np.int64)
    return np.cumsum(d), np.array(weights, dtype=np.float32), vals


def _levels(q: WordQuery) -> dict[str, list[tuple[str, str, str, float, float]]]:
    """A word's specs grouped by level, in the order the word lists them."""
    levels: dict[str, list] = {}
    for spec in q.spec:
        levels.setdefault(spec[2], []).append(spec)
    return levels


class Corpus:
    """Per-reader arrays: live documents, field lengths, dates and a postings cache.

    What is kept per process is small: one byte per document and scored field for the
    lengths (as Whoosh stores them), eight per document for the dates, one bit for live,
    and a byte-bounded LRU cache of decoded postings (:func:`cache_budget`).
    """

    def __init__(self, reader, mapped: bool = True) -> None:
        # Weakly: the cache of corpora is keyed by the reader and must not keep it alive.
        self._reader = weakref.ref(reader)
        # The generation's memory-mapped arrays (indexer/arrays.py), shared by every process.
        self.mapped = arrays.load(reader) if mapped else None
        self.n = reader.doc_count_all()
        self._lock = threading.Lock()
        self._io = threading.Lock()  # a Whoosh file is read by seek + read: one reader at a time
        self._len8: dict[str, np.ndarray] = {}
        self._postings: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0
        self.budget = cache_budget()
        self._dates: np.ndarray | None = None
        self._dated: np.ndarray | None = None
        self._df: dict[tuple[str, str], int] = {}
        self._norms: dict[tuple[str, float], np.ndarray] = {}
        self.leaves = list(reader.leaf_readers())
        # Every list of the scored fields, decoded by the build, with its term table.
        self.terms: termstore.TermTable | None = None
        if self.mapped is not None:
            self.live = self.mapped.array("live")
            self.terms = self.mapped.terms()
            return
        live = np.ones(self.n, dtype=bool)
        if reader.has_deletions():
            for leaf, base in self.leaves:
                deleted = sorted(leaf.deleted_docs_set) if leaf.has_deletions() else []
                if deleted:
                    live[base + np.array(deleted, dtype=np.int64)] = False
        self.live = live

    @property
    def reader(self):
        return self._reader()

    def _remember(self, key: tuple, found: tuple, size: int | None = None) -> None:
        if size is None:
            size = found[0].nbytes + found[1].nbytes
        with self._lock:
            if key in self._postings or size > self.budget:
                return
            self._postings[key] = found
            self._cached += size
            while self._cached > self.budget and len(self._postings) > 1:
                _, (a, b) = self._postings.popitem(last=False)
                self._cached -= a.nbytes + b.nbytes

    def _mapped(self, fieldname: str) -> bool:
        """Whether a field's lists are read from the build's decoded arrays (no lookup in any
        segment's term table, no block to decode)."""
        return self.terms is not None and fieldname in termstore.CODE

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """The reader's document frequency of a term (deleted documents counted, as Whoosh
        does). From the term table where it has the field; else remembered, since a
        multi-segment reader asks every segment's term table each time."""
        if self._mapped(fieldname):
            return sum(self.terms.entries(fieldname, text)[2])
        key = (fieldname, text)
        found = self._df.get(key)
        if found is None:
            found = self.reader.doc_frequency(fieldname, text)
            if len(self._df) >= DF_MEMO:  # bounded: a worker serves any number of queries
                self._df.clear()
            self._df[key] = found
        return found

    def _cached_get(self, key: tuple):
        with self._lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
            return found

    def _leaves_of(self, fieldname: str, text: str) -> list[int]:
        """The leaves whose segment may hold a term: those the term table names, else all."""
        if self._mapped(fieldname):
            return self.terms.entries(fieldname, text)[0]
        return list(range(len(self.leaves)))

    def _read(self, fieldname: str, text: str, values: bool):
        """Every segment's postings of a term decoded from Whoosh's blocks, as global document
        numbers: a list of ``(segment, ids, frequencies, values)``."""
        parts = []
        for i in self._leaves_of(fieldname, text):
            leaf, base = self.leaves[i]
            try:
                with self._io:
                    ids, tf, vals = read_postings(leaf, fieldname, text, values)
            except KeyError:
                continue
            parts.append((i, ids + base if base else ids, tf, vals))
        return parts

    def _assemble(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's list from the decoded arrays: each segment's part, made collection-wide,
        copied once into the two arrays returned."""
        return self._gather(fieldname, *self.terms.entries(fieldname, text))

    def _gather(self, fieldname: str, segs: list[int], starts: list[int], counts: list[int]):
        """:meth:`_assemble` of a term whose table entries were read already."""
        # Pointer-sized: every gather and scatter over the collection's vectors would convert
        # 32-bit ids first (a copy per use: numpy indexes with intp).
        ids = np.empty(sum(counts), dtype=np.intp)
        tf = np.empty(len(ids), dtype=np.float32)
        at = 0
        for seg, start, count in zip(segs, starts, counts, strict=True):
            seg_ids, seg_tf = self.terms.lists(seg, fieldname)
            base = self.leaves[seg][1]
            np.add(seg_ids[start : start + count], base, out=ids[at : at + count])
            tf[at : at + count] = seg_tf[start : start + count]
            at += count
        return ids, tf

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, term frequencies) of a term; empty arrays if absent.

        A scored field's list is a copy out of the build's decoded arrays (shared through
        the page cache), not cached here; other lists are decoded from Whoosh's blocks into
        a cache bounded in bytes (:meth:`_remember`)."""
        if self._mapped(fieldname):
            return self._assemble(fieldname, text)
        key = (fieldname, text)
        found = self._cached_get(key)
        if found is not None:
            return found
        parts = self._read(fieldname, text, False) if self.doc_frequency(fieldname, text) else []
        if not parts:
            found = (np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32))
        else:
            found = (
                np.concatenate([p[1] for p in parts]).astype(np.int32),
                np.concatenate([p[2] for p in parts]),
            )
        self._remember(key, found)
        return found

    def postings_within(
        self, fieldname: str, text: str, docs: np.ndarray, marked: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """A scored field's postings of a term in the documents ``docs`` (sorted, 64-bit)
        only: each segment's part is searched for them rather than copied whole; or, where
        the candidates are many (``marked``: ``docs`` as a mask over the collection), the
        whole list is copied and each posting looked up in the mask."""
        segs, starts, counts = self.terms.entries(fieldname, text)
        if marked is not None and len(docs) * WITHIN_SEARCH >= sum(counts):
            # Many candidates: the whole list, each posting looked up in the mask (a gather of
            # bytes), costs less than the searches and needs no Python per segment.
            ids, tf = self._gather(fieldname, segs, starts, counts)
            keep = marked[ids]
            return ids[keep], tf[keep]
        id_parts, tf_parts = [], []
        for seg, start, count in zip(segs, starts, counts, strict=True):
            leaf, base = self.leaves[seg]
            lo, hi = np.searchsorted(docs, (base, base + leaf.doc_count_all()))
            if lo == hi:
                continue
            seg_ids, seg_tf = self.terms.lists(seg, fieldname)
            part = seg_ids[start : start + count]
            at = _members(part, docs[lo:hi] - base)
            id_parts.append(part[at].astype(np.intp) + base)
            tf_parts.append(seg_tf[start : start + count][at].astype(np.float32))
        if not id_parts:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32)
        return np.concatenate(id_parts), np.concatenate(tf_parts)

    def read_ids(self, fieldname: str, text: str) -> np.ndarray:
        """A term's document numbers (32-bit), decoded now and not cached (facets keep their own)."""
        if self._mapped(fieldname):
            return self._assemble(fieldname, text)[0]
        parts = self._read(fieldname, text, False)
        if not parts:
            return np.empty(0, dtype=np.int32)
        return np.concatenate([p[1] for p in parts]).astype(np.int32)

    def _positional(self, fieldname: str) -> bool:
        """Whether a field's positions are read from the build's arrays (not Whoosh's blocks)."""
        return self.terms is not None and fieldname in termstore.POSITIONAL

    def positions(self, fieldname: str, text: str) -> np.ndarray:
        """A term's occurrences as sorted keys ``document number << 20 | position`` (phrases
        are matched on them with numpy); empty if absent. Decoded from Whoosh's blocks (a
        field without the build's positions) they are cached with the postings."""
        if self._positional(fieldname):
            return self._mapped_keys(fieldname, text, None)
        key = ("\0pos", fieldname, text)
        found = self._cached_get(key)
        if found is not None:
            return found[0]
        keys: list[int] = []
        if self.doc_frequency(fieldname, text):
            for _seg, ids, _tf, vals in self._read(fieldname, text, True):
                for docnum, value in zip(ids.tolist(), vals, strict=True):
                    if value is None:
                        continue
                    base = docnum << POSITION_BITS
                    keys.extend(base | p for p in termstore.value_positions(value) if p < 1 << POSITION_BITS)
        arr = np.array(keys, dtype=np.int64)
        self._remember(key, (arr, arr[:0]))
        return arr

    def _mapped_keys(self, fieldname: str, text: str, cand: np.ndarray | None) -> np.ndarray:
        """:meth:`phrase_keys` from the build's positions: per segment, the term's postings at
        the candidates (all, for ``None``) and their runs of positions, gathered at once
        (:meth:`~indexer.termstore.TermTable.keys_at`)."""
        parts = []
        for seg, start, count in zip(*self.terms.entries(fieldname, text), strict=True):
            leaf, base = self.leaves[seg]
            seg_ids = self.terms.lists(seg, fieldname)[0]
            if cand is None:
                at = np.arange(count)
            else:
                lo, hi = np.searchsorted(cand, (base, base + leaf.doc_count_all()))
                if lo == hi:
                    continue
                at = _members(seg_ids[start : start + count], cand[lo:hi] - base)
                if not len(at):
                    continue
            at = at.astype(np.int64) + start  # indexes into the segment's field arrays
            lens, pos = self.terms.keys_at(seg, fieldname, at)
            docs = seg_ids[at].astype(np.int64) + base
            keys = np.repeat(docs, lens) << POSITION_BITS | pos.astype(np.int64)
            parts.append(keys[pos < 1 << POSITION_BITS])
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def read_within(
        self, fieldname: str, text: str, cand: np.ndarray, values: bool
    ) -> Iterator[tuple[np.ndarray, np.ndarray, object, np.ndarray]]:
        """Per segment, a term's postings read only in the blocks that hold one of ``cand``
        (sorted collection-wide document numbers): (ids made collection-wide, frequencies,
        values or None, the mask of ids that are in ``cand``)."""
        for i in self._leaves_of(fieldname, text):
            leaf, base = self.leaves[i]
            local = cand[(cand >= base) & (cand < base + leaf.doc_count_all())] - base
            if not len(local):
                continue
            try:
                with self._io:
                    ids, tf, vals = read_postings(leaf, fieldname, text, values, local)
            except KeyError:
                continue
            yield ids + base, tf, vals, np.isin(ids, local, assume_unique=True)

    def phrase_keys(self, fieldname: str, text: str, cand: np.ndarray) -> np.ndarray:
        """Position keys (``document << 20 | position``, sorted) of a term in the documents
        ``cand`` (sorted document numbers) only: from the build's positions where it wrote
        them, else from Whoosh's blocks (those without a candidate are not decoded)."""
        if self._positional(fieldname):
            return self._mapped_keys(fieldname, text, cand)
        keys: list[int] = []
        for ids, _tf, vals, wanted in self.read_within(fieldname, text, cand, True):
            for docnum, value in zip(
                ids[wanted].tolist(), np.asarray(vals, dtype=object)[wanted], strict=True
            ):
                if value is None:
                    continue
                start = docnum << POSITION_BITS
                keys.extend(start | p for p in termstore.value_positions(value) if p < 1 << POSITION_BITS)
        return np.array(sorted(keys), dtype=np.int64)

    def phrase_docs(self, fieldname: str, words: list[str]) -> np.ndarray:
        """Document numbers holding ``words`` at consecutive positions.

        Positions are read only in the documents holding every word (an intersection of
        the cached postings), and the answer is cached like a posting list."""
        key = ("\0phrase", fieldname, tuple(words))
        found = self._cached_get(key)
        if found is not None:
            return found[0]
        docs = _phrase_match(self.postings, self.phrase_keys, fieldname, words)
        self._remember(key, (docs, docs[:0]))
        return docs

    def length_bytes(self, fieldname: str) -> np.ndarray:
        """Every document's length in a field as Whoosh stores it: one byte (0: none).

        Read straight from each segment's length column (one byte per document)."""
        found = self._len8.get(fieldname)
        if found is None and self.mapped is not None:
            found = self.mapped.length_bytes(fieldname)
            if found is not None:
                self._len8[fieldname] = found
        if found is None:
            found = np.zeros(self.n, dtype=np.uint8)
            for leaf, base in self.leaves:
                col = _raw_column(leaf, _lenfield(fieldname), LENGTHS_COLUMN)
                if col is not None:
                    found[base : base + len(col)] = col
            self._len8[fieldname] = found
        return found

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in a field (as Whoosh stores it: one byte, approximate)."""
        return LENGTH_OF_BYTE[self.length_bytes(fieldname)]

    def length_norm(self, searcher: Searcher, fieldname: str, ids: np.ndarray, b: float) -> np.ndarray:
        """BM25's ``1 - b + b * length / average length`` of the documents ``ids``."""
        table = self._norms.get((fieldname, b))
        if table is None:  # the average asks every segment: once per reader
            avg = searcher.avg_field_length(fieldname) or 1.0
            table = self._norms[(fieldname, b)] = (1 - b) + b * LENGTH_OF_BYTE / avg  # per byte value
        return table[self.length_bytes(fieldname)[ids]]

    def dates(self) -> np.ndarray:
        """Each document's date as an integer (older is smaller; none is the smallest).

        Read segment by segment: a segment whose documents carry no date has no column,
        and in a column a missing date is the largest unsigned 64-bit value.
        """
        if self._dates is None and self.mapped is not None:
            self._dated = self.mapped.array("dated")
            self._dates = self.mapped.array("dates")
        if self._dates is None:
            dates = np.zeros(self.n, dtype=np.int64)
            dated = np.zeros(self.n, dtype=bool)
            for leaf, base in self.leaves:
                if not leaf.has_column("date"):
                    continue
                col = _raw_column(leaf, "date", None)
                if col is None:
                    col = np.array(
                        [
                            v if v is not None else 2**64 - 1
                            for v in leaf.column_reader("date", translate=False)
                        ],
                        dtype=np.uint64,
                    )
                has = col < np.uint64(1 << 63)
                dated[base : base + len(col)] = has
                dates[base : base + len(col)] = np.where(has, col, 0).astype(np.int64)
            self._dated = dated
            self._dates = dates
        return self._dates

    def dated(self) -> np.ndarray:
        """Which documents have a date (a date at the very first microsecond of year 1 is
        0 in :meth:`dates`, like none, but it is a date)."""
        self.dates()
        return self._dated

    def date_range(self, q: Q.NumericRange) -> np.ndarray:
        """Documents whose date is in a ``DateRange`` (what Whoosh's own matching gives)."""
        d = self.dates()
        out = np.array(self.dated(), dtype=bool)
        if q.start is not None:
            out &= (d > q.start) if q.startexcl else (d >= q.start)
        if q.end is not None:
            out &= (d < q.end) if q.endexcl else (d <= q.end)
        return out

    def mask(self, ids) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        out[np.asarray(ids, dtype=np.int64)] = True
        return out


def _members(part: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Indexes into ``part`` of its elements that are in ``want`` (both sorted, distinct):
    the shorter binary-searched in the longer.

    >>> _members(np.array([2, 5, 9, 12]), np.array([5, 6, 12])).tolist()
    [1, 3]
    """
    short, long_ = (want, part) if len(want) <= len(part) else (part, want)
    at = np.searchsorted(long_, short)
    found = at < len(long_)
    found[found] = long_[at[found]] == short[found]
    return at[found] if short is want else np.flatnonzero(found)


def _raw_column(leaf, name: str, column) -> np.ndarray | None:
    """A segment's fixed-width numeric column as a numpy array (its missing tail filled with
    the column's default), or ``None`` if the segment has no such column or stores it
    another way. ``column`` None: the schema's own column for a field."""
    try:
        if column is None:
            reader = leaf.column_reader(name, translate=False)
        else:
            perdoc = leaf._perdoc  # W3PerDocReader (pinned Whoosh)
            if not perdoc.has_column(name):
                return None
            reader = perdoc.column_reader(name, column)
        typecode, count = reader._typecode, reader._count
        raw = reader._dbfile.get(reader._basepos, count * reader._fixedlen)
        default = reader._default
    except AttributeError:
        return None
    dt = np.dtype(">" + typecode)
    out = np.full(leaf.doc_count_all(), default, dtype=dt.newbyteorder("="))
    out[:count] = np.frombuffer(raw, dtype=dt)
    return out


_corpora: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_corpora_lock = threading.Lock()


def corpus(searcher: Searcher) -> Corpus:
    """The :class:`Corpus` of a searcher's reader (one per open index)."""
    return corpus_of(searcher.reader())


def doc_frequency(reader, fieldname: str, text: str) -> int:
    """``reader.doc_frequency`` through the reader's :class:`Corpus`: a scored field's from
    the build's term table (one lookup instead of one per segment)."""
    return corpus_of(reader).doc_frequency(fieldname, text)


def corpus_of(reader) -> Corpus:
    """The :class:`Corpus` of a reader (one per open index)."""
    with _corpora_lock:
        found = _corpora.get(reader)
        if found is None:
            found = _corpora[reader] = Corpus(reader)
        return found


def idf_of(df: int, n: int, kind: str) -> float:
    """Inverse document frequency: Lucene's ``log(1 + (N - df + .5) / (df + .5))`` (always
    positive, steeper) or Whoosh's ``log(N / (df + 1)) + 1``."""
    if kind == "whoosh":
        return math.log(n / (df + 1)) + 1
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def idf(searcher: Searcher, fieldname: str, text: str, kind: str) -> float:
    """The IDF of one term of the searcher's index."""
    reader = searcher.reader()
    return idf_of(doc_frequency(reader, fieldname, text), reader.doc_count_all(), kind)


def term_scores(searcher: Searcher, c: Corpus, q: Q.Term, bm: BM25) -> tuple[np.ndarray, np.ndarray]:
    """The term's documents and their BM25 scores (times the term's boost)."""
    ids, tf = c.postings(q.fieldname, q.text)
    if not len(ids):
        return ids, tf.astype(np.float64)
    field = searcher.schema[q.fieldname]
    if not field.scorable:
        return ids, tf.astype(np.float64) * q.boost
    tf64 = tf.astype(np.float64)
    norm = (
        tf64 * (bm.K1 + 1) / (tf64 + bm.K1 * c.length_norm(searcher, q.fieldname, ids, bm.b_of(q.fieldname)))
    )
    df = c.doc_frequency(q.fieldname, q.text)
    return ids, norm * (idf_of(df, searcher.reader().doc_count_all(), bm.idf) * q.boost)


def evaluate(q: Q.Query, searcher: Searcher, bm: BM25) -> tuple[np.ndarray, np.ndarray]:
    """``(matched, score)`` over every document number for a compiled query: the default set."""
    default, _broad, score = evaluate_levels(q, searcher, bm)
    return default, score


def evaluate_levels(q: Q.Query, searcher: Searcher, bm: BM25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(default, broad, score)``: the default set, the set broadened to the root level
    (a superset) and the scores (valid on both)."""
    ev = _Evaluation(searcher, corpus(searcher), bm)
    mask, score = ev.fresh(q)
    mask &= ev.c.live
    return mask[0], mask[1], score


@dataclass
class _Evaluation:
    searcher: Searcher
    c: Corpus
    bm: BM25
    _scratch: tuple[np.ndarray, np.ndarray] | None = None

    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """A zeroed accumulator and an all-false mark over the collection, for this
        evaluation; whoever uses them resets what it touched."""
        if self._scratch is None:
            self._scratch = (np.zeros(self.c.n, dtype=np.float64), np.zeros(self.c.n, dtype=bool))
        return self._scratch

    def fresh(self, q: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros((2, self.c.n), dtype=bool)
        score = np.zeros(self.c.n, dtype=np.float64)
        self.add(q, mask, score)
        return mask, score

    def add(self, q: Q.Query, mask: np.ndarray, score: np.ndarray) -> None:
        """OR ``q``'s matches into ``mask`` (both rows) and add its scores to ``score``."""
        if isinstance(q, Q.Term):
            ids, s = term_scores(self.searcher, self.c, q, self.bm)
            mask[:, ids] = True
            score[ids] += s
            return
        if isinstance(q, WordQuery):
            if self.bm.fusion == "fields":
                self.add_word(q, mask, score)
            else:
                self.add_word_sum(q, mask, score)
            return
        if isinstance(q, CliticPhrase):
            self.add_phrase(q, mask, score)
            return
        if isinstance(q, Q.Or):
            for child in q.subqueries:
                self.add(child, mask, score)
            return
        if isinstance(q, Q.Every):
            mask |= self.c.live
            return
        if isinstance(q, Q.And):
            m, s = self.fresh_and(q)
        elif isinstance(q, Q.AndNot):
            m, s = self.fresh(q.a)
            m &= ~self.fresh(q.b)[0][0]  # excluded: whatever the default set of the excluded matches
        elif isinstance(q, Q.AndMaybe):
            m, s = self.fresh(q.a)
            s += self.fresh(q.b)[1]  # scores outside m are never read
        elif isinstance(q, Q.ConstantScoreQuery):  # (no collection-sized vector of the constant)
            m, _ = self.fresh(q.child)
            mask |= m
            score[m[1]] += q.score
            return
        elif isinstance(q, Q.Phrase):
            m = np.broadcast_to(
                self.c.mask(self.c.phrase_docs(q.fieldname, list(q.words))), (2, self.c.n)
            ).copy()
            s = np.zeros(self.c.n, dtype=np.float64)
            for word in dict.fromkeys(q.words):
                term = Q.Term(q.fieldname, word, boost=q.boost)
                ids, ws = term_scores(self.searcher, self.c, term, self.bm)
                s[ids] += ws
        elif isinstance(q, Q.NullQuery.__class__):
            return
        elif isinstance(q, Q.DateRange):  # from the date column, not a posting at a time
            mask |= self.c.date_range(q)
            return
        else:  # date ranges and other filters: matched, not scored
            mask[:, np.fromiter(q.docs(self.searcher), dtype=np.int64)] = True
            return
        mask |= m
        score[m[1]] += s[m[1]]

    def fresh_and(self, q: Q.And) -> tuple[np.ndarray, np.ndarray]:
        """An ``And``'s matches and scores. Its documents are among those of its cheapest
        child (fewest postings): when that child is much cheaper than the rest, it is
        evaluated first and the whole ``And`` then over its documents only (:class:`_Within`:
        the frequent words' postings are scored, or decoded, only there). The same matches
        and scores either way, summed in the same order."""
        kids = q.subqueries
        if len(kids) > 1 and not isinstance(self.c, _Within):
            costs = [self.cost(child) for child in kids]
            cheapest = min(range(len(kids)), key=costs.__getitem__)
            if costs[cheapest] * AND_RATIO < sum(costs) - costs[cheapest]:
                first, _ = self.fresh(kids[cheapest])
                sub = _Evaluation(self.searcher, _Within(self.c, np.flatnonzero(first[1])), self.bm)
                return sub.fresh_and(q)
        m, s = self.fresh(kids[0])
        for child in kids[1:]:
            cm, cs = self.fresh(child)
            m &= cm
            s += cs
        return m, s

    def cost(self, q: Q.Query) -> float:
        """How many postings evaluating ``q`` reads (``inf``: not a posting list's query)."""
        c = self.c
        if isinstance(q, Q.Term):
            return float(c.doc_frequency(q.fieldname, q.text))
        if isinstance(q, WordQuery):
            return float(sum(c.doc_frequency(t.fieldname, t.text) for t in q.terms))
        if isinstance(q, Q.Phrase):
            return float(sum(c.doc_frequency(q.fieldname, w) for w in dict.fromkeys(q.words)))
        if isinstance(q, (Q.Or, Q.And)):  # CliticPhrase is an Or of its forms
            return sum(self.cost(child) for child in q.subqueries)
        if isinstance(q, (Q.AndNot, Q.AndMaybe)):
            return self.cost(q.a) + self.cost(q.b)
        if isinstance(q, Q.ConstantScoreQuery):
            return self.cost(q.child)
        return math.inf

    def bound(self, q: Q.Query) -> float:
        """An upper bound of the score ``q`` adds to any one document (``inf`` when none is
        known; ``nan`` when a part could score below zero, where no bound prunes anything).

        BM25's saturation ``t (K1 + 1) / (t + K1 x)`` stays below ``K1 + 1`` whatever the
        frequency and length, so a term is bounded by ``idf x boost x (K1 + 1)`` and a word's
        level (BM25F) by ``level weight x idf x (K1 + 1)``, with the IDF the level scores
        with: that of its most frequent form in the index (:meth:`add_word`). Any larger
        IDF (its rarest form's: for a root, the title list's, up to twice the body list's)
        is a looser bound, and MaxScore prunes fewer words.
        """
        bm, c = self.bm, self.c
        if isinstance(q, Q.Term):
            if q.fieldname not in self.searcher.schema:
                return 0.0
            if not self.searcher.schema[q.fieldname].scorable:
                return math.inf  # a raw frequency times the boost: unbounded here
            df = c.doc_frequency(q.fieldname, q.text)
            if not df:
                return 0.0
            return _nonnegative(idf_of(df, c.n, bm.idf) * q.boost * (bm.K1 + 1))
        if isinstance(q, WordQuery):
            if bm.fusion != "fields":
                return sum(self.bound(t) for t in q.terms)
            total = 0.0
            for specs in _levels(q).values():
                dfs = [d for d in (c.doc_frequency(f, form) for f, form, *_ in specs) if d]
                if dfs:
                    total += _nonnegative(specs[0][4] * idf_of(max(dfs), c.n, bm.idf) * (bm.K1 + 1))
            return total
        if isinstance(q, CliticPhrase):
            return max((self.bound(f) for f in q.forms), default=0.0)
        if isinstance(q, (Q.Or, Q.And)):
            return sum(self.bound(child) for child in q.subqueries)
        if isinstance(q, Q.AndNot):
            return self.bound(q.a)
        if isinstance(q, Q.AndMaybe):
            return self.bound(q.a) + self.bound(q.b)
        if isinstance(q, Q.ConstantScoreQuery):
            return _nonnegative(q.score)
        if isinstance(q, Q.Phrase):
            return sum(self.bound(Q.Term(q.fieldname, w, boost=q.boost)) for w in dict.fromkeys(q.words))
        return 0.0  # date ranges, Every, NullQuery and other filters match without scoring

    def add_phrase(self, q: CliticPhrase, mask: np.ndarray, score: np.ndarray) -> None:
        """The forms of a phrase present in the index; a document scores its best form.

        Sparse: each form gives its documents and their scores (a phrase's documents hold
        every one of its words, so its words' scores are read at them), and the best per
        document is one sort: a phrase costs its postings, not the collection's size (the
        dense way took five collection-sized passes per form: 30 ms a phrase at 1M)."""
        found_ids, found_scores = [], []
        for form in q.forms:
            terms = form.words if isinstance(form, Q.Phrase) else [form.text]
            if not all(self.c.doc_frequency(form.fieldname, t) for t in terms):
                continue
            if isinstance(form, Q.Phrase):
                docs = np.asarray(self.c.phrase_docs(form.fieldname, list(form.words)), dtype=np.int64)
                acc = np.zeros(len(docs), dtype=np.float64)
                for word in dict.fromkeys(form.words):  # the order add() sums them in
                    term = Q.Term(form.fieldname, word, boost=form.boost)
                    ids, ws = term_scores(self.searcher, self.c, term, self.bm)
                    acc += ws[np.searchsorted(ids, docs)]
            else:  # a one-token form
                ids, acc = term_scores(self.searcher, self.c, form, self.bm)
                docs = np.asarray(ids, dtype=np.int64)
            found_ids.append(docs)
            found_scores.append(acc)
        if not found_ids:
            return
        ids = np.concatenate(found_ids)
        s = np.concatenate(found_scores)
        order = np.lexsort((-s, ids))  # by document, its best score first
        ids, s = ids[order], s[order]
        first = np.ones(len(ids), dtype=bool)
        first[1:] = ids[1:] != ids[:-1]
        ids, best = ids[first], np.maximum(s[first], 0.0)  # as max(0, ...) of the forms
        mask[:, ids] = True
        score[ids] += best

    def add_word(self, q: WordQuery, mask: np.ndarray, score: np.ndarray) -> None:
        """BM25F over a word's title and body, level by level (see :class:`WordQuery`).

        Sparse: a level's forms are pooled over the union of their postings (a scratch
        vector reset after use), so a word costs its postings, not the collection's size.
        """
        for level, specs in _levels(q).items():
            parts = []
            df = 0
            for fieldname, form, _level, field_weight, _ in specs:
                # The level's IDF is its most frequent form's in the whole index (also when the
                # postings are cut to candidates, see _Within): the term table says.
                form_df = self.c.doc_frequency(fieldname, form)
                if not form_df:
                    continue
                df = max(df, form_df)
                ids, tf = self.c.postings(fieldname, form)
                if not len(ids):
                    continue
                norm = self.c.length_norm(self.searcher, fieldname, ids, self.bm.b_of(fieldname))
                parts.append((ids, field_weight * tf / norm))
            if not parts:
                continue
            if len(parts) == 1:
                hit, t = parts[0]
            else:
                acc, seen = self.scratch()
                union = []
                for ids, v in parts:
                    np.add.at(acc, ids, v)  # ids unique: acc[ids] += v, without its temporary
                    fresh = ids[~seen[ids]]
                    seen[fresh] = True
                    union.append(fresh)
                hit = np.concatenate(union)
                t = acc[hit]
                acc[hit] = 0.0
                seen[hit] = False
            keep = t > 0
            if not keep.all():
                hit, t = hit[keep], t[keep]
            w = specs[0][4] * idf_of(df, self.c.n, self.bm.idf)
            mask[1, hit] = True
            if level in q.strict:
                mask[0, hit] = True
            np.add.at(score, hit, w * t * (self.bm.K1 + 1) / (t + self.bm.K1))  # hit unique

    def add_word_sum(self, q: WordQuery, mask: np.ndarray, score: np.ndarray) -> None:
        """Whoosh's own fusion: every term scored apart (benchmarks and the Whoosh test)."""
        for term, spec in zip(q.terms, q.spec, strict=True):
            ids, s = term_scores(self.searcher, self.c, term, self.bm)
            mask[1, ids] = True
            if spec[2] in q.strict:
                mask[0, ids] = True
            score[ids] += s


def _nonnegative(x: float) -> float:
    return x if x >= 0 else math.nan


class _Within:
    """A :class:`Corpus` seen through a set of candidate documents: every posting list (and
    phrase) is cut to the documents of ``docs`` (sorted document numbers). Evaluating a
    query over it gives each candidate exactly the score and the match the whole corpus
    would (the same arithmetic on the same postings, in the same order), and nothing for
    the other documents. A long posting list not in the cache is decoded only in its blocks
    holding a candidate (and not cached: it is partial)."""

    def __init__(self, c: Corpus, docs: np.ndarray) -> None:
        self._c = c
        self.docs = docs.astype(np.int64)
        self.marked = np.zeros(c.n, dtype=bool)
        self.marked[self.docs] = True

    def __getattr__(self, name: str):
        return getattr(self._c, name)

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        c = self._c
        if c._mapped(fieldname):  # decoded by the build: search its parts for the candidates
            return c.postings_within(fieldname, text, self.docs, self.marked)
        found = c._cached_get((fieldname, text))
        df = c.doc_frequency(fieldname, text) if found is None else 0
        if found is None and len(self.docs) * SKIP_RATIO >= df / BLOCK_POSTINGS:
            found = c.postings(fieldname, text)  # most blocks hold a candidate: read it whole
        if found is not None:
            ids, tf = found
            keep = self.marked[ids]
            return ids[keep], tf[keep]
        id_parts, tf_parts = [], []
        for ids, tf, _vals, keep in c.read_within(fieldname, text, self.docs, False):
            id_parts.append(ids[keep])
            tf_parts.append(tf[keep])
        if not id_parts:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        return np.concatenate(id_parts).astype(np.int32), np.concatenate(tf_parts)

    def phrase_docs(self, fieldname: str, words: list[str]) -> np.ndarray:
        found = self._c._cached_get(("\0phrase", fieldname, tuple(words)))
        if found is not None:
            return found[0][self.marked[found[0]]]
        return _phrase_match(self.postings, self._c.phrase_keys, fieldname, words)


def _phrase_match(postings, phrase_keys, fieldname: str, words: list[str]) -> np.ndarray:
    """Document numbers holding ``words`` at consecutive positions, given a source of
    postings and of position keys: positions are read only in the documents holding every
    word (the intersection of their postings)."""
    cand = None
    for word in dict.fromkeys(words):
        ids = postings(fieldname, word)[0]
        cand = ids if cand is None else np.intersect1d(cand, ids, assume_unique=True)
        if not len(cand):
            break
    if cand is None or not len(cand):
        return np.empty(0, dtype=np.int64)
    cand = np.sort(cand.astype(np.int64))
    keys = phrase_keys(fieldname, words[0], cand)
    for i, word in enumerate(words[1:], 1):
        if not len(keys):
            break
        keys = np.intersect1d(keys, phrase_keys(fieldname, word, cand) - i, assume_unique=True)
    return np.unique(keys >> POSITION_BITS)


BLOCK_POSTINGS = 128  # postings per block of Whoosh's W3 codec
AND_RATIO = 3  # an And is evaluated over its cheapest child's documents when the rest cost 3x more
# Below this many documents every list is short: the two passes cost more than they save.
PRUNE_MIN_DOCS = 20_000
WITHIN_SEARCH = 16  # candidates × this ≥ a list's postings: look each posting up, not each candidate
SKIP_RATIO = 4  # decode a whole list (and cache it) once the candidates reach a quarter of its blocks


def top_scored(
    q: Q.Query, searcher: Searcher, bm: BM25, k: int, broad: bool = False
) -> list[tuple[int, float]]:
    """``top(matched, score, k)`` of a query without scoring every match (MaxScore).

    The query's clauses (an ``Or``'s children: a headline's words) are added rarest first
    (by their score bound, :meth:`_Evaluation.bound`). Once the ``k``-th best score so far
    exceeds what all the clauses left could add together, no document they alone match can
    enter the top ``k``: the candidates are the documents already scored whose score plus
    that bound still reaches the ``k``-th. The query is then evaluated over the candidates
    only (:class:`_Within`), so the frequent words' long posting lists are read and scored
    at the candidates (their blocks without one left undecoded). The answer is exactly
    :func:`top`'s over the whole evaluation: the same documents, scores and order.
    ``broad``: rank the set broadened to the root level (``level=root``).
    """
    c = corpus(searcher)
    ev = _Evaluation(searcher, c, bm)
    row = 1 if broad else 0
    children = list(q.subqueries) if type(q) is Q.Or else [q]
    bounds = [ev.bound(child) for child in children]  # nan where a part could score below zero
    if k <= 0 or len(children) < 2 or c.n < PRUNE_MIN_DOCS or not all(b >= 0 for b in bounds):
        mask, score = ev.fresh(q)
        mask &= c.live
        return top(mask[row], score, k)
    order = sorted(range(len(children)), key=lambda i: -bounds[i])
    rest = [0.0] * (len(order) + 1)
    for j in range(len(order) - 1, -1, -1):
        rest[j] = rest[j + 1] + bounds[order[j]]
    mask = np.zeros((2, c.n), dtype=bool)
    score = np.zeros(c.n, dtype=np.float64)
    theta = None
    for j, i in enumerate(order):
        ev.add(children[i], mask, score)
        left = rest[j + 1]
        # No score so far can exceed the bounds added so far: until they outweigh what is
        # left, the k-th best cannot either (and the O(N) look at the scores is skipped).
        if j == len(order) - 1 or rest[0] - left <= left:
            continue
        inset = np.flatnonzero(mask[row] & c.live)
        if len(inset) < k:
            continue
        kth = float(np.partition(score[inset], len(inset) - k)[len(inset) - k])
        if left < kth * (1 - 1e-9):  # float sums: a margin far above their rounding
            theta = kth
            break
    if theta is None:  # every clause was needed: evaluate in the query's order (the same sums)
        mask, score = ev.fresh(q)
        mask &= c.live
        return top(mask[row], score, k)
    # Scores only grow (every clause adds >= 0): a document outside ``cand`` ends below
    # theta, and theta is at most the final k-th best score.
    cand = np.flatnonzero(mask[1] & c.live & (score + left >= theta * (1 - 1e-9)))
    within = _Evaluation(searcher, _Within(c, cand), bm)
    m, s = within.fresh(q)
    m &= c.live
    return top(m[row], s, k)


def top(
    mask: np.ndarray, score: np.ndarray, k: int, dates: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """The ``k`` best ``(docnum, score)``: by score (or by date, newest first, then score),
    ties by document number."""
    cand = np.flatnonzero(mask)
    if k <= 0 or not len(cand):
        return []
    s = score[cand]
    if dates is None:
        if len(cand) > k:
            kth = np.partition(s, len(s) - k)[len(s) - k]
            keep = s >= kth
            cand, s = cand[keep], s[keep]
        order = np.lexsort((cand, -s))[:k]
    else:
        # ~x (= -x - 1) orders as -x does without overflowing at int64's minimum (undated,
        # oldest first: see indexer.search.sort_key)
        order = np.lexsort((cand, -s, ~dates[cand]))[:k]
    return [(int(cand[i]), float(s[i])) for i in order]
