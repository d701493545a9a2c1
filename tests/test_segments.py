"""Bulk-written segments (indexer/segments.py) read back exactly like Whoosh's own writer's.

Both writers index the same real documents into real indexes on disk; then every term of
every field is compared posting by posting (document numbers, weights, value bytes: the
positions and characters of exact fields, the frequencies of stem and root fields), with
its term statistics, and every document's field lengths, columns and stored fields.
"""

from __future__ import annotations

import gzip
import itertools
import json
import pickle
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields, index

from indexer import blocks, postings, segments
from indexer.postings import Postings
from indexer.schema import analyze_doc, month_of, schema
from indexer.segments import BulkWriter
from tests.conftest import shared_file

AWKWARD = [
    ("", "،؛؟ ... !"),
    ("الرقّة", "وانسحبتْ قوّاتُ النظامِ من «الرقّة»، أمس. من من من"),
    ("", 'قصفت F16 مواقع ISIS في 2017م و٢٠١٨ لـ"داعش" بـ«قسد» حلـــب ﻻ'),
]


def _documents(n: int) -> list[dict]:
    path = shared_file("corpus/ant_multisource_v2.1.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        arts = [json.loads(line) for line in itertools.islice(f, n)]
    arts += [{"id": f"awkward{i}", "title": t, "text": b} for i, (t, b) in enumerate(AWKWARD)]
    return _analyzed(arts)


def _analyzed(arts: list[dict]) -> list[dict]:
    docs = []
    for a in arts:
        postings, _ = analyze_doc(a.get("title") or "", a["text"])
        fields = {"id": a["id"], **postings}
        if a.get("date"):
            d = datetime.fromisoformat(a["date"]).replace(tzinfo=None)
            fields["date"], fields["month"] = d, month_of(d)
        if a.get("source"):
            fields["source"] = a["source"]
        docs.append(fields)
    return docs


def _contents(path: Path) -> dict:
    """Everything a reader can get out of an index, field by field and term by term."""
    out: dict = {}
    with index.open_dir(str(path)).reader() as r:
        out["docs"] = (r.doc_count(), r.doc_count_all())
        for name in schema().names():
            field = schema()[name]
            if field.indexed:
                for term in r.lexicon(name):
                    m = r.postings(name, term)
                    postings = []
                    while m.is_active():
                        postings.append((m.id(), m.weight(), m.value()))
                        m.next()
                    ti = r.term_info(name, term)
                    stats = (ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length())
                    out[name, term] = (postings, stats, ti.max_weight(), ti.min_id(), ti.max_id())
            out["total length", name] = r.field_length(name)
            out["lengths", name] = [r.doc_field_length(d, name) for d in range(r.doc_count_all())]
            if field.column_type:
                out["column", name] = list(r.column_reader(name, translate=False))  # raw: no date overflow
        out["stored"] = [r.stored_fields(d) for d in range(r.doc_count_all())]
    return out


def _distinct_values(doc: dict) -> dict:
    """``doc`` with each posting value a bytes object of its own (equal values, new objects)."""
    return {
        k: Postings(v.terms, v.freqs, [bytes(bytearray(x)) for x in v.values], v.positions)
        if isinstance(v, Postings) and v.values is not None
        else v
        for k, v in doc.items()
    }


def _whoosh(path: Path, docs: list[dict], **kw) -> None:
    w = index.open_dir(str(path)).writer(**kw)
    for d in docs:
        w.add_document(**d)
    w.commit()


def _bulk(path: Path, docs: list[dict], merge: bool = True, **kw) -> None:
    w = BulkWriter(index.open_dir(str(path)), **kw)
    for d in docs:
        w.add_document(**d)
    w.commit(merge=merge)


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return _documents(400)  # common words span several 128-posting blocks


def test_bulk_segment_reads_like_whoosh(tmp_path: Path, docs: list[dict]) -> None:
    a, b = tmp_path / "whoosh", tmp_path / "bulk"
    for p in (a, b):
        p.mkdir()
        index.create_in(str(p), schema())
    _whoosh(a, docs)
    _bulk(b, docs)
    want, got = _contents(a), _contents(b)
    assert len(want) > 40_000  # terms of every field, not an empty comparison
    assert [k for k in want if want[k] != got.get(k)][:5] == []
    assert want == got


def test_bulk_bytes_equal_whoosh_when_small_blocks_compressed(
    tmp_path: Path, docs: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every block compressed by zlib and pickled with protocol 2, as Whoosh does, the
    posting and term files are byte for byte Whoosh's."""
    monkeypatch.setattr(segments, "SMALL_BLOCK", 0)
    monkeypatch.setattr(blocks, "compress", zlib.compress)
    monkeypatch.setattr(segments, "BLOCK_PROTOCOL", 2)
    a, b = tmp_path / "whoosh", tmp_path / "bulk"
    for p in (a, b):
        p.mkdir()
        index.create_in(str(p), schema())
    # Analysis hands out one bytes object for every single occurrence at a position: pickle
    # would write a repeat of that object in a block as a back-reference. The bulk writer's
    # values are its own copies, so Whoosh gets equal values as distinct objects here.
    _whoosh(a, [_distinct_values(d) for d in docs[:150]], compound=False)
    _bulk(b, docs[:150], compound=False)

    def files(p: Path) -> dict[str, bytes]:
        return {
            f.name.split(".", 1)[1]: f.read_bytes()
            for f in p.iterdir()
            if f.name.startswith("MAIN_") and "." in f.name
        }

    fa, fb = files(a), files(b)
    assert {"pst", "trm"} <= set(fa)
    assert fa == fb


def test_bulk_update_with_merge_and_deletes(tmp_path: Path, docs: list[dict]) -> None:
    """An update: old documents deleted, small old segments folded in by Whoosh's merge policy."""
    a, b = tmp_path / "whoosh", tmp_path / "bulk"
    for p in (a, b):
        p.mkdir()
        index.create_in(str(p), schema())
        for j in range(5):  # five tiny segments: MERGE_SMALL folds them into the next commit
            _whoosh(p, docs[3 * j : 3 * j + 3])
    deleted = [d["id"] for d in docs[4:8]]
    w = index.open_dir(str(a)).writer()
    for doc_id in deleted:
        w.delete_by_term("id", doc_id)
    for d in docs[20:150]:
        w.add_document(**d)
    w.commit()
    bw = BulkWriter(index.open_dir(str(b)))
    for doc_id in deleted:
        bw.delete_by_term("id", doc_id)
    for d in docs[20:150]:
        bw.add_document(**d)
    bw.commit(merge=True)
    assert len(index.open_dir(str(b))._segments()) == len(index.open_dir(str(a))._segments()) == 1
    want, got = _contents(a), _contents(b)
    assert want["docs"] == (141, 141)
    assert want == got


def test_build_in_several_segments_finds_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard writer commits one segment per ``SEGMENT_DOCS`` documents; the index it leaves
    answers like one written as a single segment."""
    from indexer import build as build_module
    from indexer import store
    from indexer.search import search

    src = tmp_path / "in.jsonl"
    with gzip.open(shared_file("corpus/ant_multisource_v2.1.jsonl.gz"), "rt", encoding="utf-8") as f:
        src.write_text("".join(itertools.islice(f, 60)), encoding="utf-8")
    one = build_module.build([src], tmp_path / "one", jobs=1)
    monkeypatch.setattr(build_module, "SEGMENT_DOCS", 16)
    several = build_module.build([src], tmp_path / "several", jobs=1)
    # ... and with the levels' terms numbered anew at every text (postings.trim, asked by
    # each text's analysis and between two segments)
    monkeypatch.setattr(postings, "_TERMS_MAX", 0)
    renumbered = build_module.build([src], tmp_path / "renumbered", jobs=1)
    assert one.documents == several.documents == renumbered.documents == 60
    gdir = store.generation_dir(tmp_path / "several", several.generation)
    assert len(index.open_dir(str(gdir / store.WHOOSH / "0"))._segments()) == 4
    for query in ("سوريا", "قوات النظام", "حلب"):
        a = search(tmp_path / "one", query, op="or", limit=50)
        for other in ("several", "renumbered"):
            b = search(tmp_path / other, query, op="or", limit=50)
            assert a["total"] == b["total"] > 0
            assert [(h["id"], round(h["score"], 9)) for h in a["hits"]] == [
                (h["id"], round(h["score"], 9)) for h in b["hits"]
            ]


def test_a_build_bounds_the_numbering_of_its_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that runs build after build (the numbering lives as long as the process)
    goes on with a fresh numbering once it is past its bound, also when its writer commits
    a single segment."""
    from indexer import build as build_module

    src = tmp_path / "in.jsonl"
    with gzip.open(shared_file("corpus/ant_multisource_v2.1.jsonl.gz"), "rt", encoding="utf-8") as f:
        src.write_text("".join(itertools.islice(f, 20)), encoding="utf-8")
    monkeypatch.setattr(postings, "_TERMS_MAX", 10**9)
    before = postings._NOW.levels["exact"]
    build_module.build([src], tmp_path / "a", jobs=1)
    assert postings._NOW.levels["exact"] is before  # under the bound: kept
    monkeypatch.setattr(postings, "_TERMS_MAX", 0)
    assert build_module.build([src], tmp_path / "b", jobs=1).documents == 20
    assert postings._NOW.levels["exact"] is not before


def test_terms_numbered_anew_within_a_batch_read_like_whoosh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Analysis gives terms as numbers of a level's numbering in this process, and the bulk
    writer files them under those numbers. When the numbering is replaced (``trim``) while a
    batch is open, the batch's fields keep theirs and the later postings are filed by their
    bytes: the segment still reads like Whoosh's of the same documents."""
    path = shared_file("corpus/ant_multisource_v2.1.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        arts = [json.loads(line) for line in itertools.islice(f, 120)]
    first = _analyzed(arts[:60])
    monkeypatch.setattr(postings, "_TERMS_MAX", 0)
    postings.trim()
    later = _analyzed(arts[60:])
    assert later[0]["body_exact"].space is not first[0]["body_exact"].space
    a, b = tmp_path / "whoosh", tmp_path / "bulk"
    for p in (a, b):
        p.mkdir()
        index.create_in(str(p), schema())
    _whoosh(a, first + later)
    _bulk(b, first + later)
    want, got = _contents(a), _contents(b)
    assert want["docs"] == (120, 120)
    assert [k for k in want if want[k] != got.get(k)][:5] == []
    assert want == got


def test_blocks_are_protocol_3_and_read_back(
    tmp_path: Path, docs: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks are pickled with protocol 3 (bytes values as they are, not Whoosh's protocol-2
    _codecs.encode calls): smaller postings, and both Whoosh's matcher and the engine's
    block decoder read them (the comparisons above hold)."""
    from indexer.ranking import Corpus

    def postings_file(name: str, bulk: bool = True) -> bytes:
        p = tmp_path / name
        p.mkdir()
        index.create_in(str(p), schema())
        (_bulk if bulk else _whoosh)(p, docs[:150], compound=False)
        return next(p.glob("MAIN_*.pst")).read_bytes()

    whoosh_size = len(postings_file("whoosh", bulk=False))
    assert len(postings_file("bulk")) < 0.9 * whoosh_size
    monkeypatch.setattr(segments, "SMALL_BLOCK", 1 << 30)  # nothing compressed: the pickles show
    plain = postings_file("plain")
    assert b"c_codecs\nencode" not in plain and b"\x80\x03" in plain
    monkeypatch.setattr(segments, "BLOCK_PROTOCOL", 2)
    assert b"c_codecs\nencode" in postings_file("protocol2")

    with (
        index.open_dir(str(tmp_path / "whoosh")).reader() as ra,
        index.open_dir(str(tmp_path / "bulk")).reader() as rb,
    ):
        ca, cb = Corpus(ra, mapped=False), Corpus(rb, mapped=False)
        seen = 0
        for field in ("body_exact", "body_stem"):
            for term in itertools.islice(ra.lexicon(field), 0, None, 29):
                text = term.decode("utf-8")
                want, got = ca.postings(field, text), cb.postings(field, text)
                assert [x.tolist() for x in want] == [x.tolist() for x in got]
                if field == "body_exact":
                    assert ca.positions(field, text).tolist() == cb.positions(field, text).tolist()
                seen += len(want[0])
        assert seen > 1000


def test_chunked_lists_write_the_same_bytes(
    tmp_path: Path, docs: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field's postings become Python lists a chunk at a time (bounded memory); chunks far
    smaller than a field (and than its longest terms) write the same files."""

    whole = _segment_files(tmp_path / "whole", docs)
    monkeypatch.setattr(blocks, "LIST_CHUNK", 7)
    monkeypatch.setattr(blocks, "_CHUNK", 7)
    assert _segment_files(tmp_path / "chunked", docs) == whole
    monkeypatch.setattr(blocks, "MAX_BLOCK", 0)  # the block-by-block writer's chunks too
    assert _segment_files(tmp_path / "chunked, one by one", docs) == whole


def _segment_files(p: Path, docs: list[dict]) -> dict[str, bytes]:
    p.mkdir()
    index.create_in(str(p), schema())
    _bulk(p, docs, compound=False)
    return {
        f.name.split(".", 1)[1]: f.read_bytes()
        for f in p.iterdir()
        if f.name.startswith("MAIN_") and "." in f.name
    }


def test_blocks_made_with_numpy_equal_pickled_ones(
    tmp_path: Path, docs: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The postings written whole with numpy (indexer/blocks.py) are the bytes of pickling
    and compressing them block by block, in chunks of any size."""
    made = _segment_files(tmp_path / "numpy", docs)
    monkeypatch.setattr(blocks, "_CHUNK", 5)
    assert _segment_files(tmp_path / "small chunks", docs) == made
    monkeypatch.setattr(blocks, "MAX_BLOCK", 0)  # every field block by block, with pickle
    pickled = _segment_files(tmp_path / "pickled", docs)
    assert len(pickled["pst"]) > 100_000
    assert made == pickled


def test_block_pickles_equal_pickle_dumps() -> None:
    """Random blocks, with what real ones rarely hold (ids past 65,535, values of 256 bytes
    and more, unequal weights, blocks of one to MAX_BLOCK postings), pickle as pickle.dumps."""
    rng = np.random.default_rng(7)
    counts = np.concatenate([rng.integers(1, 6, 300), rng.integers(1, blocks.MAX_BLOCK + 1, 40)])
    rng.shuffle(counts)
    n = int(counts.sum())
    deltas = rng.choice([3, 255, 256, 65535, 65536, 2**31 - 1], n) - rng.integers(0, 2, n)
    weights = rng.choice([1.0, 2.0, 0.5, 3.25], n).astype(np.float32)
    wsame = rng.random(len(counts)) < 0.5
    starts = np.cumsum(counts) - counts
    for k in np.flatnonzero(wsame):
        weights[starts[k] : starts[k] + counts[k]] = weights[starts[k]]
    lens = rng.choice([2, 4, 30, 255, 256, 300], n)
    src = rng.integers(0, 256, int(lens.sum()) + 10).astype(np.uint8)
    vstarts = rng.integers(0, 10, n) + np.cumsum(lens) - lens
    for values, joined in ((None, False), ((src, vstarts, lens), False), ((src, vstarts, lens), True)):
        data, sizes = blocks.pickled_blocks(counts, deltas, weights, wsame, values, joined=joined)
        at = np.cumsum(sizes) - sizes
        wl, dl = weights.tolist(), deltas.tolist()
        for k, (a, c) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
            w = (None if wl[a] == 1.0 else wl[a]) if wsame[k] else tuple(wl[a : a + c])
            vals = [
                src[x : x + m].tobytes() for x, m in zip(vstarts[a : a + c], lens[a : a + c], strict=True)
            ]
            v = None if values is None else b"".join(vals) if joined else tuple(vals)
            want = pickle.dumps((tuple(dl[a : a + c]), w, v), 3)
            assert data[at[k] : at[k] + sizes[k]].tobytes() == want, k
    top = rng.choice([0.0, 1.0, 7.5], len(counts))
    last = np.cumsum(deltas)[starts + counts - 1] % 2**31
    comp, lo, hi = (
        rng.choice([0, 3], len(counts)),
        rng.integers(0, 256, len(counts)),
        rng.integers(0, 256, len(counts)),
    )
    data, sizes = blocks.info_pickles(counts, last, top, comp, blo=lo, bhi=hi)
    at = np.cumsum(sizes) - sizes
    for k, row in enumerate(
        zip(
            counts.tolist(), last.tolist(), top.tolist(), comp.tolist(), lo.tolist(), hi.tolist(), strict=True
        )
    ):
        c, la, t, cm, a, b = row
        assert data[at[k] : at[k] + sizes[k]].tobytes() == pickle.dumps(
            (c, la, t if t > 0 else 0, cm, a, b), 2
        )


@settings(max_examples=500)
@given(st.datetimes())
def test_date_terms_equal_whoosh_datetime(d: datetime) -> None:
    """The bulk writer's date terms (one conversion for the eight precisions) are Whoosh's,
    and the schema's date field is Whoosh's own class (older code opens the index)."""
    field = schema()["date"]
    assert type(field) is fields.DATETIME
    assert segments.datetime_terms(field, d) == list(field.index(d))


@settings(max_examples=300)
@given(st.text())
def test_id_terms_equal_whoosh_id(value: str) -> None:
    """The bulk writer's term of an id, month or source is Whoosh's, for any text."""
    for name in ("id", "month", "source"):
        field = schema()[name]
        assert segments._plain_id(field)
        assert list(segments.id_terms(value)) == list(field.index(value))


@settings(max_examples=300)
@given(st.lists(st.integers(0, 2**62), max_size=300), st.booleans())
def test_stable_order_is_a_stable_argsort(keys: list[int], few: bool) -> None:
    """Postings ordered by term keep their arrival order within a term, with keys of a few
    values (many ties) or large ones (past what fits beside the index: the fallback)."""
    a = np.array([k % 7 for k in keys] if few else keys, dtype=np.int64)
    assert segments.stable_order(a).tolist() == np.argsort(a, kind="stable").tolist()


def test_a_field_without_blocks_writes_nothing() -> None:
    empty = np.zeros(0, dtype=np.int64)
    f = blocks.FieldBlocks(
        empty,
        empty,
        empty,
        empty.astype(np.float32),
        empty.astype(bool),
        empty,
        empty,
        empty,
        empty,
        None,
        False,
    )
    for protocol in (2, 3):
        posts, offsets = blocks.posting_bytes(f, level=3, small=96, protocol=protocol)
        assert posts == b"" and len(offsets) == 0
