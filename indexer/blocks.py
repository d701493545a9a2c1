"""A field's Whoosh W3 posting blocks made with numpy, every block at once: the bytes that
``pickle.dumps`` (protocol 3) and ``W3PostingsWriter._write_block`` give block by block.

A bulk-written segment (:mod:`indexer.segments`) has about nine blocks per document, most
of them one or two postings long; pickling them one at a time in Python (a tuple of ids,
the weights, a tuple of values; then the block's info tuple) took about 0.2 ms per
document besides compressing them, a third of writing the postings. The pickles are
simple: small ints, floats, bytes, tuples and their memo entries, in an order that only
depends on how many postings a block has and how long its values are. So every opcode's place is computed for
the whole field and written with one numpy assignment per kind of piece; Python runs only
to compress the blocks that are worth it (:func:`compress`).

``tests/test_segments.py`` checks the files against the block-by-block writer (which stays
for Whoosh's protocol 2), byte for byte.
"""

from __future__ import annotations

from itertools import pairwise
from pickle import dumps
from typing import NamedTuple

import numpy as np
from isal.isal_zlib import compress as _isal_compress
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC as _MAGIC
from whoosh.system import pack_int

from indexer.termstore import run_indexes

# Pickle opcodes (Lib/pickle.py)
_PROTO, _MARK, _TUPLE, _TUPLE1 = 0x80, 0x28, 0x74, 0x85
_BINPUT, _NONE, _BINFLOAT, _STOP = 0x71, 0x4E, 0x47, 0x2E
_BININT1, _BININT2, _BININT = 0x4B, 0x4D, 0x4A
_SHORT_BINBYTES, _BINBYTES = 0x43, 0x42
# Memo numbers are written as BINPUT n (one byte): a block's pickle has at most
# 4 + MAX_BLOCK of them.
MAX_BLOCK = 250
_CHUNK = 1 << 17  # postings encoded at a time (index arrays of ~8 bytes per value byte)
LIST_CHUNK = 1 << 16  # postings turned into Python lists at a time, block by block
_EIGHT = np.arange(8)
ISAL_LEVEL = 1


def compress(data, level: int) -> bytes:
    """A block compressed in zlib's format (what Whoosh's reader and the engine decompress),
    made with ISA-L at its level 1 whatever ``level`` the codec asks (its block info keeps
    that as the flag readers test). On ANT's posting blocks ISA-L takes 0.66 s where zlib at
    Whoosh's level 3 takes 1.42 s, for 6 % more compressed bytes (0.7 % of the ANT index).

    >>> import zlib
    >>> zlib.decompress(compress(b"W3Bl" * 50, 3)) == b"W3Bl" * 50
    True
    """
    return _isal_compress(data, ISAL_LEVEL)


def _int_lens(v: np.ndarray) -> np.ndarray:
    """Bytes of each non-negative int pickled (BININT1, BININT2 or BININT with its opcode).

    >>> _int_lens(np.array([0, 255, 256, 65536])).tolist()
    [2, 2, 3, 5]
    """
    return np.where(v < 256, 2, np.where(v < 65536, 3, 5))


def _put_ints(out: np.ndarray, at: np.ndarray, v: np.ndarray) -> None:
    """Pickle each non-negative int ``v`` (< 2**31) at ``at`` as ``pickle`` does: the
    shortest of BININT1, BININT2 and BININT (little-endian)."""
    small, big = v < 256, v >= 65536
    out[at] = np.where(small, _BININT1, np.where(big, _BININT, _BININT2))
    le = v.astype("<u4").view(np.uint8).reshape(-1, 4)
    out[at + 1] = le[:, 0]
    two = ~small
    out[at[two] + 2] = le[two, 1]
    out[at[big] + 3] = le[big, 2]
    out[at[big] + 4] = le[big, 3]


def _put_floats(out: np.ndarray, at: np.ndarray, v: np.ndarray) -> None:
    """Pickle each float at ``at``: BINFLOAT and the big-endian double."""
    out[at] = _BINFLOAT
    out[at[:, None] + 1 + _EIGHT] = v.astype(">f8").view(np.uint8).reshape(-1, 8)


def _put_runs(out: np.ndarray, at: np.ndarray, src: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> None:
    """Copy the runs ``src[starts[k] : starts[k] + lens[k]]`` to ``out`` at ``at[k]``.

    Runs that lie end to end in ``src`` (compressed blocks, info tuples, a frequency field's
    values) are read as one slice: only the places they go to are indexed, byte by byte.

    >>> out = np.zeros(8, dtype=np.uint8)
    >>> _put_runs(out, np.array([5, 0]), np.arange(1, 6, dtype=np.uint8), np.array([0, 2]), np.array([2, 3]))
    >>> out.tolist()
    [3, 4, 5, 0, 0, 1, 2, 0]
    >>> _put_runs(out, np.array([0, 6]), np.arange(1, 6, dtype=np.uint8), np.array([3, 0]), np.array([2, 2]))
    >>> out.tolist()
    [4, 5, 5, 0, 0, 1, 1, 2]
    """
    if not len(lens):
        return
    first = int(starts[0])
    if np.array_equal(starts[1:], starts[:-1] + lens[:-1]):
        out[run_indexes(at, lens)] = src[first : first + int(lens.sum())]
    else:
        out[run_indexes(at, lens)] = src[run_indexes(starts, lens)]


def _bytes_head_lens(n: np.ndarray) -> np.ndarray:
    """Bytes before a bytes object's data: SHORT_BINBYTES and one length byte, or BINBYTES
    and four."""
    return np.where(n < 256, 2, 5)


def _put_bytes_heads(out: np.ndarray, at: np.ndarray, n: np.ndarray) -> None:
    short = n < 256
    out[at] = np.where(short, _SHORT_BINBYTES, _BINBYTES)
    le = n.astype("<u4").view(np.uint8).reshape(-1, 4)
    out[at + 1] = le[:, 0]
    long_ = ~short
    for b in (1, 2, 3):
        out[at[long_] + 1 + b] = le[long_, b]


def _close_tuples(out: np.ndarray, at: np.ndarray, n: np.ndarray, memo: np.ndarray | int) -> None:
    """A tuple's closing opcode (TUPLE1-3, or TUPLE after a MARK) and its BINPUT."""
    out[at] = np.where(n > 3, _TUPLE, _TUPLE1 - 1 + np.minimum(n, 3))
    out[at + 1] = _BINPUT
    out[at + 2] = memo


def pickled_blocks(
    counts: np.ndarray,
    deltas: np.ndarray,
    weights: np.ndarray,
    wsame: np.ndarray,
    values: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    *,
    joined: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """``pickle.dumps((ids, weights, values), 3)`` of consecutive blocks, end to end, and
    each one's length.

    ``counts``: postings per block (1..MAX_BLOCK); per posting ``deltas`` (ints ≥ 0) and
    ``weights`` (float32); ``wsame``: whether a block's weights are all equal (then the
    block holds ``None`` for 1.0, else the one weight; otherwise a tuple of them).
    ``values``: ``None`` (the block's values are ``None``), or ``(src, starts, lens)``: each
    posting's value bytes ``src[starts[i] : starts[i] + lens[i]]``, which a block holds as
    one bytes object (``joined``) or as a tuple of them (each two bytes or more: pickle
    writes a repeated object as a reference to the first, and a one-byte slice of a bytes
    object is such a shared object).

    >>> import pickle
    >>> data, lens = pickled_blocks(
    ...     np.array([1, 4]), np.array([7, 2, 1, 1, 300]), np.ones(5, np.float32),
    ...     np.array([True, True]), (np.frombuffer(b"abcdefghijk", np.uint8),
    ...     np.array([0, 3, 5, 6, 8]), np.array([3, 2, 1, 2, 3])), joined=False)
    >>> a, b = data[: lens[0]].tobytes(), data[lens[0] :].tobytes()
    >>> a == pickle.dumps(((7,), None, (b"abc",)), 3)
    True
    >>> b == pickle.dumps(((2, 1, 1, 300), None, (b"de", b"f", b"gh", b"ijk")), 3)
    True
    """
    nb = len(counts)
    n = counts.astype(np.int64)
    bstart = np.cumsum(n) - n
    blk = np.repeat(np.arange(nb), n)  # each posting's block
    rank = np.arange(len(blk)) - bstart[blk]  # its place in the block
    mark = (n > 3).astype(np.int64)

    def within(lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each posting's offset of ``lens`` inside its block, and each block's sum."""
        ends = np.cumsum(lens)
        sums = ends[bstart + n - 1] - (ends[bstart] - lens[bstart])
        return ends - lens - (ends[bstart] - lens[bstart])[blk], sums

    id_lens = _int_lens(deltas)
    id_at, id_sum = within(id_lens)
    ids_len = mark + id_sum + 3  # MARK?, the ints, TUPLEn + BINPUT 0
    first_w = weights[bstart]
    wkind = np.where(wsame, np.where(first_w == 1.0, 0, 1), 2)  # None, one float, a tuple
    as_tuple = wkind == 2
    w_len = np.choose(wkind, (1, 9, mark + 9 * n + 3))
    memo0 = 1 + as_tuple  # the values' first memo number
    if values is None:
        v_len = np.ones(nb, dtype=np.int64)
        memo_last = memo0
    else:
        src, vstarts, vlens = values
        vlens = vlens.astype(np.int64)
        if joined:
            v_at, vsum = within(vlens)
            v_len = _bytes_head_lens(vsum) + vsum + 2
            memo_last = memo0 + 1
        else:
            each = _bytes_head_lens(vlens) + vlens + 2
            v_at, v_sum = within(each)
            v_len = mark + v_sum + 3
            memo_last = memo0 + n + 1
    lens = 2 + ids_len + w_len + v_len + 4
    ends = np.cumsum(lens)
    at = ends - lens
    out = np.empty(int(ends[-1]) if nb else 0, dtype=np.uint8)

    out[at] = _PROTO
    out[at + 1] = 3
    c = at + 2  # the ids tuple
    out[c[mark == 1]] = _MARK
    _put_ints(out, (c + mark)[blk] + id_at, deltas)
    _close_tuples(out, c + mark + id_sum, n, 0)
    c = c + ids_len  # the weights
    out[c[wkind == 0]] = _NONE
    one = wkind == 1
    _put_floats(out, c[one], first_w[one])
    out[c[as_tuple & (mark == 1)]] = _MARK
    each_w = as_tuple[blk]
    _put_floats(out, (c + mark)[blk[each_w]] + 9 * rank[each_w], weights[each_w])
    _close_tuples(out, (c + mark + 9 * n)[as_tuple], n[as_tuple], 1)
    c = c + w_len  # the values
    if values is None:
        out[c] = _NONE
    elif joined:
        head = _bytes_head_lens(vsum)
        _put_bytes_heads(out, c, vsum)
        _put_runs(out, (c + head)[blk] + v_at, src, vstarts, vlens)
        out[c + head + vsum] = _BINPUT
        out[c + head + vsum + 1] = memo0
    else:
        out[c[mark == 1]] = _MARK
        v_at = (c + mark)[blk] + v_at
        head = _bytes_head_lens(vlens)
        _put_bytes_heads(out, v_at, vlens)
        _put_runs(out, v_at + head, src, vstarts, vlens)
        out[v_at + head + vlens] = _BINPUT
        out[v_at + head + vlens + 1] = memo0[blk] + rank
        _close_tuples(out, c + mark + v_sum, n, memo0 + n)
    c = c + v_len  # the block's own tuple of three, and the end
    _close_tuples(out, c, 3, memo_last)
    out[c + 3] = _STOP
    return out, lens


def info_pickles(
    counts: np.ndarray,
    last: np.ndarray,
    top: np.ndarray,
    comp: np.ndarray,
    *,
    blo: np.ndarray,
    bhi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``pickle.dumps((count, last id, top weight or 0, compression, min length byte, max
    length byte), 2)`` of each block (``W3PostingsWriter._write_block``'s info), end to end,
    and each one's length.

    >>> import pickle
    >>> counts, last, top, comp, blo, bhi = (np.array([x]) for x in (3, 70000, 1.5, 0, 4, 5))
    >>> data, lens = info_pickles(counts, last, top, comp, blo=blo, bhi=bhi)
    >>> data.tobytes() == pickle.dumps((3, 70000, 1.5, 0, 4, 5), 2)
    True
    """
    last = last.astype(np.int64)
    positive = top > 0
    lens = 15 + _int_lens(last) + np.where(positive, 9, 2)
    ends = np.cumsum(lens)
    at = ends - lens
    out = np.empty(int(ends[-1]) if len(lens) else 0, dtype=np.uint8)
    out[at] = _PROTO
    out[at + 1] = 2
    out[at + 2] = _MARK
    out[at + 3] = _BININT1
    out[at + 4] = counts
    _put_ints(out, at + 5, last)
    c = at + 5 + _int_lens(last)
    _put_floats(out, c[positive], top[positive])
    zero = c[~positive]
    out[zero] = _BININT1
    out[zero + 1] = 0
    c = c + np.where(positive, 9, 2)
    for k, v in enumerate((comp, blo, bhi)):
        out[c + 2 * k] = _BININT1
        out[c + 2 * k + 1] = v
    c = c + 6  # the tuple of six, and the end
    _close_tuples(out, c, 6, 0)
    out[c + 3] = _STOP
    return out, lens


class FieldBlocks(NamedTuple):
    """A field's posting blocks, as :func:`posting_bytes` writes them.

    Per block (in term order): ``counts`` (postings), ``wsame`` (its weights all equal),
    ``wtop`` (the largest weight), ``last`` (its last document number), ``blo``/``bhi``
    (its smallest and largest length byte); ``nblocks`` per term; per posting ``deltas``,
    ``weights`` and ``values`` as :func:`pickled_blocks` takes them, and ``joined``.
    """

    counts: np.ndarray
    nblocks: np.ndarray
    deltas: np.ndarray
    weights: np.ndarray
    wsame: np.ndarray
    wtop: np.ndarray
    last: np.ndarray
    blo: np.ndarray
    bhi: np.ndarray
    values: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    joined: bool


def posting_bytes(f: FieldBlocks, *, level: int, small: int, protocol: int = 3) -> tuple[bytes, np.ndarray]:
    """A field's postings file bytes, as ``W3FieldWriter`` writes term after term, and where
    each term's start (relative to the first), the blocks pickled with ``protocol``.

    A block whose pickle is at least ``small`` bytes is compressed (:func:`compress`; none
    when ``level`` is 0). Each term's blocks follow ``W3Bl``; each block is its length
    (negative for a term's last), its info pickle and its (compressed) pickle.
    """
    counts, nblocks, deltas, weights, wsame, wtop, last, blo, bhi, values, joined = f
    plain = (
        protocol == 3
        and (not len(counts) or int(counts.max()) <= MAX_BLOCK)
        # Values that may be empty (a block's tuple leaves them out) or one byte long (a
        # one-byte slice is a shared object, which pickle writes once and then refers back
        # to), and document numbers out of order (negative deltas): not in Kashaf's schema,
        # where a value has 4 bytes or more.
        and (joined or values is None or bool((values[2] > 1).all()))
        and not (deltas < 0).any()
    )
    if not plain:
        return _one_by_one(f, level, small, protocol)
    if not len(counts):
        return b"", np.zeros(0, dtype=np.int64)
    nterms = len(nblocks)
    tfirst = np.cumsum(nblocks) - nblocks
    first = np.zeros(len(counts), dtype=bool)
    first[tfirst] = True
    final = np.zeros(len(counts), dtype=bool)
    final[tfirst + nblocks - 1] = True
    parts: list[bytes] = []
    offsets = np.empty(nterms, dtype=np.int64)
    done = 0  # bytes of the parts so far
    # Chunks of whole blocks, about _CHUNK postings each.
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(_CHUNK, int(ends[-1]) if len(ends) else 0, _CHUNK), side="left")
    bounds = [0, *sorted(set((cuts + 1).tolist()) - {0, len(counts)}), len(counts)]
    for b0, b1 in pairwise(bounds):
        p0 = int(ends[b0 - 1]) if b0 else 0
        p1 = int(ends[b1 - 1])
        cnt = counts[b0:b1]
        vals = None
        if values is not None:
            src, vstarts, vlens = values
            vals = (src, vstarts[p0:p1], vlens[p0:p1])
        data, dlen = pickled_blocks(cnt, deltas[p0:p1], weights[p0:p1], wsame[b0:b1], vals, joined=joined)
        dat = np.cumsum(dlen) - dlen
        squeeze = dlen >= small if level else np.zeros(len(dlen), dtype=bool)
        view = memoryview(data)
        packed = [
            compress(view[a : a + k], level)
            for a, k in zip(dat[squeeze].tolist(), dlen[squeeze].tolist(), strict=True)
        ]
        plen = dlen.copy()
        plen[squeeze] = np.fromiter(map(len, packed), dtype=np.int64, count=len(packed))
        comp = np.where(squeeze, level, 0)
        info, ilen = info_pickles(cnt, last[b0:b1], wtop[b0:b1], comp, blo=blo[b0:b1], bhi=bhi[b0:b1])
        iat = np.cumsum(ilen) - ilen
        size = ilen + plen
        head = 4 * first[b0:b1]
        rlen = head + 4 + size
        rends = np.cumsum(rlen)
        rat = rends - rlen
        out = np.empty(int(rends[-1]), dtype=np.uint8)
        starts = rat[first[b0:b1]]
        out[starts[:, None] + np.arange(4)] = np.frombuffer(_MAGIC, dtype=np.uint8)
        signed = np.where(final[b0:b1], -size, size).astype(">i4").view(np.uint8).reshape(-1, 4)
        out[(rat + head)[:, None] + np.arange(4)] = signed
        _put_runs(out, rat + head + 4, info, iat, ilen)
        dat_out = rat + head + 4 + ilen
        keep = ~squeeze
        _put_runs(out, dat_out[keep], data, dat[keep], dlen[keep])
        if packed:
            pbuf = np.frombuffer(b"".join(packed), dtype=np.uint8)
            pl = plen[squeeze]
            _put_runs(out, dat_out[squeeze], pbuf, np.cumsum(pl) - pl, pl)
        terms_here = np.flatnonzero(first[b0:b1])
        t0 = np.searchsorted(tfirst, b0)
        offsets[t0 : t0 + len(terms_here)] = done + rat[terms_here]
        parts.append(out.tobytes())
        done += len(out)
    return b"".join(parts), offsets


def _one_by_one(f: FieldBlocks, level: int, small: int, protocol: int) -> tuple[bytes, np.ndarray]:
    """:func:`posting_bytes` block by block with ``pickle`` at ``protocol``: for Whoosh's
    protocol 2 (``tests/test_segments.py`` checks these files against Whoosh's own), and
    for what the numpy path does not write."""
    counts, nblocks, deltas, weights, wsame, wtop, last, blo, bhi, values, joined = f
    nterms = len(nblocks)
    bend = np.cumsum(counts)
    bstart = bend - counts
    tfirst = np.cumsum(nblocks) - nblocks
    tstart = bstart[tfirst]
    tend = bend[tfirst + nblocks - 1]
    if values is not None:
        src, vstart, vlens = values
        buf = src.tobytes()
        vend = vstart + vlens
    wsame, blo, bhi, lasts = wsame.tolist(), blo.tolist(), bhi.tolist(), last.tolist()
    wtop_list = wtop.tolist()
    tstart_list, tend_list = tstart.tolist(), tend.tolist()
    p0 = p1 = 0  # postings [p0, p1) are in the lists below (a chunk: bounded memory)
    nb_list = nblocks.tolist()
    bs_list, be_list = bstart.tolist(), bend.tolist()
    posts = bytearray()
    offsets = [0] * nterms
    k = 0  # block number
    for t in range(nterms):
        if tend_list[t] > p1:
            # Python lists of the next chunk of postings (a whole field's would cost ~100
            # bytes per posting at once); a term is never split.
            p0 = tstart_list[t]
            p1 = max(p0 + LIST_CHUNK, tend_list[t])
            delta_list = deltas[p0:p1].tolist()
            weight_list = weights[p0:p1].tolist()
            if values is not None:
                vs_list, ve_list = vstart[p0:p1].tolist(), vend[p0:p1].tolist()
        offsets[t] = len(posts)
        posts += _MAGIC
        final = k + nb_list[t] - 1  # the term's last block
        while k <= final:
            a, b = bs_list[k] - p0, be_list[k] - p0
            if wsame[k]:
                first = weight_list[a]
                wmini = None if first == 1.0 else first
            else:
                wmini = tuple(weight_list[a:b])
            if values is None:
                vmini = None
            else:
                vals = [buf[x:y] for x, y in zip(vs_list[a:b], ve_list[a:b], strict=True)]
                vmini = b"".join(vals) if joined else tuple(filter(None, vals))
            data = dumps((tuple(delta_list[a:b]), wmini, vmini), protocol)
            comp = 0
            if len(data) >= small and level:
                comp = level
                data = compress(data, level)
            top = wtop_list[k]
            info = dumps((b - a, lasts[k], top if top > 0 else 0, comp, blo[k], bhi[k]), 2)
            size = len(info) + len(data)
            posts += pack_int(-size if k == final else size)
            posts += info
            posts += data
            k += 1
    return bytes(posts), np.array(offsets, dtype=np.int64)
