"""Serving at scale (issue 14), over real gunicorn on a real index of 800 ANT articles:

- an export (CSV and JSONL) is the search's whole set, in its order, with its fields, for
  the options that change the set (op, level, sort, dedupe, a filter);
- workers start with the index the master opened and warmed (its files already mapped, no
  SQLite connection inherited), a replacement after a new publish starts with the new one;
- the default worker count comes from the machine, and ``KASHAF_WORKERS`` overrides it.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers import gazetteer
from analyzers.tokenize import tokenize
from benchmarks.load import GUNICORN, ROOT, gunicorn, kashaf_index
from indexer.highlight import plain_text
from tests.conftest import shared_file
from web.sizing import machine_memory

ARTICLES = 800


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("exports")
    src = work / "in"
    src.mkdir()
    with gzip.open(shared_file("corpus/ant_multisource_v2.1.jsonl.gz"), "rt", encoding="utf-8") as f:
        (src / "ant.jsonl").write_text("".join(itertools.islice(f, ARTICLES)), "utf-8")
    run = kashaf_index(work / "index", src)
    assert run.returncode == 0, run.stderr[-2000:]
    return work


@pytest.fixture(scope="module")
def served(corpus):
    with gunicorn(corpus / "index", workers=2, log_dir=corpus / "logs") as srv:
        yield srv


def all_pages(url: str, params: dict) -> tuple[int, list[dict]]:
    """Every hit of a search, page by page through /api/search."""
    hits, offset = [], 0
    while True:
        page = requests.get(
            url + "/api/search", params={**params, "limit": 100, "offset": offset}, timeout=60
        )
        assert page.status_code == 200, page.text[:300]
        body = page.json()
        hits += body["hits"]
        offset += 100
        if offset >= body["total"]:
            return body["total"], hits


CASES = [
    {"q": "العام"},
    {"q": "الرئيس الحكومة", "op": "or"},
    {"q": "قال", "level": "root"},
    {"q": "الرئيس", "sort": "newest"},
    {"q": "قال", "sort": "oldest", "from": "2018-03"},
    {"q": "العام", "dedupe": "1"},
    {"q": "مصر"},  # a place: its mentions are marked in the snippets
    {"q": 'الولايات المتحدة "الاتحاد الأوروبي"', "op": "or"},  # a place named in two words; a phrase
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_export_is_the_searchs_whole_set_in_order(served, params) -> None:
    total, hits = all_pages(served.url, params)
    assert total > 100  # more than one page and more than one export batch
    jsonl = requests.get(served.url + "/api/search.jsonl", params=params, timeout=60)
    assert jsonl.status_code == 200
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert [r["id"] for r in rows] == [h["id"] for h in hits]
    for row, hit in zip(rows, hits, strict=True):
        assert (row["title"], row["date"], row["score"], row["matched"]) == (
            hit["title"],
            hit["date"],
            hit["score"],
            hit["matched"],
        )
        assert "<mark>" not in row["snippet"] and row["snippet"].replace("…", "").strip()
        assert row["snippet"] == plain_text(hit["snippet"])  # the snippet the search shows
    for row in rows[:: max(1, len(rows) // 15)]:  # places and groups: the report's own mentions
        doc = requests.get(served.url + "/api/documents/" + quote(row["id"], safe=""), timeout=60).json()
        ordered = sorted(doc["mentions"], key=lambda m: (m["field"] != "title", m["start"]))
        for key, kind, armed in (
            ("places", "place", None),
            ("groups", "group", True),
            ("organizations", "group", False),
        ):
            named = [
                m["entity_id"]
                for m in ordered
                if m["kind"] == kind and armed in (None, gazetteer.is_armed(m["entity_id"]))
            ]
            assert [e["id"] for e in row[key]] == list(dict.fromkeys(named))
    text = requests.get(served.url + "/api/search.csv", params=params, timeout=60).content.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in table] == [h["id"] for h in hits]
    assert [r["snippet"] for r in table] == [r["snippet"] for r in rows]
    for line, row in zip(table, rows, strict=True):  # the entities' Arabic labels and English names
        for key in ("places", "groups", "organizations"):
            kind = key[:-1]
            assert line[f"{kind}_ids"] == " | ".join(e["id"] for e in row[key])
            assert line[f"{kind}_labels"] == " | ".join(e["label"] for e in row[key])
            assert line[f"{kind}_labels_en"] == " | ".join(e["label_en"] for e in row[key])
    assert any(line["place_labels_en"] for line in table) or params["q"] != "مصر"


def mapped(pid: int, under: Path) -> set[str]:
    """Files under ``under`` that process ``pid`` has memory-mapped."""
    out = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith(str(under)):
            out.add(parts[5])
    return out


def open_fds(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return out


def fresh_worker(server, old: int) -> int:
    """Kill worker ``old``; the pid of the worker the master starts in its place, once it answers."""
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = [p for p in server.workers() if p != old]
        if len(new) == len(server.workers()) and new:
            try:
                if requests.get(server.url + "/healthz", timeout=5).status_code == 200:
                    return new[0]
            except requests.RequestException:
                pass
        time.sleep(0.05)
    raise AssertionError("no replacement worker")


def test_workers_start_with_the_index_the_master_warmed(corpus, tmp_path) -> None:
    index = corpus / "index"
    with gunicorn(index, workers=1, log_dir=tmp_path) as srv:
        (pid,) = srv.workers()
        gen = index / "generations" / (index / "CURRENT").read_text().strip()
        # Before any request touched the index: the worker already holds the published
        # generation's Whoosh files (mapped by the master, shared page by page).
        files = mapped(pid, gen / "whoosh")
        assert any(f.endswith((".seg", ".pst")) for f in files)  # compound or not
        # ... but no SQLite connection came across the fork: neither process holds the store.
        assert not [f for f in open_fds(srv.proc.pid) + open_fds(pid) if f.endswith("docs.sqlite")]
        r = requests.get(srv.url + "/api/search", params={"q": "سوريا"}, timeout=60)
        assert r.status_code == 200 and r.json()["total"] > 0
        assert [f for f in open_fds(pid) if f.endswith("docs.sqlite")]  # its own connection now
        # A new generation: the worker switches by itself, and drops the inherited one (the
        # master froze it out of the collector; the switch unfreezes and collects).
        extra = tmp_path / "extra.jsonl"
        extra.write_text(
            json.dumps({"id": "extra1", "text": "قصف على حلب"}, ensure_ascii=False) + "\n", "utf-8"
        )
        run = kashaf_index(index, extra)
        assert run.returncode == 0, run.stderr[-2000:]
        new_gen = index / "generations" / (index / "CURRENT").read_text().strip()
        assert requests.get(srv.url + "/readyz", timeout=30).json()["documents"] == ARTICLES + 1
        assert mapped(pid, gen / "whoosh") == set() and mapped(pid, new_gen / "whoosh")
        # A replacement worker is forked from a master that warmed the new generation.
        replacement = fresh_worker(srv, pid)
        assert mapped(replacement, new_gen / "whoosh") and not mapped(replacement, gen / "whoosh")
        assert requests.get(srv.url + "/readyz", timeout=30).json()["documents"] == ARTICLES + 1


def configured_workers(env: dict) -> int:
    """The worker count gunicorn itself reads from web/gunicorn.conf.py (``--print-config``)."""
    out = subprocess.run(
        [*GUNICORN, "--print-config", "-c", "web/gunicorn.conf.py", "web:create_app()"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("KASHAF_")}, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (line,) = [ln for ln in out.stdout.splitlines() if ln.split("=")[0].strip() == "workers"]
    return int(line.split("=")[1])


def test_default_worker_count_comes_from_memory_and_the_override_wins(corpus, tmp_path) -> None:
    memory_mb = machine_memory() >> 20
    cores = len(os.sched_getaffinity(0))
    assert configured_workers({}) == min(cores + 1, 8, memory_mb // 2 // 300)
    # Plan the whole machine's memory per worker: one worker (never none).
    assert configured_workers({"KASHAF_WORKER_MB": str(memory_mb)}) == 1
    assert configured_workers({"KASHAF_WORKER_MB": str(memory_mb), "KASHAF_WORKERS": "3"}) == 3
    # The running master starts what KASHAF_WORKERS says, whatever the memory plan.
    with gunicorn(
        corpus / "index", workers=2, log_dir=tmp_path, env={"KASHAF_WORKER_MB": str(memory_mb)}
    ) as srv:
        assert len(srv.workers()) == 2


def test_word_memos_are_bounded_together_and_tables_kept() -> None:
    from analyzers.lexicon import _tables
    from analyzers.normalize import normalize
    from analyzers.stem import light_stem
    from web import caches

    _tables()  # a one-table loader (the Arramooz lexicon): never emptied
    words = [f"كلمة{i}" for i in range(3000)]
    for w in words:
        light_stem(w + "ات")
        normalize(w)
    memos = caches.word_memos()
    assert light_stem in memos and _tables not in memos
    before = sum(fn.cache_info().currsize for fn in memos)
    assert before > 2000
    assert caches.trim(limit=before) == 0  # within the budget: nothing dropped
    dropped = caches.trim(limit=2000)
    assert dropped > 0 and sum(fn.cache_info().currsize for fn in memos) <= 1000
    assert _tables.cache_info().currsize == 1


def reference_window(levels: list, size: int) -> tuple[int, int]:
    """The densest-run loop snippets used before the running sums (indexer/highlight.py)."""
    hit = [lv is not None for lv in levels]
    best, best_count, count = 0, -1, 0
    for i in range(len(levels)):
        count += hit[i]
        if i >= size:
            count -= hit[i - size]
        if count > best_count:
            best, best_count = max(0, i - size + 1), count
    if best_count > 0:
        first = next(i for i in range(best, len(levels)) if hit[i])
        best = max(0, first - 3)
    return best, min(len(levels), best + size)


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(
    st.lists(st.sampled_from([None, None, None, "exact", "stem"]), min_size=1, max_size=120),
    st.integers(1, 40),
)
def test_snippet_window_is_the_densest_run(levels, size) -> None:
    from indexer.highlight import _window

    assert _window(levels, size) == reference_window(levels, size)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهويةىأإآؤئءـًٌٍَُِّْ ", min_size=1, max_size=12))
def test_a_light_stem_without_its_last_letter_is_part_of_the_word(word) -> None:
    """What Terms._may_stem relies on to skip stemming words that cannot match."""
    from analyzers.normalize import normalize
    from analyzers.stem import light_stem

    stem = light_stem(word)
    assert len(stem) <= 2 or stem[:-1] in normalize(word)


SNIPPET_QUERIES = (
    "الحكومة",
    "قوات النظام",
    "انسحاب",
    "ترامب روسيا",
    '"مجلس الأمن"',
    "الأمم المتحدة",
    "وزير الخارجية",
    "سوريا",
)


def _word_spans(text: str, every: int) -> list[tuple[int, int]]:
    """Mention-like spans: every ``every``-th token, some cut inside a word, one two words long."""
    toks = tokenize(text)
    spans = [(t.start, t.end) for t in toks[::every]]
    spans += [(t.start + 1, t.end + 2) for t in toks[3 :: every * 3]]
    if len(toks) > 12:
        spans.append((toks[10].start, toks[11].end))
    return spans


def test_fast_snippets_equal_the_general_path() -> None:
    """The fast path (a regex finds the tokens that may match; tokens counted only between
    matches) gives the general path's fragment and levels, and a title's levels, on real
    reports, with phrases and mention spans; nearly every report takes it."""
    from indexer.highlight import (
        _general_snippet,
        _marks,
        marked_tokens,
        matched_levels,
        snippet,
        terms_of,
    )
    from indexer.query import parse

    with gzip.open(shared_file("corpus/ant_multisource_v2.1.jsonl.gz"), "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in itertools.islice(f, 300)]
    fast = checked = 0
    for query in SNIPPET_QUERIES:
        for broad in (False, True):
            terms = terms_of(parse(query, "or"), broad)
            for i, doc in enumerate(docs):
                text, title = doc["text"], doc.get("title") or ""
                spans = _word_spans(text, 5 + i % 7) if i % 2 else []
                found = snippet(text, terms, spans)
                assert found == _general_snippet(text, terms, spans, 30)
                assert snippet(text, terms, spans, plain=True) == (plain_text(found[0]), found[1])
                assert matched_levels(title, terms) == set(marked_tokens(title, terms)[1]) - {None}
                checked += 1
                fast += _marks(text, terms, spans) is not None
    assert fast > 0.45 * checked  # level=root (broad) takes the general path, the rest the fast one


# Other spellings of a letter (composed, with a composing mark, as a presentation form).
_SPELLINGS = {
    "ا": ["أ", "إ", "آ", "ا\u0654", "ا\u0655", "ا\u0653", "ٱ"],
    "ء": ["ؤ", "ئ", "و\u0654", "ي\u0654"],
    "ه": ["ة", "ۀ", "ه\u0654"],
    "ي": ["ى", "ی", "ے"],
    "ل": ["ﻝ"],
    "ؤ": ["و\u0654", "ء"],
    "ئ": ["ي\u0654", "ء"],
}
_INSERTS = ["\u064e", "\u0651", "\u0652", "\u0640", "\u200c", "\u200d", "\u200f", "\u0670", "\u0610"]
_WORDS = [
    "قوات",
    "القوات",
    "لقوات",
    "النظام",
    "للنظام",
    "الامن",
    "ءامن",
    "بيت",
    "ابن",
    "وقوا",
    "قال",
    "مسؤول",
    "رئيس",
    "ﻻ",
    "12",
    "ab",
]


_QUERIES = ["قوات", "القوات", "ابن", "لقوات", '"قوات النظام"', "قوات الامن", "ءامن", "بيت", "مسؤول", "الرئيس"]


@st.composite
def odd_text_and_query(draw) -> tuple[str, str]:
    """A query and a text of words near its words (and others), respelled: letter variants,
    composing marks, harakat, tatweel, joiners, a bidi mark; mention spans anywhere."""
    query = draw(st.sampled_from(_QUERIES))
    near = [w for w in query.strip('"').split() if w] + _WORDS
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        word = list(draw(st.sampled_from(near)))
        for k in draw(st.lists(st.integers(0, len(word) - 1), max_size=3)):
            if word[k] in _SPELLINGS:
                word[k] = draw(st.sampled_from(_SPELLINGS[word[k]]))
        for k in draw(st.lists(st.integers(0, len(word)), max_size=2)):
            word.insert(k, draw(st.sampled_from(_INSERTS)))
        parts.append("".join(word) + draw(st.sampled_from([" ", " ", "، ", "\n", "-", "", "«", " . "])))
    return "".join(parts), query


@settings(max_examples=800, derandomize=True, deadline=None, database=None)
@given(
    case=odd_text_and_query(), cuts=st.lists(st.tuples(st.integers(0, 100), st.integers(1, 6)), max_size=4)
)
def test_fast_snippets_equal_the_general_path_on_odd_text(case, cuts) -> None:
    """Hamza and alef variants, harakat, tatweel, joiners, a bidi mark, a composing hamza, a
    presentation form, digits, Latin and mention spans anywhere: same fragment and levels."""
    from indexer.highlight import (
        _general_snippet,
        marked_tokens,
        matched_levels,
        snippet,
        terms_of,
    )
    from indexer.query import parse

    text, query = case
    terms = terms_of(parse(query, "or"), broad=False)
    spans = [(a, a + n) for a, n in cuts]
    found = snippet(text, terms, spans, 5)
    assert found == _general_snippet(text, terms, spans, 5)
    assert snippet(text, terms, spans, 5, plain=True) == (plain_text(found[0]), found[1])  # exports'
    assert matched_levels(text, terms, spans) == set(marked_tokens(text, terms, spans)[1]) - {None}
