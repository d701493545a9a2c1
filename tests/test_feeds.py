"""``/search.atom`` served by real gunicorn over an index updated while it serves: valid Atom
1.0 (feedparser, plus the elements RFC 4287 requires, checked on the XML itself), the search
page's parameters, newest first, linked from the search page."""

from __future__ import annotations

import json
import re
from html import unescape
from xml.etree import ElementTree as ET

import feedparser
import pytest
import requests

from benchmarks.load import gunicorn
from indexer.build import build
from tests.test_dedupe import RAQQA, SEEDS, build_story_index, seed, write_jsonl

A = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("feeds")
    ix = build_story_index(work, batches=1)
    with gunicorn(ix, workers=2, log_dir=work / "logs") as server:
        server.work, server.ix = work, ix
        yield server


def check_atom(body: bytes) -> ET.Element:
    """Raise unless ``body`` is an Atom 1.0 feed with what RFC 4287 requires of feeds and entries."""
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    root = ET.fromstring(body)
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{tag}")) == 1, tag
    assert root.find(f"{A}author/{A}name").text
    assert root.find(f"{A}link[@rel='self']") is not None
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
    assert stamp.match(root.find(f"{A}updated").text)
    ids = []
    for entry in root.findall(f"{A}entry"):
        for tag in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{tag}")) == 1, tag
        assert stamp.match(entry.find(f"{A}updated").text)
        assert entry.find(f"{A}link[@rel='alternate']") is not None
        ids.append(entry.find(f"{A}id").text)
    assert len(ids) == len(set(ids))
    return root


def entry_ids(root: ET.Element) -> list[str]:
    return [
        e.find(f"{A}link[@rel='alternate']").get("href").split("?")[0].rsplit("/", 1)[-1]
        for e in root.findall(f"{A}entry")
    ]


def test_feed_is_valid_atom_newest_first(site) -> None:
    r = requests.get(site.url + "/search.atom", params={"q": "الرقة"}, timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/atom+xml")
    root = check_atom(r.content)
    ids = entry_ids(root)
    assert ids[:2] == ["copy-c", "copy-b"]  # the dated reports, newest first; undated after
    api = requests.get(site.url + "/api/search", params={"q": "الرقة", "sort": "date"}, timeout=30).json()
    assert ids == [h["id"] for h in api["hits"]]
    parsed = feedparser.parse(r.content)
    first = parsed.entries[0]
    assert first.title == seed(RAQQA)[0]  # copy-c kept the original's headline
    assert first.author == "صحيفة الفرات"
    summary = root.find(f"{A}entry/{A}summary")
    assert summary.get("type") == "html" and "<mark>" in summary.text  # the snippet, escaped HTML
    assert "بالرقة" in first.summary
    assert parsed.feed.title.endswith("الرقة")


def test_feed_takes_every_search_parameter(site) -> None:
    params = {"q": "الرقة", "source": "وكالة الشمال", "from": "2017-03", "to": "2017-03", "lang": "en"}
    root = check_atom(requests.get(site.url + "/search.atom", params=params, timeout=30).content)
    assert entry_ids(root) == ["copy-b"]
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    grouped = check_atom(
        requests.get(site.url + "/search.atom", params={"q": "الرقة", "dedupe": "1"}, timeout=30).content
    )
    ids = entry_ids(grouped)
    assert "copy-c" in ids and "copy-b" not in ids and RAQQA not in ids  # one entry for the story
    story = grouped.find(f"{A}entry/{A}category[@term='group:{RAQQA}']")
    assert story is not None and story.get("label") == "+2"
    limited = check_atom(
        requests.get(site.url + "/search.atom", params={"q": "الرقة", "limit": 1}, timeout=30).content
    )
    assert len(limited.findall(f"{A}entry")) == 1
    empty = check_atom(requests.get(site.url + "/search.atom", params={"q": "غواصة"}, timeout=30).content)
    assert empty.findall(f"{A}entry") == []
    bad = requests.get(site.url + "/search.atom", params={"q": "x", "colour": "red"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_parameter"


def test_search_page_links_its_feed(site) -> None:
    page = requests.get(site.url + "/search", params={"q": "الرقة", "place": "sy-raqqa"}, timeout=30).text
    link = re.search(
        r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="([^"]+)">', page
    )
    assert link, "no <link rel=alternate> to the feed"
    visible = re.search(r'<a class="feed-link" href="([^"]+)"', page)
    assert visible and unescape(visible.group(1)) == unescape(link.group(1))
    href = unescape(link.group(1))
    assert "place=sy-raqqa" in href
    root = check_atom(requests.get(site.url + href, timeout=30).content)
    assert root.findall(f"{A}entry")


def test_feed_follows_the_index_while_served(site) -> None:
    before = entry_ids(check_atom(requests.get(site.url + "/search.atom?q=الرقة", timeout=30).content))
    newer = write_jsonl(
        site.work / "newer.jsonl",
        [
            {
                "id": "newest",
                "title": "قصف جديد على أطراف الرقة",
                "text": "قصفت الطائرات أطراف مدينة الرقة صباح اليوم وقال ناشطون إن الغارات استهدفت "
                "مواقع للتنظيم قرب الفرقة السابعة عشرة شمال المدينة.",
                "source": "وكالة الشمال",
                "date": "2018-01-05T07:00:00",
            }
        ],
    )
    build([SEEDS, site.work / "batch1.jsonl", newer], site.ix, jobs=1)
    after = entry_ids(check_atom(requests.get(site.url + "/search.atom?q=الرقة", timeout=30).content))
    assert after[0] == "newest" and after[1:] == before
    assert json.loads(requests.get(site.url + "/readyz", timeout=30).text)["documents"] == 8
