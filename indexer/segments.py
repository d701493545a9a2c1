"""Bulk Whoosh segment writing: a batch's postings gathered in memory and written term by
term through Whoosh's own W3 codec, so Whoosh (and the search core) read the segment unchanged.

Whoosh's ``SegmentWriter.add_document`` hands every posting, one by one, to an external
sorting pool (pickled to temporary runs, read back and heap-merged), then to the
codec's ``add_posting`` — about 10 µs per posting in pure Python, and a Kashaf document
has ~450 postings over its six text fields. :class:`BulkWriter` keeps everything else of
Whoosh's writer (the lock, deletions, per-document lengths, stored fields and columns,
the merge policy, the TOC commit) and replaces only the posting path: postings are kept
as compact arrays per field, sorted once with numpy at commit, and each term's blocks are
filled whole and written by Whoosh's ``W3PostingsWriter._write_block`` itself — the same
pickled, compressed bytes Whoosh would write. ``tests/test_segments.py`` checks that a
segment written this way reads back posting for posting, length for length and column
for column like one written by ``add_document``.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from hashlib import md5
from operator import sub
from pickle import dumps
from zlib import compress

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC as _MAGIC
from whoosh.codec.whoosh3 import W3FieldWriter, W3TermInfo
from whoosh.filedb.filetables import _lengths, md5_hash
from whoosh.formats import Frequency
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort, unpack_uint
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from indexer.postings import Postings

# Pickled blocks shorter than this are stored uncompressed (see _write_field).
SMALL_BLOCK = 96
_TERMINFO = W3TermInfo._struct


class _Vocab(dict):
    """Term bytes → term id, numbered in arrival order; a lookup of a new term adds it."""

    __slots__ = ()

    def __missing__(self, term: bytes) -> int:
        tid = self[term] = len(self)
        return tid


class _FieldPostings:
    """One field's postings of a batch, in arrival order (document by document)."""

    __slots__ = ("docs", "fixed0", "freqs", "lengths", "tids", "values", "vocab", "weights")

    def __init__(self, fixed0: bool, freqs: bool = False) -> None:
        self.vocab: dict[bytes, int] = _Vocab()
        self.tids = array("i")
        self.docs = array("i")
        self.weights = array("f")  # float32, as Whoosh's block buffer holds them
        self.fixed0 = fixed0  # the format stores no value bytes (Existence)
        self.values: list[bytes] = []
        # Frequency format: the value is pack_uint(freq); 4 bytes in an array instead of a
        # bytes object each (half the postings of a batch, ~50 bytes apiece).
        self.freqs = array("I") if freqs else None
        self.lengths: dict[int, int] = {}  # docnum → field length (scorable fields)

    def add_columns(self, docnum: int, p: Postings) -> int:
        """Add one document's :class:`~indexer.postings.Postings`; returns the summed freq.

        Column by column (``extend`` over ``map``): no Python-level work per posting."""
        n = len(p.terms)
        if not n:
            return 0
        # (an array made from the iterable, then appended whole: faster than extend(iterable))
        self.tids.extend(array("i", map(self.vocab.__getitem__, p.terms)))
        self.weights.extend(array("f", p.freqs))  # weight = frequency (field boost 1)
        if self.freqs is not None:
            self.freqs.extend(array("I", p.freqs))
        elif not self.fixed0:
            self.values.extend(p.values if p.values is not None else map(pack_uint, p.freqs))
        self.docs.extend(array("i", (docnum,)) * n)
        return sum(p.freqs)

    def add(self, docnum: int, items: Iterable[tuple]) -> int:
        """Add one document's ``(term bytes, freq, weight, value bytes)``; returns the summed freq."""
        vocab = self.vocab
        tids = self.tids
        n = 0
        freq_total = 0
        weights = self.weights
        values = self.values
        fixed0 = self.fixed0
        freqs = self.freqs
        for tbytes, freq, weight, vbytes in items:
            tids.append(vocab[tbytes])
            weights.append(weight)
            if freqs is not None:
                freqs.append(freq)
            elif not fixed0:
                values.append(vbytes or b"")
            freq_total += freq
            n += 1
        self.docs.extend([docnum] * n)
        return freq_total


def _new_field(field) -> _FieldPostings:
    fmt = field.format
    return _FieldPostings(fmt.fixed_value_size() == 0, freqs=type(fmt) is Frequency)


class BulkWriter:
    """What ``indexer.build`` needs of a Whoosh writer, with bulk posting writing.

    ``delete_by_term``, ``add_document(**fields)`` (the same values ``SegmentWriter`` takes),
    ``commit(merge=...)`` and ``cancel``. Vectors, spelling fields and boosts are not used by
    Kashaf's schema and are refused.
    """

    def __init__(self, ix, **writer_kwargs) -> None:
        self.writer: SegmentWriter = ix.writer(**writer_kwargs)
        self.schema = self.writer.schema
        self._fields: dict[str, _FieldPostings] = {}
        self.added = 0

    def delete_by_term(self, fieldname: str, text: str) -> int:
        """Delete the documents holding a term (an update's old version)."""
        return self.writer.delete_by_term(fieldname, text)

    def add_document(self, **fields) -> None:
        """Add one document: per-document data now, postings kept for :meth:`commit`."""
        w = self.writer
        w._check_state()
        schema = self.schema
        pdw = w.perdocwriter
        docnum = w.docnum
        names = sorted(fields)
        w._check_fields(schema, names)
        pdw.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                if field.vector or field.separate_spelling() or name.startswith("_"):
                    raise ValueError(f"BulkWriter does not write vectors, spelling or {name!r}")
                length = 0
                if field.indexed:
                    fp = self._fields.get(name)
                    if fp is None:
                        fp = self._fields[name] = _new_field(field)
                    if type(value) is Postings and field.format.field_boost == 1:
                        freq = fp.add_columns(docnum, value)
                    else:
                        freq = fp.add(docnum, field.index(value))
                    if field.scorable:
                        length = freq
                        if length:
                            fp.lengths[docnum] = length
                pdw.add_field(name, field, value if field.stored else None, length)
                column = field.column_type
                if column:
                    pdw.add_column_value(name, column, field.to_column_value(value))
        except Exception:
            pdw.cancel_doc()
            raise
        pdw.finish_doc()
        w._added = True
        w.docnum += 1
        self.added += 1

    def commit(self, merge: bool = True) -> None:
        """Write the segment (Whoosh's merge policy may fold small old segments into it)."""
        fw = self.writer.fieldwriter
        if not isinstance(fw, W3FieldWriter):
            raise TypeError(f"BulkWriter writes the W3 codec only, not {type(fw).__name__}")

        def add_postings(schema, lengths, items) -> None:
            # Called by SegmentWriter._flush_segment; ``items`` holds the postings of the
            # old segments the merge policy chose, numbered after this batch's documents.
            self._take_merged(schema, lengths, items)
            _write_fields(fw, schema, self._fields)

        fw.add_postings = add_postings
        self.writer.commit(merge=merge)
        self._fields = {}

    def cancel(self) -> None:
        """Abandon the batch (nothing written is committed)."""
        self.writer.cancel()
        self._fields = {}

    def _take_merged(self, schema, lengths, items) -> None:
        for fieldname, tbytes, docnum, weight, vbytes in items:
            fp = self._fields.get(fieldname)
            if fp is None:
                fp = self._fields[fieldname] = _new_field(schema[fieldname])
            freq = unpack_uint(vbytes)[0] if fp.freqs is not None else 0
            fp.add(docnum, ((tbytes, freq, weight, vbytes),))
            if lengths is not None and docnum not in fp.lengths:
                length = lengths.doc_field_length(docnum, fieldname)
                if length:
                    fp.lengths[docnum] = length


def _write_fields(fw: W3FieldWriter, schema, fields: dict[str, _FieldPostings]) -> None:
    """Every field's terms in order, each term's postings in blocks, as ``add_postings`` would."""
    for name in sorted(fields):
        fp = fields[name]
        if not fp.tids:
            continue
        _write_field(fw, name, schema[name], fp)


def _write_field(fw: W3FieldWriter, name: str, fieldobj, fp: _FieldPostings) -> None:
    """One field's terms: the bytes ``W3FieldWriter.start_term``/``add``/``finish_term`` write.

    Inlined per term (Whoosh's path costs several calls per posting): each block is the
    pickled ``(delta ids, weights, values)`` tuple after a pickled info tuple, as in
    ``W3PostingsWriter._write_block``; the term info row is ``W3TermInfo.to_bytes``. One
    difference: a block whose pickle is under :data:`SMALL_BLOCK` bytes is stored
    uncompressed (its info says compression 0, which Whoosh's reader honours). Whoosh meant
    to do the same ("if the pickle is less than 20 bytes, don't bother compressing") but
    overwrites the flag; zlib costs ~20 µs per call to set up and cannot shrink a
    few-dozen-byte pickle, and most terms have one or two postings.
    """
    terms = list(fp.vocab)  # insertion order: index = term id
    by_bytes = sorted(range(len(terms)), key=terms.__getitem__)
    rank = np.empty(len(terms), dtype=np.int64)
    rank[by_bytes] = np.arange(len(terms))
    tids = np.frombuffer(fp.tids, dtype=np.int32)
    # Stable: postings of one term stay in document order (they arrived that way).
    order = np.argsort(rank[tids], kind="stable")
    counts = np.bincount(tids, minlength=len(terms))[by_bytes].tolist()
    doc_list = np.frombuffer(fp.docs, dtype=np.int32)[order].tolist()
    weight_list = np.frombuffer(fp.weights, dtype=np.float32)[order].tolist()
    lbytes = {d: length_to_byte(n) for d, n in fp.lengths.items()}
    lb_list = [lbytes.get(d, 0) for d in doc_list] if lbytes else None
    fixed = fieldobj.format.fixed_value_size()
    freq_bytes = None
    if fixed == 0:
        value_list = None
    elif fp.freqs is not None:
        value_list = None
        freq_bytes = np.frombuffer(fp.freqs, dtype=np.uint32)[order].astype(">u4").tobytes()
    else:
        values = fp.values
        value_list = [values[i] for i in order.tolist()]
    limit = fw._codec._blocklimit
    level = fw._codec._compression

    fw.start_field(name, fieldobj)
    fieldid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex
    buckets, hashfn, positions = tindex.buckets, tindex.hashfn, tindex.index
    md5_keys = hashfn is md5_hash  # the same number as md5_hash, without hexdigest and int()
    if terms and fieldid + terms[by_bytes[0]] <= tindex.lastkey:
        raise ValueError(f"field {name!r} written out of order")
    post0, term0 = postfile.tell(), tindex.dbfile.tell()
    posts = bytearray()
    rows = bytearray()
    start = 0
    for tid, count in zip(by_bytes, counts, strict=True):
        end = start + count
        offset = post0 + len(posts)
        posts += _MAGIC
        total = 0.0
        top = 0
        minlb = None
        maxlb = 0
        if count == 1:
            # One posting (most terms): the loop below for one block of one, without its
            # slices and reductions.
            d = doc_list[start]
            w = weight_list[start]
            if freq_bytes is not None:
                vmini = freq_bytes[4 * start : 4 * start + 4]
            elif value_list is None:
                vmini = None
            elif fixed is None or fixed < 0:
                v = value_list[start]
                vmini = (v,) if v else ()
            else:
                vmini = value_list[start]
            data = dumps(((d,), None if w == 1.0 else w, vmini), 2)
            comp = 0
            if len(data) >= SMALL_BLOCK and level:
                comp = level
                data = compress(data, level)
            blo = bhi = 0
            if lb_list is not None:
                blo = bhi = lb_list[start]
                if blo:
                    minlb = maxlb = blo
            total += w
            top = max(top, w)
            info = dumps((1, d, w if w > 0 else 0, comp, blo, bhi), 2)
            posts += pack_int(-(len(info) + len(data)))
            posts += info
            posts += data
            start += 1  # (no loop below: range(start, end) is empty now)
        for a in range(start, end, limit):
            b = min(a + limit, end)
            ids = doc_list[a:b]
            ws = weight_list[a:b]
            first = ws[0]
            if ws.count(first) == len(ws):
                wmini = None if first == 1.0 else first
            else:
                wmini = tuple(ws)
            total += sum(ws)
            wtop = max(ws)
            top = max(top, wtop)
            if freq_bytes is not None:
                vmini = freq_bytes[4 * a : 4 * b]  # b"".join of the pack_uint(freq) values
            elif value_list is None:
                vmini = None
            elif fixed is None or fixed < 0:
                vmini = tuple(filter(None, value_list[a:b]))
            else:
                vmini = b"".join(value_list[a:b])
            data = dumps((tuple(map(sub, ids, [0, *ids[:-1]])), wmini, vmini), 2)
            comp = 0
            if len(data) >= SMALL_BLOCK and level:
                comp = level
                data = compress(data, level)
            blo, bhi = 0, 0
            if lb_list is not None:
                ls = [x for x in lb_list[a:b] if x]
                if ls:
                    blo, bhi = min(ls), max(ls)
                    minlb = blo if minlb is None else min(minlb, blo)
                    maxlb = max(maxlb, bhi)
            info = dumps((b - a, ids[-1], wtop if wtop > 0 else 0, comp, blo, bhi), 2)
            size = len(info) + len(data)
            posts += pack_int(-size if b == end else size)
            posts += info
            posts += data
        tbytes = terms[tid]
        key = fieldid + tbytes
        head = end - count
        row = (
            _TERMINFO.pack(False, total, count, minlb or 0, maxlb, top, doc_list[head], doc_list[end - 1])
            + pack_long(offset)
            + pack_int(post0 + len(posts) - offset)
        )
        pos = term0 + len(rows)
        positions.append(pos)
        rows += _lengths.pack(len(key), len(row))
        rows += key
        rows += row
        h = int.from_bytes(md5(key, usedforsecurity=False).digest()[-4:], "big") if md5_keys else hashfn(key)
        buckets[h & 255].append((h, pos))
        start = end
    tindex.lastkey = key
    postfile.write(bytes(posts))
    tindex.dbfile.write(bytes(rows))
    fw.finish_field()
