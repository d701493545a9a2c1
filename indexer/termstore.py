"""Every posting list of the scored fields, decoded, behind one hashed term table: memory-mapped.

A query's words are looked up in each field and each segment: at a million documents a
headline asked Whoosh's term tables about 670 times (21 segments × ~30 terms), a fraction
of a millisecond each, and then decoded the pickled blocks of the lists it found. Here the
lists are plain arrays and one table says, for a term, which segments hold it and where:

* Per segment (``engine/postings/<segment id>/``), per scored field: ``<field>.ids.npy`` (the
  segment's document numbers, 32-bit, term after term in Whoosh's term order),
  ``<field>.tf.npy`` (frequencies: 16-bit when they all fit, else 32-bit floats),
  ``<field>.counts.npy`` (postings per term) and ``<field>.hash.npy`` (each term's 128-bit
  key hash as two int64 columns). The shard writer writes these while it writes the
  segment (:class:`SegmentLists`: it has the postings as arrays then, so they cost a file
  write), and an update hard-links the segments it left alone from the previous generation.
  The fields with positions (:data:`POSITIONAL`: the exact levels, which phrases read)
  also have ``<field>.pos.npy`` (every posting's positions, 32-bit, posting after posting
  in the same order as ``ids``: a posting has as many as its frequency) and
  ``<field>.pblock.npy`` (how many positions come before each run of :data:`BLOCK`
  postings): a posting's positions start at its block's offset plus the frequencies
  before it in the block, so a phrase's positions are a gather, not a pickle per posting.
* Per generation (``engine/terms/``): the hashes of every segment's terms sorted once,
  each with its run of entries ``(segment, field's start, count)``: a lookup is one
  binary search and a slice, and a term no segment holds costs no segment anything.

The files are made durable by their one caller, ``indexer.arrays.write``, which fsyncs
everything under the generation's new ``engine/`` before it is published.

The key is ``field code byte + term UTF-8`` hashed with BLAKE2b to 128 bits; both halves
must match (two different terms sharing 128 bits is not a practical possibility). Every
process maps the same files, so the lists and the table live once, in the OS page cache.
"""

from __future__ import annotations

import os
import pickle
import shutil
from array import array
from collections.abc import Iterable, Sequence
from hashlib import blake2b
from pathlib import Path

import numpy as np

# The fields whose lists are kept (the ranking engine scores these); the code byte of a key.
FIELDS = ("title_exact", "title_stem", "title_root", "body_exact", "body_stem", "body_root")
CODE = {f: i for i, f in enumerate(FIELDS)}
TABLE = "terms"  # engine/terms/: the generation's table
STAGE = "lists"  # <generation>/lists/<segment id>/: written by the shard writers, moved into engine/
PARTS = ("ids", "tf", "counts", "hash")
# Fields whose positions are kept too (phrases match on them): the exact levels.
POSITIONAL = ("title_exact", "body_exact")
POSITION_PARTS = ("pos", "pblock")
BLOCK = 128  # postings per entry of ``pblock``: a posting's offset sums at most 127 frequencies


def parts_of(field: str) -> tuple[str, ...]:
    """The files (``<field>.<part>.npy``) a segment has for a field."""
    return PARTS + POSITION_PARTS if field in POSITIONAL else PARTS


def value_positions(value: bytes) -> list[int]:
    """The positions a Positions (or Characters, an older index's) value holds
    (``pack_uint(n)`` + pickled deltas).

    >>> from whoosh.formats import Characters, Positions
    >>> value_positions(Positions().encode([0, 4]))
    [0, 4]
    >>> value_positions(Characters().encode([(0, 0, 3), (4, 17, 22)]))
    [0, 4]
    """
    if not value.endswith(b"."):
        value += b"."
    p = 0
    out = []
    for code in pickle.loads(value[4:]):
        p += code[0] if isinstance(code, tuple) else code
        out.append(p)
    return out


def key_hash(field: str, term: bytes) -> tuple[int, int]:
    """The two signed 64-bit halves of a term's key hash.

    >>> key_hash("body_exact", "قصف".encode()) == key_hash("body_exact", "قصف".encode())
    True
    >>> key_hash("body_exact", b"x") != key_hash("body_stem", b"x")
    True
    """
    d = blake2b(bytes((CODE[field],)) + term, digest_size=16).digest()
    return int.from_bytes(d[:8], "little", signed=True), int.from_bytes(d[8:], "little", signed=True)


def hashes(field: str, terms: Iterable[bytes]) -> np.ndarray:
    """``(n, 2)`` int64: :func:`key_hash` of each term of a field, in order."""
    code = bytes((CODE[field],))
    raw = b"".join(blake2b(code + t, digest_size=16).digest() for t in terms)
    return np.frombuffer(raw, dtype="<i8").reshape(-1, 2).astype(np.int64)


def run_indexes(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The indexes of the runs ``starts[k] : starts[k] + lens[k]``, end to end: a posting's
    positions are such a run of a ``pos`` array.

    >>> run_indexes(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    ends = np.cumsum(lens)
    return np.repeat(starts - (ends - lens), lens) + np.arange(int(ends[-1]) if len(ends) else 0)


def block_offsets(tf: np.ndarray) -> np.ndarray:
    """How many positions precede each :data:`BLOCK` of postings, given their frequencies.

    >>> block_offsets(np.ones(300, dtype=np.int64)).tolist()
    [0, 128, 256]
    """
    ends = np.cumsum(tf, dtype=np.int64)
    return np.concatenate(([0], ends[BLOCK - 1 : -1 : BLOCK])).astype(np.int64) if len(tf) else ends


def _save(folder: Path, field: str, keys: Sequence[bytes], *, counts, ids, tf, positions=None) -> None:
    """One field's decoded lists (``keys`` in Whoosh's order, each with ``counts`` postings);
    for a :data:`POSITIONAL` field also ``positions``, every posting's end to end (as many
    as its frequency: checked, since a phrase finds a posting's positions from them)."""
    counts = np.asarray(counts, dtype=np.int32)
    tf = np.asarray(tf, dtype=np.float32)
    small = tf.astype(np.uint16)
    np.save(folder / f"{field}.ids.npy", np.asarray(ids, dtype=np.int32))
    np.save(folder / f"{field}.tf.npy", small if np.array_equal(small, tf) else tf)
    np.save(folder / f"{field}.counts.npy", counts)
    np.save(folder / f"{field}.hash.npy", hashes(field, keys))
    if field in POSITIONAL:
        positions = np.asarray(positions if positions is not None else [], dtype=np.uint32)
        tf64 = tf.astype(np.int64)
        if int(tf64.sum()) != len(positions) or not np.array_equal(tf64, tf):
            raise ValueError(f"{field}: {len(positions)} positions for frequencies summing to {tf.sum()}")
        np.save(folder / f"{field}.pos.npy", positions)
        np.save(folder / f"{field}.pblock.npy", block_offsets(tf64))


class SegmentLists:
    """What a shard writer gives of the segment it writes: each scored field's terms with
    their postings, saved to ``<root>/<segment id>.tmp/`` as they come and made final
    (renamed to ``<root>/<segment id>``) by :meth:`finish` once Whoosh committed the segment."""

    def __init__(self, root: Path, segment_id: str) -> None:
        self.folder = Path(root) / (segment_id + ".tmp")
        self.final = Path(root) / segment_id
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.fields: list[str] = []

    def add(self, field: str, keys: Sequence[bytes], counts, ids, tf, *, positions=None) -> None:
        """A field's terms (sorted, as Whoosh writes them) and their postings end to end
        (with their positions, for a :data:`POSITIONAL` field)."""
        if field in CODE:
            _save(self.folder, field, keys, counts=counts, ids=ids, tf=tf, positions=positions)
            self.fields.append(field)

    def finish(self) -> None:
        for field in FIELDS:  # a field no document has: empty lists, so the segment is complete
            if field not in self.fields:
                _save(self.folder, field, [], counts=[], ids=[], tf=[])
        shutil.rmtree(self.final, ignore_errors=True)
        self.folder.replace(self.final)

    def cancel(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def decode_segment(leaf, dest: Path) -> None:
    """Every scored field's lists of a segment, decoded from Whoosh's blocks into ``dest``
    (for a segment no :class:`SegmentLists` wrote: an index built before them)."""
    from indexer.ranking import postings_of

    dest.mkdir(parents=True)
    for field in FIELDS:
        keys, counts, ids, tf = [], [], [], []
        positions = array("I")  # 4 bytes each: a merged segment holds tens of millions
        values = field in POSITIONAL
        if field in leaf.schema:
            for text, info in leaf.iter_field(field):
                term = text if isinstance(text, bytes) else str(text).encode("utf-8")
                i, w, vals = postings_of(leaf, field, term.decode("utf-8"), info, values)
                keys.append(term)
                counts.append(len(i))
                ids.append(i.astype(np.int32))
                tf.append(w)
                for value in vals:
                    positions.extend(value_positions(value))
        _save(
            dest,
            field,
            keys,
            counts=counts,
            ids=np.concatenate(ids) if ids else [],
            tf=np.concatenate(tf) if tf else [],
            positions=positions,
        )


def complete(folder: Path) -> bool:
    """Whether a segment's folder has every file this version reads (one written before
    positions were kept has not: it is decoded again)."""
    return all((folder / f"{field}.{part}.npy").exists() for field in FIELDS for part in parts_of(field))


def link_or_move(staged: Path | None, previous: Iterable[Path], dest: Path) -> bool:
    """Put a segment's lists at ``dest``: moved from where its writer staged them, else
    hard-linked from an earlier generation's copy. False if neither has them."""
    if staged is not None and complete(staged):
        staged.replace(dest)
        return True
    for src in previous:
        if not complete(src):
            continue
        try:
            dest.mkdir()
            for field in FIELDS:
                for part in parts_of(field):
                    os.link(src / f"{field}.{part}.npy", dest / f"{field}.{part}.npy")
            return True
        except OSError:  # another file system, a collected generation: decode instead
            shutil.rmtree(dest, ignore_errors=True)
    return False


def write_table(segments: Sequence[Path | None], out: Path) -> int:
    """The generation's term table over ``segments`` (their folders, in the reader's leaf
    order; ``None`` for a leaf without a segment) to ``out``: ``hi``/``lo`` (sorted by ``hi``;
    one row per distinct key), ``first`` (row r's entries are ``first[r]:first[r + 1]``) and
    per entry ``seg``, ``start`` (in the field's arrays of that segment) and ``count``.
    Returns the number of rows."""
    his, los, segs, starts, counts = [], [], [], [], []
    for s, folder in enumerate(segments):
        if folder is None:
            continue
        for field in FIELDS:
            h = np.load(folder / f"{field}.hash.npy")
            c = np.load(folder / f"{field}.counts.npy").astype(np.int64)
            his.append(h[:, 0])
            los.append(h[:, 1])
            segs.append(np.full(len(c), s, dtype=np.int16))
            starts.append(np.cumsum(c) - c)
            counts.append(c.astype(np.int32))
    hi = np.concatenate(his) if his else np.empty(0, dtype=np.int64)
    lo = np.concatenate(los) if los else np.empty(0, dtype=np.int64)
    order = np.lexsort((np.concatenate(segs) if segs else hi, lo, hi))  # by key, then segment
    hi, lo = hi[order], lo[order]
    new = np.ones(len(hi), dtype=bool)
    new[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    rows = np.flatnonzero(new)
    out.mkdir(parents=True)
    np.save(out / "hi.npy", hi[rows])
    np.save(out / "lo.npy", lo[rows])
    np.save(out / "first.npy", np.append(rows, len(hi)).astype(np.int64))
    for name, parts in (("seg", segs), ("start", starts), ("count", counts)):
        np.save(out / f"{name}.npy", np.concatenate(parts)[order] if parts else np.empty(0, np.int32))
    return len(rows)


def mapped_array(path: Path) -> np.ndarray:
    """A ``.npy`` file memory-mapped read-only, as a plain ndarray view of the map: slicing a
    ``numpy.memmap`` costs microseconds of Python (its ``__array_finalize__``), and a query
    slices thousands of times."""
    return np.asarray(np.load(path, mmap_mode="r"))


class TermTable:
    """A generation's table (:func:`write_table`) and its segments' lists, memory-mapped
    (``segments``: their folders in the reader's leaf order). A fresh process opens five
    small headers; the pages a lookup touches come from the shared page cache."""

    def __init__(self, table: Path, segments: Sequence[Path | None]) -> None:
        load = lambda name: mapped_array(table / f"{name}.npy")  # noqa: E731
        self.hi, self.lo, self.first = load("hi"), load("lo"), load("first")
        self.seg, self.start, self.count = load("seg"), load("start"), load("count")
        self.segments = list(segments)
        self._mapped: dict[tuple[int, str, str], tuple[np.ndarray, np.ndarray]] = {}

    def _row(self, field: str, text: str) -> tuple[int, int]:
        """The term's entries ``[a, b)`` (empty when no segment holds it)."""
        hi, lo = key_hash(field, text.encode("utf-8"))
        at = int(np.searchsorted(self.hi, hi))
        n = len(self.hi)
        while at < n and int(self.hi[at]) == hi:
            if int(self.lo[at]) == lo:
                return int(self.first[at]), int(self.first[at + 1])
            at += 1
        return 0, 0

    def entries(self, field: str, text: str) -> tuple[list[int], list[int], list[int]]:
        """``(segments, starts, counts)`` of a term: the segments holding it, in order."""
        a, b = self._row(field, text)
        return self.seg[a:b].tolist(), self.start[a:b].tolist(), self.count[a:b].tolist()

    def lists(self, seg: int, field: str) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, tf)`` of one segment's field, mapped (opened on first use)."""
        return self._pair(seg, field, "ids", "tf")

    def positions(self, seg: int, field: str) -> tuple[np.ndarray, np.ndarray]:
        """``(pos, pblock)`` of one segment's :data:`POSITIONAL` field, mapped."""
        return self._pair(seg, field, "pos", "pblock")

    def _pair(self, seg: int, field: str, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        found = self._mapped.get((seg, field, a))
        if found is None:
            folder = self.segments[seg]
            found = (mapped_array(folder / f"{field}.{a}.npy"), mapped_array(folder / f"{field}.{b}.npy"))
            self._mapped[(seg, field, a)] = found
        return found

    def keys_at(self, seg: int, field: str, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(frequencies, positions end to end)`` of the postings ``at`` (sorted indexes into
        one segment's field arrays). A posting's first position is its block's offset plus
        the frequencies before it in its block: only the blocks holding one of ``at`` are
        summed, never the whole list before them."""
        tf = self.lists(seg, field)[1]
        pos, pblock = self.positions(seg, field)
        blk = at // BLOCK
        new = np.ones(len(blk), dtype=bool)
        new[1:] = blk[1:] != blk[:-1]
        blocks = blk[new]
        row = np.cumsum(new) - 1  # each posting's block, as a row of ``freqs``
        col = at - blocks[row] * BLOCK
        cols = (blocks * BLOCK)[:, None] + np.arange(BLOCK)
        # (the field's last block may be short: the columns past its end are never summed
        # before a posting of it, so any frequency may stand in for them)
        freqs = tf[np.minimum(cols, len(tf) - 1)].astype(np.int64)
        lens = freqs[row, col]
        first = pblock[blocks][row] + (np.cumsum(freqs, axis=1) - freqs)[row, col]
        return lens, pos[run_indexes(first, lens)]
