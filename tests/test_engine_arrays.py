"""The ranking engine's arrays equal what Whoosh's own readers give, on a real index.

The engine reads posting lists a block at a time, field lengths and dates straight from
the segments' columns, and date ranges from the date column (indexer/ranking.py): each
is checked here against Whoosh's per-posting / per-document API on an index of several
shards and segments, with deleted documents (an update) and posting lists longer than
one 128-posting block.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as Q

from indexer import ranking
from indexer.build import build
from indexer.facets import facet_counts
from indexer.search import doc_set, plan, search
from indexer.store import open_current

WORDS = ("قصف", "الرقة", "غارات", "حلب", "انسحاب", "قوات", "النظام", "مدينة", "دير", "الزور")


def _docs(n: int, edit: int = 0) -> list[dict]:
    out = []
    for i in range(n):
        words = [WORDS[(i * k + edit) % len(WORDS)] for k in range(1, 2 + i % 7)]
        out.append(
            {
                "id": f"d{i}",
                "title": f"{WORDS[i % len(WORDS)]} {i}",
                "text": " ".join(words * (1 + i % 3)) + f" رقم{i % 50}",
                **({"date": f"2017-{1 + i % 12:02d}-{1 + i % 28:02d}"} if i % 5 else {}),
            }
        )
    return out


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("engine")
    src = folder / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in _docs(700)), "utf-8")
    build([src], folder / "ix", jobs=2)
    # An update: 60 documents change (deleted in their old segment, added in a new one).
    docs = _docs(700)
    docs[100:160] = _docs(160, edit=3)[100:160]
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), "utf-8")
    build([src], folder / "ix", jobs=2)
    return folder / "ix"


def _is_mapped(a: np.ndarray) -> bool:
    """Whether an array is a view of a memory-mapped file (``termstore.mapped_array``)."""
    while a is not None and not isinstance(a, np.memmap):
        a = a.base if isinstance(a, np.ndarray) else None
    return a is not None


def _whoosh_postings(reader, fieldname: str, text: str) -> tuple[list[int], list[float]]:
    m = reader.postings(fieldname, text)  # Whoosh's matcher skips deleted documents
    ids, tfs = [], []
    while m.is_active():
        ids.append(m.id())
        tfs.append(m.weight())
        m.next()
    return ids, tfs


def test_the_index_has_what_the_checks_need(ix: Path) -> None:
    with open_current(ix) as snap:
        reader = snap.searcher().reader()
        c = ranking.corpus(snap.searcher())
        assert len(c.leaves) >= 3 and reader.has_deletions() and not c.live.all()
        assert reader.doc_frequency("body_exact", "قصف") > 128  # several posting blocks


def test_postings_decoded_whole_equal_whooshs_matcher(ix: Path) -> None:
    with open_current(ix) as snap:
        s = snap.searcher()
        reader = s.reader()
        c = ranking.corpus(s)
        checked = 0
        for fieldname in ("body_exact", "title_exact", "body_stem", "body_root", "place", "month", "source"):
            for raw in reader.lexicon(fieldname):
                text = raw.decode("utf-8")
                ids, tf = c.postings(fieldname, text)
                live = c.live[ids]
                want_ids, want_tf = _whoosh_postings(reader, fieldname, text)
                assert ids[live].tolist() == want_ids, (fieldname, text)
                assert tf[live].tolist() == want_tf, (fieldname, text)
                checked += 1
        assert checked > 100


def test_positions_decoded_whole_equal_whooshs(ix: Path) -> None:
    with open_current(ix) as snap:
        s = snap.searcher()
        reader = s.reader()
        c = ranking.corpus(s)
        for word in ("قصف", "حلب", "رقم"):
            want = []
            m = reader.postings("body_exact", word)
            while m.is_active():
                want.extend(m.id() << ranking.POSITION_BITS | p for p in m.value_as("positions"))
                m.next()
            keys = c.positions("body_exact", word)
            assert keys[c.live[keys >> ranking.POSITION_BITS]].tolist() == want


def test_lengths_and_dates_equal_whooshs_per_document_values(ix: Path) -> None:
    with open_current(ix) as snap:
        s = snap.searcher()
        reader = s.reader()
        c = ranking.corpus(s)
        for fieldname in ("title_exact", "body_exact", "body_stem", "title_root"):
            want = [reader.doc_field_length(d, fieldname, 0) or 0 for d in range(c.n)]
            assert c.lengths(fieldname).tolist() == want, fieldname
        want_dates = []
        for leaf, _base in reader.leaf_readers():
            col = leaf.column_reader("date", translate=False)
            want_dates += [v if v and v < 1 << 63 else 0 for v in col]
        assert c.dates().tolist() == want_dates
        assert np.count_nonzero(c.dates()) > 100


@pytest.mark.parametrize(
    "start,end",
    [
        (datetime(2017, 3, 1), datetime(2017, 6, 30, 23, 59)),
        (None, datetime(2017, 2, 5)),
        (datetime(2017, 11, 3), None),
    ],
)
def test_date_ranges_match_what_whoosh_matches(ix: Path, start, end) -> None:
    with open_current(ix) as snap:
        s = snap.searcher()
        q = Q.DateRange("date", start, end)
        want = set(q.docs(s))
        assert want and doc_set(q, s) == want


def test_totals_and_facets_agree_with_whoosh_across_segments(ix: Path) -> None:
    with open_current(ix) as snap:
        s = snap.searcher()
        for query in ("قصف", "الرقة حلب", "قصف OR انسحاب", "مدينة date:2017-03"):
            p = plan(query, "and")
            want = {h.docnum for h in s.search(p.query, filter=p.filter, limit=None)}
            r = search(snap, query, limit=5)
            assert r["total"] == len(want), query
            mask = np.zeros(ranking.corpus(s).n, dtype=bool)
            mask[list(want)] = True
            assert r["facets"]["date"] == facet_counts(s, mask)["date"]
            assert sum(m["count"] for m in r["facets"]["date"]) <= r["total"]


def test_postings_cache_stays_within_its_budget(ix: Path, monkeypatch) -> None:
    monkeypatch.setenv("KASHAF_ENGINE_CACHE_MB", "0.004")  # about 4 KB
    assert ranking.cache_budget() == int(0.004 * 2**20)
    with open_current(ix) as snap:
        s = snap.searcher()
        c = ranking.Corpus(s.reader(), mapped=False)  # lists decoded here: cached
        for word in WORDS:
            c.postings("body_exact", word)
            c.postings("body_stem", word)
            assert c._cached <= c.budget
        assert 0 < len(c._postings) < 2 * len(WORDS)
        mapped = ranking.Corpus(s.reader())  # lists read from the build's arrays: nothing cached
        for word in WORDS:
            mapped.postings("body_exact", word)
        assert not mapped._postings


def _walk(q):
    yield q
    if not isinstance(q, ranking.WordQuery):
        for child in q.children():
            yield from _walk(child)


def _dense_reference(q, s, c, bm) -> tuple[np.ndarray, np.ndarray]:
    """The engine's BM25F of an OR of words, the plain dense way (a vector per level)."""
    mask = np.zeros(c.n, dtype=bool)
    score = np.zeros(c.n)
    for word in q.subqueries:
        assert isinstance(word, ranking.WordQuery)
        levels: dict[str, list] = {}
        for spec in word.spec:
            levels.setdefault(spec[2], []).append(spec)
        for level, specs in levels.items():
            acc = np.zeros(c.n)
            df = 0
            for fieldname, form, _lv, fw, _ in specs:
                ids, tf = c.postings(fieldname, form)
                if len(ids):
                    lengths = np.array([s.reader().doc_field_length(int(d), fieldname, 0) for d in ids])
                    acc[ids] += (
                        fw
                        * tf
                        / (
                            (1 - bm.b_of(fieldname))
                            + bm.b_of(fieldname) * lengths / s.avg_field_length(fieldname)
                        )
                    )
                    df = max(df, s.reader().doc_frequency(fieldname, form))
            if df:
                hit = acc > 0
                if level in word.strict:
                    mask |= hit
                w = specs[0][4] * ranking.idf_of(df, c.n, bm.idf)
                score[hit] += w * acc[hit] * (bm.K1 + 1) / (acc[hit] + bm.K1)
    return mask & c.live, score


@pytest.mark.parametrize("query", ["قصف الرقة حلب", "انسحاب قوات النظام", "مدينة دير الزور قصف"])
def test_sparse_bm25f_equals_the_dense_computation(ix: Path, query: str) -> None:
    from indexer.search import DEFAULT_SCORING

    with open_current(ix) as snap:
        s = snap.searcher()
        c = ranking.corpus(s)
        p = plan(query, "or")
        bm = DEFAULT_SCORING.bm25()
        found = [n for n in _walk(p.query) if isinstance(n, ranking.WordQuery)]
        assert len(found) >= 3, p.query
        words = Q.Or(found)
        default, score = ranking.evaluate(words, s, bm)
        want_mask, want_score = _dense_reference(words, s, c, bm)
        assert default.any() and (default == want_mask).all()
        assert np.allclose(score[default], want_score[default], rtol=1e-12)


def test_oldest_first_puts_undated_last() -> None:
    from indexer.search import sort_key

    dates = np.array([5, 0, 9])
    assert [d for d, _ in ranking.top(np.ones(3, bool), np.zeros(3), 3, sort_key(dates, "oldest"))] == [
        0,
        2,
        1,
    ]
    assert [d for d, _ in ranking.top(np.ones(3, bool), np.zeros(3), 3, sort_key(dates, "newest"))] == [
        2,
        0,
        1,
    ]


def test_build_writes_the_arrays_readers_map(ix: Path) -> None:
    from indexer import arrays
    from indexer.facets import postings

    with open_current(ix) as snap:
        s = snap.searcher()
        c = ranking.corpus(s)
        assert c.mapped is not None and _is_mapped(c.live)
        computed = ranking.Corpus(s.reader(), mapped=False)
        assert computed.mapped is None and not _is_mapped(computed.live)
        assert (c.live == computed.live).all() and (c.dates() == computed.dates()).all()
        assert (c.dated() == computed.dated()).all() and _is_mapped(c.dated())
        for fname in ("title_exact", "body_stem", "body_root"):
            assert _is_mapped(c.length_bytes(fname))
            assert (c.length_bytes(fname) == computed.length_bytes(fname)).all()
        table = postings(s)
        for fname in arrays.FACET_FIELDS:
            names, ids, offsets = table[fname].names, table[fname].ids, table[fname].offsets
            assert _is_mapped(ids)
            from indexer.facets import read_table

            want = read_table(s.reader(), computed, fname)
            assert names == want[0] and (ids == want[1]).all() and (offsets == want[2]).all()
        # Arrays written for other segments are not used.
        meta = snap.index_dir / "generations" / str(snap.generation) / "engine" / "meta.json"
        saved = meta.read_text()
        try:
            meta.write_text(saved.replace('"segments": [', '"segments": ["x", '))
            assert arrays.load(s.reader()) is None
        finally:
            meta.write_text(saved)
        assert arrays.load(s.reader()) is not None


@pytest.mark.parametrize(
    "words,present",
    [
        (("الرقه", "غارات"), True),
        (("حلب", "النظام", "الزور"), True),
        (("قصف", "قصف"), True),
        (("رقم", "قصف"), False),
    ],
)
def test_phrases_read_on_candidates_match_whooshs_phrases(ix: Path, words, present: bool) -> None:
    with open_current(ix) as snap:
        s = snap.searcher()
        c = ranking.corpus(s)
        want = set(Q.Phrase("body_exact", list(words)).docs(s))
        docs = c.phrase_docs("body_exact", list(words))
        assert {int(d) for d in docs if c.live[d]} == want
        assert (c.phrase_docs("body_exact", list(words)) == docs).all()  # cached answer
    assert bool(want) == present, words


def test_blocks_without_wanted_documents_are_skipped_and_no_wanted_one_is_lost(ix: Path) -> None:
    with open_current(ix) as snap:
        c = ranking.corpus(snap.searcher())
        leaf = max((lf for lf, _ in c.leaves), key=lambda lf: lf.doc_frequency("body_exact", "قصف"))
        ids, _tf, _ = ranking.read_postings(leaf, "body_exact", "قصف")
        assert len(ids) > 128  # two blocks or more
        for at in ([127], [0, 128], [len(ids) - 1], [128], [126, 127]):
            # Whoosh fills blocks of 128 postings: exactly the blocks holding ``at`` are read.
            blocks = {i // 128 for i in at}
            want = [d for i, d in enumerate(ids.tolist()) if i // 128 in blocks]
            got, _tf, vals = ranking.read_postings(leaf, "body_exact", "قصف", True, ids[at])
            assert got.tolist() == want and len(vals) == len(want)


@pytest.mark.parametrize("k", [1, 3, 10, 50])
@pytest.mark.parametrize("level", ["stem", "root"])
def test_top_k_without_scoring_every_match_equals_the_whole_evaluation(
    ix: Path, k: int, level: str, monkeypatch
) -> None:
    # MaxScore (ranking.top_scored): the rare words first, then the frequent words only on
    # the candidates they leave. The same documents, scores (to the bit) and order as
    # scoring every match, ties (many here: the documents repeat words) by document number.
    from indexer.search import DEFAULT_SCORING, SearchOptions

    monkeypatch.setattr(ranking, "PRUNE_MIN_DOCS", 0)  # (a collection this small is not pruned)
    pruned = []
    within = ranking._Within.__init__

    def spy(self, c, docs) -> None:  # records each pruned evaluation's candidate count
        pruned.append(len(docs))
        within(self, c, docs)

    monkeypatch.setattr(ranking._Within, "__init__", spy)
    bm = DEFAULT_SCORING.bm25()
    queries = [
        "رقم7 قصف حلب",
        "رقم3 رقم4 النظام قوات مدينة",
        "الرقة انسحاب رقم12",
        "دير الزور رقم30 غارات",
        '"الرقة غارات" حلب رقم9',
        "قصف -حلب رقم1 النظام",
        "قوات النظام",
        "رقم49",
    ]
    with open_current(ix) as snap:
        s = snap.searcher()
        c = ranking.corpus(s)
        for q in queries:
            p = plan(q, "or", SearchOptions(level=level), DEFAULT_SCORING, s)
            default, broad, score = ranking.evaluate_levels(p.query, s, bm)
            want = ranking.top(broad if p.broad else default, score, k)
            assert ranking.top_scored(p.query, s, bm, k, p.broad) == want, q
    assert pruned and min(pruned) < c.n // 4  # the pruning ran, on a fraction of the documents


@pytest.mark.parametrize(
    "query",
    ["قصف حلب", "قوات النظام الرقة", '"الرقة غارات" حلب', "دير الزور قصف", "قصف -حلب النظام", "قوات مدينة"],
)
def test_and_over_its_cheapest_childs_documents_equals_the_whole_evaluation(
    ix: Path, query: str, monkeypatch
) -> None:
    # An And evaluated over its rarest word's documents (ranking._Evaluation.fresh_and)
    # matches and scores exactly as when every word is scored over the whole index.
    from indexer.search import DEFAULT_SCORING

    bm = DEFAULT_SCORING.bm25()
    with open_current(ix) as snap:
        s = snap.searcher()
        p = plan(query, "and", sc=DEFAULT_SCORING, searcher=s)
        runs = {}
        for ratio in (math.inf, 0.0):  # never, always over the cheapest child's documents
            monkeypatch.setattr(ranking, "AND_RATIO", ratio)
            runs[ratio] = ranking.evaluate_levels(p.query, s, bm)
        (d1, b1, s1), (d2, b2, s2) = runs[math.inf], runs[0.0]
        assert b1.any() and (d1 == d2).all() and (b1 == b2).all()
        assert (s1[b1] == s2[b1]).all()  # to the bit


def test_small_matched_sets_are_counted_from_their_documents_values(ix: Path) -> None:
    # Facet counts of a small set come from each matched document's values (the build's
    # per-document arrays, indexer.arrays.by_document), of a large one from a gather over
    # every posting: the same counts, for every facet field and set size.
    from indexer import facets

    rng = np.random.default_rng(0)
    with open_current(ix) as snap:
        s = snap.searcher()
        tables = facets.postings(s)
        n = ranking.corpus(s).n
        for fname, table in tables.items():
            assert table.by_doc is not None, fname  # mapped from the generation's arrays
            plain = facets.FacetTable(table.names, table.ids, table.offsets)
            for size in (0, 1, 7, n // 10, n // 5, n // 2, n):
                matched = np.zeros(n, dtype=bool)
                matched[rng.choice(n, size, replace=False)] = True
                want = [int(np.count_nonzero(matched[ids])) for ids in table.values()]
                assert table.counts(matched).tolist() == want == plain.counts(matched).tolist()


def _grown(tmp_path: Path, total: int, jobs: int) -> None:
    """``tmp_path/ix``: 400 documents, then an update to ``total`` (a new segment)."""
    src = tmp_path / "docs.jsonl"
    for docs in (_docs(400), _docs(400) + _docs(total)[400:]):
        src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), "utf-8")
        build([src], tmp_path / "ix", jobs=jobs)


def _forms(s, fname: str) -> set[str]:
    forms = {t.text for word in WORDS for t in s.schema[fname].analyzer(word)}
    return forms | {"غيرموجودة", "x"}  # and terms no segment holds


def test_lists_decoded_by_the_build_equal_whooshs_and_are_reused(tmp_path: Path, monkeypatch) -> None:
    # The build keeps every list of the scored fields decoded (indexer/termstore.py: written
    # by the shard writers, with one term table); readers take them from there. They equal
    # the lists decoded from Whoosh's blocks (and Whoosh's document frequencies), a segment
    # an update left alone is hard-linked into the new generation, and lists decoded from
    # Whoosh's blocks when no writer staged them are the same files.
    from indexer import arrays, termstore

    def decoded(*_args) -> None:
        raise AssertionError("the shard writers wrote every segment's lists: none to decode")

    with monkeypatch.context() as m:
        m.setattr(termstore, "decode_segment", decoded)
        _grown(tmp_path, 460, jobs=2)  # an update: 60 more documents, a new segment
    with open_current(tmp_path / "ix") as snap:
        s = snap.searcher()
        c = ranking.corpus(s)
        plain = ranking.Corpus(s.reader(), mapped=False)
        assert c.terms is not None and len(c.leaves) >= 3
        several = positional = 0
        for fname in termstore.FIELDS:
            for form in _forms(s, fname):
                got, want = c.postings(fname, form), plain.postings(fname, form)
                assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
                assert got[0].dtype == np.intp and got[1].dtype == np.float32
                assert c.doc_frequency(fname, form) == s.reader().doc_frequency(fname, form)
                several += len(c.terms.entries(fname, form)[0]) > 1
                if fname in termstore.POSITIONAL:  # positions from the build's arrays
                    assert c.positions(fname, form).tolist() == plain.positions(fname, form).tolist()
                    cand = np.arange(0, c.n, 3, dtype=np.int64)
                    got_keys, want_keys = (
                        c.phrase_keys(fname, form, cand),
                        plain.phrase_keys(fname, form, cand),
                    )
                    assert got_keys.tolist() == want_keys.tolist()
                    positional += len(got_keys)
        assert several > 10  # lists held by several segments were compared
        assert positional > 100
        with_lists = search(snap, "قصف الرقة", limit=20)
    gdirs = sorted((tmp_path / "ix" / "generations").iterdir(), key=lambda p: int(p.name))
    first, last = (g / "engine" / "postings" for g in gdirs[-2:])
    shared = {p.name for p in first.iterdir()} & {p.name for p in last.iterdir()}
    assert shared and all(
        (first / sid / "body_stem.ids.npy").stat().st_ino == (last / sid / "body_stem.ids.npy").stat().st_ino
        for sid in shared
    )
    assert not (gdirs[-1] / termstore.STAGE).exists()  # staged lists moved into engine/
    # Decoded again from Whoosh's blocks (no staged or earlier lists): the same arrays.
    saved = {p.relative_to(last): np.load(p) for p in last.rglob("*.npy")}
    shutil.rmtree(gdirs[-2] / "engine" / "postings")  # (else linked from there again)
    arrays.write(gdirs[-1])
    again = {p.relative_to(last): np.load(p) for p in last.rglob("*.npy")}
    segments = [p for p in last.iterdir() if p.is_dir()]
    files = sum(len(termstore.parts_of(f)) for f in termstore.FIELDS)
    assert saved.keys() == again.keys() and len(saved) == files * len(segments)
    for name, arr in saved.items():
        assert arr.dtype == again[name].dtype and np.array_equal(arr, again[name]), name
    with open_current(tmp_path / "ix") as snap:
        without = search(snap, "قصف الرقة", limit=20)
    assert [(h["id"], h["score"]) for h in with_lists["hits"]] == [
        (h["id"], h["score"]) for h in without["hits"]
    ]
    assert with_lists["total"] == without["total"] and with_lists["facets"] == without["facets"]


def test_postings_within_candidates_equal_the_whole_list_cut_to_them(tmp_path: Path) -> None:
    # A list read only at some candidates (an And over its rarest word's documents) gives
    # exactly the whole list's postings there, for few and for many candidates.
    from indexer import termstore

    _grown(tmp_path, 430, jobs=1)
    rng = np.random.default_rng(7)
    with open_current(tmp_path / "ix") as snap:
        s = snap.searcher()
        c = ranking.corpus(s)
        for fname in termstore.FIELDS:
            for form in _forms(s, fname):
                ids, tf = c.postings(fname, form)
                for size in (0, 1, 5, c.n // 10, c.n // 2, c.n):
                    docs = np.sort(rng.choice(c.n, size, replace=False)).astype(np.int64)
                    keep = np.isin(ids, docs)
                    marked = np.zeros(c.n, dtype=bool)
                    marked[docs] = True
                    for got in (
                        c.postings_within(fname, form, docs),
                        c.postings_within(fname, form, docs, marked),
                    ):
                        assert got[0].tolist() == ids[keep].tolist() and got[1].tolist() == tf[keep].tolist()


def _clitic_phrases(q) -> list:
    found = [q] if isinstance(q, ranking.CliticPhrase) else []
    for child in getattr(q, "subqueries", ()) or ():
        found += _clitic_phrases(child)
    for side in ("a", "b", "child"):
        if isinstance(getattr(q, side, None), ranking.Q.Query):
            found += _clitic_phrases(getattr(q, side))
    return found


@pytest.fixture(scope="module")
def forms_ix(tmp_path_factory) -> Path:
    # Reports holding several written forms of one phrase (with and without a clitic),
    # each form with its own frequencies: a document's best form is a real choice here.
    texts = [
        "قالت قوات النظام إن لقوات النظام مواقع وإن قوات النظام انسحبت",
        "ولقوات النظام حضور وبقوات النظام قصف ولقوات النظام دبابات",
        "قوات النظام في حلب",
        "دخلت قوات النظام الرقة وبقوات النظام أحاطت وحدات أخرى",
        "بقوات النظام وبقوات النظام وبقوات النظام",
        "غارات على الرقة وعلى حلب",
    ] * 4
    folder = tmp_path_factory.mktemp("forms")
    src = folder / "docs.jsonl"
    docs = [
        {"id": f"f{i}", "title": "", "text": t + " " + WORDS[i % len(WORDS)]} for i, t in enumerate(texts)
    ]
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), "utf-8")
    build([src], folder / "ix", jobs=1)
    return folder / "ix"


@pytest.mark.parametrize("which", ["engine", "forms"])
@pytest.mark.parametrize("op", ["and", "or"])
def test_a_phrase_scores_its_best_form_sparsely_as_the_dense_way_did(
    ix: Path, forms_ix: Path, op: str, which: str
) -> None:
    # ranking._Evaluation.add_phrase reads each form's documents and their scores and keeps
    # the best per document without collection-sized vectors. Reference: the dense way it
    # replaced (each form evaluated over the whole collection, best = max(0, its forms'
    # scores where they match)). The same matches and scores, to the bit, also within a
    # candidate set (ranking._Within, as MaxScore and And use it).
    from indexer.search import DEFAULT_SCORING, SearchOptions

    bm = DEFAULT_SCORING.bm25()
    queries = [
        '"الرقة غارات" حلب',
        '"قوات النظام" قصف',
        "دير الزور",
        '"غارات حلب" "النظام مدينة"',
        '"قصف الرقة"',
    ]
    chosen = 0  # documents where the forms' scores differ (the best is not the only one)
    with open_current(ix if which == "engine" else forms_ix) as snap:
        s = snap.searcher()
        c = ranking.corpus(s)
        seen = 0
        for q in queries:
            p = plan(q, op, SearchOptions(), DEFAULT_SCORING, s)
            for node in _clitic_phrases(p.query):
                for source in (c, ranking._Within(c, np.arange(0, c.n, 3))):
                    ev = ranking._Evaluation(s, source, bm)
                    mask, score = np.zeros((2, c.n), dtype=bool), np.zeros(c.n)
                    ev.add_phrase(node, mask, score)
                    best, hit = np.zeros(c.n), np.zeros((2, c.n), dtype=bool)
                    worst = np.full(c.n, np.inf)
                    for form in node.forms:
                        words = form.words if isinstance(form, ranking.Q.Phrase) else [form.text]
                        if all((form.fieldname, w) in s.reader() for w in words):
                            m, sc = ev.fresh(form)
                            hit |= m
                            np.maximum(best, np.where(m[1], sc, 0.0), out=best)
                            np.minimum(worst, np.where(m[1], sc, np.inf), out=worst)
                    chosen += int(np.count_nonzero(hit[1] & (worst < best)))
                    assert (mask == hit).all(), q
                    assert (score[hit[1]] == best[hit[1]]).all() and not score[~hit[1]].any(), q
                    seen += int(hit[1].sum() > 0)
        assert seen >= (4 if which == "engine" else 2)  # phrases that matched, whole and within candidates
    if which == "forms":
        assert chosen > 0


def test_arrays_of_an_older_version_are_written_anew_by_the_next_build(tmp_path: Path) -> None:
    # Readers ignore arrays another version wrote (the engine then decodes in process, slowly):
    # the next `kashaf index`, even with nothing changed, publishes a generation of the same
    # documents with arrays of this version; the run after that changes nothing.
    from indexer import arrays
    from indexer.store import current_generation, generation_dir

    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in _docs(120)), "utf-8")
    build([src], tmp_path / "ix", jobs=1)
    with open_current(tmp_path / "ix") as snap:
        before = search(snap, "قصف الرقة", limit=20)
    first = current_generation(tmp_path / "ix")
    meta = generation_dir(tmp_path / "ix", first) / "engine" / "meta.json"
    meta.write_text(meta.read_text("utf-8").replace(f'"version": {arrays.VERSION}', '"version": 2'), "utf-8")
    assert not arrays.up_to_date(generation_dir(tmp_path / "ix", first))
    report = build([src], tmp_path / "ix", jobs=1)
    second = current_generation(tmp_path / "ix")
    assert second != first and report.added == report.updated == 0 and report.documents == 120
    assert arrays.up_to_date(generation_dir(tmp_path / "ix", second))
    with open_current(tmp_path / "ix") as snap:
        assert ranking.corpus(snap.searcher()).terms is not None
        after = search(snap, "قصف الرقة", limit=20)
    assert [(h["id"], h["score"]) for h in after["hits"]] == [(h["id"], h["score"]) for h in before["hits"]]
    assert after["total"] == before["total"]
    build([src], tmp_path / "ix", jobs=1)
    assert current_generation(tmp_path / "ix") == second
    # Arrays of this version written before the story groups were: the next build adds them.
    meta = generation_dir(tmp_path / "ix", second) / "engine" / "meta.json"
    meta.write_text(meta.read_text("utf-8").replace('"groups": true', '"groups": false'), "utf-8")
    assert not arrays.up_to_date(generation_dir(tmp_path / "ix", second))
    with open_current(tmp_path / "ix") as snap:  # meanwhile computed from the store, the same codes
        from indexer import dedupe

        computed = dedupe.groups(snap.searcher(), snap.db).code
        assert not isinstance(computed.base, np.memmap)
        assert (computed == np.load(meta.parent / "groups.npy")).all()
    build([src], tmp_path / "ix", jobs=1)
    third = current_generation(tmp_path / "ix")
    assert third != second and arrays.up_to_date(generation_dir(tmp_path / "ix", third))
    with open_current(tmp_path / "ix") as snap:
        assert ranking.corpus(snap.searcher()).mapped.groups() is not None


def test_lists_of_segments_whooshs_merges_wrote_equal_whooshs(tmp_path: Path) -> None:
    # Updates of 50 documents each: Whoosh's merge policy folds the small segments into a
    # bigger one, whose postings (and positions) reach the shard writer through its merge
    # (segments.BulkWriter._take_merged), not through the analysis. Every file the build
    # wrote for each segment equals what decode_segment reads from Whoosh's blocks.
    from indexer import store, termstore
    from indexer.arrays import _segment_ids

    src = tmp_path / "docs.jsonl"
    docs = _docs(600)
    for k in range(1, 13):
        src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs[: 50 * k]), "utf-8")
        build([src], tmp_path / "ix", jobs=1)
    g = max((tmp_path / "ix" / "generations").iterdir(), key=lambda p: int(p.name))
    with store.open_searcher(store.open_shards(g)) as s:
        leaves = list(s.reader().leaf_readers())
        assert max(leaf.doc_count_all() for leaf, _ in leaves) > 50  # a merged segment
        for (leaf, _base), sid in zip(leaves, _segment_ids(s.reader()), strict=True):
            termstore.decode_segment(leaf, tmp_path / "decoded" / sid)
            built = sorted((g / "engine" / "postings" / sid).iterdir())
            assert [f.name for f in built] == sorted(f.name for f in (tmp_path / "decoded" / sid).iterdir())
            for f in built:
                a, b = np.load(f), np.load(tmp_path / "decoded" / sid / f.name)
                assert a.dtype == b.dtype and np.array_equal(a, b), (sid, f.name)
