"""The query is read as the page says (issue 11 §2) and facets mean what they say (§3).

One small index of documents written for these tests, built by the real ``kashaf index``
and served by real gunicorn: the search core is called on the index directory, the pages
are fetched over HTTP, and the echo line is looked at in Chromium.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from benchmarks.load import gunicorn, kashaf_index
from indexer import search as S
from indexer.search import search

DOCS = [
    {
        "id": "both",
        "title": "قصف على حلب وإدلب",
        "text": "قصفت الطائرات مدينة حلب ومدينة إدلب صباح اليوم، وقالت الاستخبارات إن قوات النظام تتقدم.",
        "date": "2018-02-10",
    },
    {
        "id": "aleppo",
        "title": "معارك في حلب",
        "text": "اندلعت معارك في حلب بين قوات النظام والمعارضة بعد قصف عنيف.",
        "date": "2018-02-11",
    },
    {
        "id": "idlib",
        "title": "غارة على إدلب",
        "text": "شنت الطائرات غارة على إدلب وانسحبت الفصائل من البلدة ثم انسحبوا منها.",
        "date": "2018-02-12",
    },
    {
        "id": "afrin",
        "title": "تركيا تقصف عفرين",
        "text": "قصفت تركيا مدينة عفرين وقوات النظام تراقب، وقصف المدفعية مستمر.",
        "date": "2018-02-13",
    },
    {
        "id": "withdraw",
        "title": "انسحب المقاتلون",
        "text": "انسحبوا من المدينة بعد أن انسحبت القوات، ثم انسحبوا ثانية.",
        "date": "2018-02-14",
    },
    {
        "id": "clitic",
        "title": "خبر",
        "text": "وانسحبوا جميعاً فجر اليوم.",
        "date": "2018-02-15",
    },
    {
        "id": "title-only",
        "title": "انسحاب الوحدات",
        "text": "أعلنت الوحدات خروجها من البلدة.",
        "date": "2018-02-16",
    },
    {
        "id": "body-only",
        "title": "خبر عاجل",
        "text": "أعلن القائد انسحاب الوحدات من البلدة.",
        "date": "2018-02-17",
    },
    {
        # Neighbours of the names that a careless did-you-mean picks (ودرعا → ودعا …).
        "id": "false-friends",
        "title": "الأخبار",
        "text": "ودعا الرئيس إلى الهدوء والسيطرة على الطريق، فقد نزح أغلب السكان.",
        "date": "2018-02-18",
    },
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("reading")
    (work / "docs.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS), "utf-8")
    result = kashaf_index(work / "index", work / "docs.jsonl")
    assert result.returncode == 0, result.stderr
    return work / "index"


@pytest.fixture(scope="module")
def site(index_dir, tmp_path_factory):
    with gunicorn(index_dir, workers=1, log_dir=tmp_path_factory.mktemp("logs")) as server:
        yield server.url


def ids(index_dir: Path, q: str, **kw) -> list[str]:
    return sorted(h["id"] for h in search(index_dir, q, limit=50, **kw)["hits"])


# --- the search core ---------------------------------------------------------------------


def test_arabic_or_and_lowercase_operators(index_dir) -> None:
    assert ids(index_dir, "=تقصف أو =انسحبت") == ["afrin", "withdraw"]
    assert ids(index_dir, "=تقصف =انسحبت") == []
    assert ids(index_dir, "=تقصف or =انسحبت") == ["afrin", "withdraw"]
    assert ids(index_dir, "قصف") == ["afrin", "aleppo", "both"]
    assert ids(index_dir, "قصف not تركيا") == ["aleppo", "both"]
    assert ids(index_dir, "=قصف and =عنيف", op="or") == ["aleppo"]


def test_prefix_matches_exact_forms_starting_so(index_dir) -> None:
    r = search(index_dir, "انسحب*", limit=50)
    # انسحبت، انسحبوا، انسحب; not وانسحبوا (a clitic before), not انسحاب (another word).
    assert sorted(h["id"] for h in r["hits"]) == ["idlib", "withdraw"]
    assert r["explain"]["prefixes"] == [
        {"prefix": "انسحب", "terms": ["انسحبوا", "انسحب", "انسحبت"], "seen": 3, "complete": True}
    ]
    assert r["explain"]["read_as"] == "انسحب*"
    assert r["explain"]["notes"] == []


def test_prefix_expansion_is_capped_and_says_so(index_dir, monkeypatch) -> None:
    monkeypatch.setattr(S, "MAX_PREFIX_TERMS", 2)
    r = search(index_dir, "انسحب*", limit=50)
    assert r["explain"]["prefixes"][0]["terms"] == ["انسحبوا", "انسحب"]  # by frequency, then form
    assert r["explain"]["notes"] == ["انسحب*: 3 words start with it; the 2 most frequent are searched"]
    monkeypatch.setattr(S, "MAX_PREFIX_SCAN", 1)
    r = search(index_dir, "انسحب*", limit=50)
    note = "انسحب*: more than 1 words start with it; the 1 most frequent are searched"
    assert r["explain"]["notes"] == [note]


def test_title_field(index_dir) -> None:
    assert ids(index_dir, "=انسحاب") == ["body-only", "title-only"]
    assert ids(index_dir, "title:=انسحاب") == ["title-only"]
    assert ids(index_dir, 'title:"انسحاب الوحدات"') == ["title-only"]
    assert search(index_dir, "title:=انسحاب")["explain"]["read_as"] == "title:=انسحاب"


def test_place_and_place_means_both(index_dir) -> None:
    assert ids(index_dir, "place:حلب place:إدلب") == ["afrin", "aleppo", "both", "idlib"]
    assert ids(index_dir, "place:حلب OR place:إدلب") == ["afrin", "aleppo", "both", "idlib"]
    r = search(index_dir, "place:حلب AND place:إدلب")
    assert [h["id"] for h in r["hits"]] == ["both"]
    assert r["explain"]["notes"] == []
    assert r["explain"]["read_as"] == "place:sy-aleppo AND place:sy-idlib"


def test_page_filters_and_query_filters_both_hold(index_dir) -> None:
    # A facet chosen on the page narrows a query that has its own place: filter.
    assert ids(index_dir, "place:sy", place="sy-idlib") == ["both", "idlib"]
    assert ids(index_dir, "place:حلب", place="sy-aleppo-afrin-district") == ["afrin"]
    # Values of one facet: any of them.
    assert ids(index_dir, "", place=["sy-idlib", "sy-aleppo-afrin-district"]) == ["afrin", "both", "idlib"]


def test_explain_reads_the_issue_example(index_dir) -> None:
    ex = search(index_dir, 'قصف NOT تركيا "قوات النظام" place:sy')["explain"]
    assert ex["read_as"] == '(قصف AND "قوات النظام") NOT تركيا place:sy'
    node = ex["reading"]["node"]
    assert node["type"] == "and"
    assert [c["type"] for c in node["children"]] == ["word", "phrase"]
    assert node["children"][1]["words"] == ["قوات", "النظام"]
    assert [(c["type"], c["text"], [e["id"] for e in c["entities"]]) for c in node["excluded"]] == [
        ("name", "تركيا", ["tr"])
    ]
    assert ex["reading"]["filters"]["place"] == ["sy"]


def test_did_you_mean_fixes_typos_and_leaves_names_alone(index_dir) -> None:
    # الاستخبرات still matches الأخبار through the root خبر: a suggestion all the same.
    assert search(index_dir, "الاستخبرات")["suggestion"] == "الاستخبارات"
    # Names with clitics are no typos of their neighbours (ودعا، والسيطرة، أغلب are in the index).
    r = search(index_dir, "قصف إدلب ودرعا والقنيطرة الاستخبرات")
    assert r["total"] == 0 and r["suggestion"] == "قصف إدلب ودرعا والقنيطرة الاستخبارات"
    assert search(index_dir, "ودرعا والقنيطرة")["suggestion"] is None
    # A word the index holds only with another ending is no typo either (stem level).
    assert search(index_dir, "الانسحابات")["suggestion"] is None


# --- the page, over HTTP -----------------------------------------------------------------


EXAMPLE = 'قصف NOT تركيا "قوات النظام" place:sy'


def page(site: str, query: str, **params) -> str:
    r = requests.get(f"{site}/search", params={"q": query, **params}, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.text


def echo(text: str) -> str:
    """The echo block's text, tags removed, spaces collapsed."""
    m = re.search(r'<div class="explain" id="explain">(.*?)</div>', text, re.S)
    assert m, "no echo line"
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", "", m.group(1)))).strip()


def test_echo_line_states_the_query_as_read(site) -> None:
    got = echo(page(site, EXAMPLE))
    assert got == "البحث عن: كل ما يلي: قصف، «قوات النظام» باستثناء: تركيا (مكان: تركيا) المكان: سوريا"
    assert "كل الكلمات" not in got
    long = echo(page(site, "قصف غارة معارك هجوم طائرات مدفعية"))
    assert long.count("كل ما يلي") == 1 and "كل الكلمات" not in long


def test_echo_line_shows_what_was_ignored_in_the_page_language(site) -> None:
    assert echo(page(site, "ليس قصف OR")) == "البحث عن: قصف تم تجاهل: ليس تم تجاهل «OR» في آخر البحث"
    en = echo(page(site, "ليس قصف OR", lang="en"))
    assert en == "Searching for: قصف ignored: ليس ignored a trailing OR"
    assert echo(page(site, "انسحب* title:=انسحاب", op="or")) == (
        "البحث عن: أيٌّ مما يلي: انسحب* (كلمات تبدأ بها: 3)، انسحاب (مطابقة تامة فقط، في العنوان)"
    )
    got = echo(page(site, "place:حلب AND place:إدلب place:sy group:داعش"))
    assert got == "البحث عن: المكان: حلب أو سوريا الجهة: تنظيم الدولة الإسلامية وأيضاً المكان: إدلب"


def test_did_you_mean_speaks_the_page_language(site) -> None:
    en = page(site, "الاستخبرات", lang="en")
    assert re.search(r"Did you mean: <a [^>]*>الاستخبارات</a>\?</p>", en) and "؟" not in en
    ar = page(site, "الاستخبرات")
    assert re.search(r"هل تقصد: <a [^>]*>الاستخبارات</a>؟</p>", ar)


def facet_href(text: str, entity_id: str) -> dict[str, list[str]]:
    m = re.search(rf'<a class="facet-value[^"]*" href="([^"]+)" data-id="{re.escape(entity_id)}"', text)
    assert m, f"no facet link for {entity_id}"
    return parse_qs(urlsplit(htmllib.unescape(m.group(1))).query)


def test_facet_link_under_a_chosen_place_replaces_it(site) -> None:
    text = page(site, "قصف", place="sy-aleppo")
    assert facet_href(text, "sy-aleppo-afrin")["place"] == ["sy-aleppo-afrin"]  # the child replaces it
    before = int(re.search(r'data-total="(\d+)"', text).group(1))
    narrowed = page(site, "قصف", place="sy-aleppo-afrin")
    after = int(re.search(r'data-total="(\d+)"', narrowed).group(1))
    assert 0 < after < before
    # Choosing the ancestor again replaces the child; another place is added beside it.
    assert facet_href(narrowed, "sy-aleppo")["place"] == ["sy-aleppo"]
    assert facet_href(narrowed, "tr")["place"] == ["sy-aleppo-afrin", "tr"]
    assert "قيم الفئة الواحدة تُجمع بـ«أو»" in text
    # A place given by name in the URL (the API takes names) is replaced too.
    assert facet_href(page(site, "قصف", place="حلب"), "sy-aleppo-afrin")["place"] == ["sy-aleppo-afrin"]


# --- the echo line in Chromium -----------------------------------------------------------


def test_echo_line_in_chromium(site) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.conftest import chromium_path
    from tests.test_browser import ARGS, shot

    chromium = chromium_path()
    if chromium is None:
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ar")
            pg.goto(f"{site}/search?q={quote(EXAMPLE)}")
            line = pg.locator(".explain-line")
            sync_api.expect(line).to_be_visible()
            text = re.sub(r"\s+", " ", line.inner_text())
            assert "باستثناء: تركيا" in text and "«قوات النظام»" in text and "كل الكلمات" not in text
            chip = pg.locator(".explain-line .chip-query")
            sync_api.expect(chip).to_have_text(re.compile(r"المكان:\s*سوريا"))
            box, excl = line.bounding_box(), pg.locator(".explain-excluded").bounding_box()
            assert box and excl and excl["width"] > 0 and excl["y"] < box["y"] + box["height"]
            shot(pg, "echo-line")
        finally:
            browser.close()
