"""The HTML pages and their JSON/CSV twins, over a real index built by ``kashaf index``."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from analyzers import tagger
from web import create_app
from web import pages as P

ROOT = Path(__file__).resolve().parents[1]
KASHAF = Path(sys.executable).with_name("kashaf")

XSS_TITLE = '<script>window.__pwned=1</script> تقرير "><svg onload=window.__pwned=2>'
XSS_TEXT = (
    'انسحاب <img src=x onerror="window.__pwned=5;alert(5)"> من الرقة '
    '<a href="javascript:alert(6)">اضغط</a> "><svg onload=alert(7)> </textarea><script>alert(8)</script>'
)
DOCS = [
    {
        "id": "r1",
        "title": "انسحاب قوات النظام من الرقة",
        "date": "2014-08-24",
        "source": "الحياة",
        "url": "https://example.org/r1",
        "text": "انسحبت قوات النظام السوري من مطار الطبقة العسكري في محافظة الرقة بعد معارك مع تنظيم داعش.",
    },
    {
        "id": "r2",
        "title": 'المعارضة تتقدم في ريف حلب، و"الجيش الحر" يعلن',
        "date": "2016-02-10",
        "source": "العربي الجديد",
        "url": "https://example.org/r2",
        "text": "تقدمت فصائل المعارضة في ريف حلب الشمالي وانسحب مقاتلو داعش من بلدة الراعي "
        "قرب الحدود التركية.",
    },
    {
        "id": "r3",
        "title": "=قصف على إدلب",
        "date": "2017-06-05",
        "source": "الحياة",
        "url": "https://example.org/r3",
        "text": "قال المرصد السوري لحقوق الإنسان إن طائرات النظام قصفت مدينة إدلب، "
        "وإن المنسحبين من حلب وصلوا إلى إدلب.",
    },
    {
        "id": "xss",
        "title": XSS_TITLE,
        "date": "2017-06-20",
        "source": "<img src=x onerror=window.__pwned=3>",
        "url": "javascript:window.__pwned=4",
        "text": XSS_TEXT,
    },
    {
        "id": "dir/with space",
        "title": "تقرير عن دمشق",
        "date": "2015-01-01",
        "source": "Reuters",
        "url": "https://example.org/r5",
        "text": "اشتباكات في دمشق وريفها وانسحاب جزئي.",
    },
]
QUERY = "انسحاب"


def build_index(tmp: Path, docs: list[dict] = DOCS) -> Path:
    """Write ``docs`` as JSONL and index them with the real ``kashaf index`` command."""
    corpus = tmp / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    index = tmp / "index"
    subprocess.run(
        [str(KASHAF), "index", "--index", str(index), str(corpus)], check=True, capture_output=True
    )
    return index


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    return build_index(tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def client(index_dir):
    return create_app(index_dir).test_client()


def html(client, url: str, status: int = 200) -> str:
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.data[:500])
    assert r.mimetype == "text/html"
    return r.get_data(as_text=True)


def no_inline_code(page: str) -> None:
    """The CSP forbids inline script, style attributes and handlers: our markup has none."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    # Attribute values are escaped text (a source named "<img onerror=...>" may be one): look at names.
    tags = re.sub(r'="[^"]*"', '=""', page)
    assert not re.search(r"<[a-z][^>]*\sstyle=", tags)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", tags)


def test_welcome_page(client):
    page = html(client, "/")
    assert '<html lang="ar" dir="rtl">' in page
    assert re.search(r"<strong>5</strong>", page)  # document count from the index
    assert 'href="/search?q=%D8%A7%D9%86%D8%B3%D8%AD%D8%A7%D8%A8"' in page  # an example query as a link
    assert 'class="skip" href="#main"' in page and '<label class="search-label" for="q">' in page
    no_inline_code(page)


def test_search_results_marks_links_and_count(client):
    page = html(client, f"/search?q={QUERY}")
    # وانسحب and المنسحبين share only the root of انسحاب: out of the default set, offered.
    assert 'data-total="3"' in page
    assert "<mark>المنسحبين</mark>" not in page
    assert re.search(r'<p class="broaden"><a href="/search\?q=[^"]+&amp;level=root">[^<]*: 2\)</a>', page)
    wide = html(client, f"/search?q={QUERY}&level=root")
    assert 'data-total="5"' in wide and 'class="broaden"' in wide
    assert "<mark>انسحبت</mark>" in wide and "<mark>المنسحبين</mark>" in wide
    assert '<option value="root" selected>' in wide
    assert 'href="/documents/r1?q=%D8%A7%D9%86%D8%B3%D8%AD%D8%A7%D8%A8"' in page
    assert 'href="/documents/dir/with%20space?q=' in page
    assert '<time datetime="2014-08-24' in page
    no_inline_code(page)


def test_english_interface(client):
    page = html(client, f"/search?q={QUERY}&lang=en")
    assert '<html lang="en" dir="ltr">' in page
    assert ">Search</button>" in page
    assert "lang=en" in re.search(r'href="(/documents/r1[^"]*)"', page).group(1)  # links keep the language
    assert re.search(r'class="lang-toggle" href="/search\?q=[^"&]+"', page)  # and offer the way back


def unisolated(page: str) -> str:
    """The page without the ``<bdi>`` wrappers of Latin runs (they split escaped text)."""
    return page.replace("<bdi>", "").replace("</bdi>", "")


def test_escaping_of_document_text_and_query(client):
    page = unisolated(html(client, f"/search?q={QUERY}"))
    for raw in ("<script>window", "<img src=x", "<svg onload", '<a href="javascript:', "</textarea><script>"):
        assert raw not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=window.__pwned=3&gt;" in page  # the source field
    evil = '"><script>alert(1)</script>'
    page = html(client, "/search?" + P.urlencode({"q": evil}))
    assert "<script>alert(1)" not in page and 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


def test_document_page(client):
    page = html(client, f"/documents/r1?q={QUERY}")
    title = re.search(r'<h1 class="doc-title" dir="rtl">(.*?)</h1>', page).group(1)
    assert title.startswith("<mark>انسحاب</mark> ") and re.sub(r"<[^>]+>", "", title) == DOCS[0]["title"]
    # Mentions from the index are links to their filter, keeping the query.
    assert re.search(r'<a class="ent ent-place" href="/search\?q=[^"]+&amp;place=sy-raqqa[-a-z]*"', page)
    assert "<mark>انسحبت</mark>" in page
    assert 'href="https://example.org/r1"' in page
    assert 'class="facet similar"' in page and 'href="/documents/r2?q=' in page
    no_inline_code(page)
    page = html(client, "/documents/dir/with%20space")
    assert "تقرير عن دمشق" in page


def test_document_page_escapes_payload_and_drops_javascript_url(client):
    page = unisolated(html(client, f"/documents/xss?q={QUERY}"))
    for raw in ("<script>", "<img src=x", "<svg onload", '<a href="javascript:', 'href="javascript:'):
        assert raw not in page.replace('<script src="/static/kashaf.js" defer></script>', "")
    assert "<mark>انسحاب</mark> &lt;img src=x onerror=" in page
    assert '<span dir="ltr">javascript:window.__pwned=4</span>' in page


@pytest.mark.parametrize("doc_id", ["nope", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "r1%00"])
def test_unknown_document_is_404(client, doc_id):
    page = html(client, f"/documents/{doc_id}", 404)
    assert "root:" not in page and "لم نجد" in page
    r = client.get(f"/documents/{doc_id}.json")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "query",
    [
        "op=xor",
        "sort=sideways",
        "limit=abc",
        "limit=0",
        "offset=-1",
        "from=yesterday",
        "from=2017-02&to=2016-01",
        "x=1",
    ],
)
def test_bad_parameters_are_a_friendly_400(client, query):
    page = html(client, f"/search?q={QUERY}&{query}", 400)
    assert "Traceback" not in page and "تعذّر تنفيذ هذا البحث" in page
    assert client.get(f"/search.csv?q={QUERY}&{query}").status_code == 400


def hit_ids(page: str) -> list[str]:
    """Document ids of the result list, in page order."""
    return [unquote(i) for i in re.findall(r'class="hit-title"[^>]*>\s*<a href="/documents/([^"?]+)', page)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Expected sets written from DOCS above (no words: the filters alone choose).
        ("place=sy-raqqa", {"r1", "xss"}),
        ("place=sy-aleppo", {"r2", "r3"}),
        ("place=sy-raqqa&place=sy-aleppo", {"r1", "r2", "r3", "xss"}),
        ("group=isis", {"r1", "r2"}),
        ("group=isis&with_successors=true", {"r1", "r2"}),
        ("from=2017-01-01", {"r3", "xss"}),
        ("to=2015-12-31", {"r1", "dir/with space"}),
        ("from=2015&to=2016", {"r2", "dir/with space"}),
        ("source=الحياة", {"r1", "r3"}),
        ("source=الحياة&source=Reuters", {"r1", "r3", "dir/with space"}),
    ],
)
def test_every_filter_reaches_the_core(client, query: str, expected: set[str]) -> None:
    # The pages parse parameters with the API's parser and pass every filter to the core.
    found = hit_ids(html(client, f"/search?{query}"))
    assert set(found) == expected
    assert f'data-total="{len(expected)}"' in html(client, f"/search?{query}")


def test_sort_reaches_the_core(client) -> None:
    newest_first = ["xss", "r3", "r2", "dir/with space", "r1"]  # DOCS' dates
    assert hit_ids(html(client, "/search?from=2014&sort=date")) == newest_first


def test_bad_filters_are_refused(client) -> None:
    assert client.get(f"/search?q={QUERY}&place=no-such-place").status_code == 400
    assert client.get(f"/search?q={QUERY}&bogus=1").status_code == 400


def test_no_results_page(client):
    page = html(client, "/search?q=كلمةغيرموجودةأبدا")
    assert 'data-total="0">لا نتائج<span class="total-count" hidden>0</span></h1>' in page
    assert "لا نتائج لهذا البحث" in page


def test_paging(client):
    first = html(client, f"/search?q={QUERY}&limit=1")
    nxt = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "offset=1" in nxt and "limit=1" in nxt
    second = html(client, nxt)
    ids = [re.findall(r'href="/documents/([^"?]+)\?q=', p) for p in (first, second)]
    assert len(ids[0]) == len(ids[1]) == 1 and ids[0] != ids[1]
    assert 'rel="prev"' in second


def test_json_twins_equal_the_api(client):
    for page, api in [
        (f"/search.json?q={QUERY}", f"/api/search?q={QUERY}"),
        (f"/search.json?q={QUERY}&op=or&limit=2&offset=1", f"/api/search?q={QUERY}&op=or&limit=2&offset=1"),
        ("/documents/r1.json", "/api/documents/r1"),
        ("/documents/dir/with%20space.json", "/api/documents/dir/with%20space"),
    ]:
        a, b = client.get(page), client.get(api)
        assert a.status_code == b.status_code == 200 and a.mimetype == "application/json"
        assert a.get_json() == b.get_json()
    assert client.get("/documents/xss.json").get_json()["title"] == XSS_TITLE
    bad = client.get("/search.json?q=x&op=xor")
    assert bad.status_code == 400 and "error" in bad.get_json()


def test_csv_export_has_every_row_quoted_with_bom(client, monkeypatch):
    monkeypatch.setattr(P.api.export, "BATCH", 2)  # several batches over the 3 matches
    r = client.get(f"/search.csv?q={QUERY}&limit=1")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][: len(P.api.EXPORT_FIELDS)] == list(P.api.EXPORT_FIELDS) and "group" in rows[0]
    body = {row[0]: row for row in rows[1:]}
    api_ids = [h["id"] for h in client.get(f"/api/search?q={QUERY}&limit=100").get_json()["hits"]]
    assert [row[0] for row in rows[1:]] == api_ids and len(api_ids) == 3  # every row, in rank order
    assert body["xss"][1] == XSS_TITLE
    assert float(body["r1"][5]) > 0
    # The export follows the match level, like the total.
    wide = client.get(f"/search.csv?q={QUERY}&level=root").get_data().decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(wide)))) == 1 + 5


def test_csv_quotes_commas_and_neutralises_formulas(client):
    rows = list(
        csv.reader(io.StringIO(client.get("/search.csv?q=إدلب حلب&op=or").get_data().decode("utf-8-sig")))
    )
    body = {row[0]: row for row in rows[1:]}
    assert body["r2"][1] == 'المعارضة تتقدم في ريف حلب، و"الجيش الحر" يعلن'
    assert body["r3"][1] == "'=قصف على إدلب"


def test_security_headers_on_pages(client):
    from tests.test_serving import assert_security_headers

    for url in ("/", f"/search?q={QUERY}", "/documents/r1", "/documents/nope"):
        assert_security_headers(client.get(url).headers, url)


# ---- facets as the page draws them, from the real core over DOCS

# Written from DOCS: which governorate each report is about, and each report's month.
GOVERNORATES = {"sy-raqqa": 2, "sy-aleppo": 2, "sy-idlib": 1, "sy-damascus": 1}  # r1+xss, r2+r3, r3, dir
MONTHS = {"2014-08": 1, "2015-01": 1, "2016-02": 1, "2017-06": 2}


def real_facets(client, url: str) -> dict:
    """The facets the core computes for ``url`` (its JSON twin, which has no ``lang``)."""
    r = client.get(url.replace("/search?", "/search.json?", 1).replace("&lang=en", ""))
    assert r.status_code == 200
    return r.get_json()["facets"]


def test_facet_tree_map_and_histogram(client):
    app = client.application
    f = real_facets(client, "/search?from=2014")
    with app.test_request_context("/search?from=2014&place=sy-raqqa"):
        p = P.parse_params(P.request.args)
        tree = P.place_tree(f["place"])
        assert [n["item"]["id"] for n in tree] == ["sy"]  # every report is in Syria
        assert tree[0]["item"]["count"] == 5
        children = {c["item"]["id"]: c["item"]["count"] for c in tree[0]["children"]}
        assert {k: children.get(k) for k in GOVERNORATES} == GOVERNORATES
        counts = [c["item"]["count"] for c in tree[0]["children"]]
        assert counts == sorted(counts, reverse=True)  # biggest first
        # on → off; `from` is kept as the day it starts
        assert P.toggle_url(p, "place", "sy-raqqa") == "/search?from=2014-01-01"
        both = "/search?place=sy-raqqa&place=sy-aleppo&from=2014-01-01"
        assert P.toggle_url(p, "place", "sy-aleppo") == both
        points = P.map_points(f["place"], p)
        labels = [pt["label"] for pt in points]
        assert "سوريا" not in labels and {"الرقة", "حلب", "إدلب", "دمشق"} <= set(labels)
        radii = [pt["r"] for pt in points]
        assert radii == sorted(radii, reverse=True)  # biggest drawn first
        assert any(pt["active"] for pt in points if pt["label"] == "الرقة")
        assert not any(pt["active"] for pt in points if pt["label"] in ("حلب", "إدلب", "دمشق"))
        raqqa = P.gazetteer.get("sy-raqqa")
        assert P.project(raqqa.lat, raqqa.lon) in {(pt["x"], pt["y"]) for pt in points}
        hist = P.histogram(f["timeline"], p)
        assert hist["unit"] == "month"  # four years of reports: a bar a month
        bars = {b["start"][:7]: b for b in hist["bars"] if b["count"]}
        assert {m: b["count"] for m, b in bars.items()} == MONTHS
        assert bars["2017-06"]["h"] == 2 * bars["2014-08"]["h"] > 0  # height ∝ count
        # Right to left on the Arabic page: the oldest month is the rightmost bar.
        assert bars["2014-08"]["x"] > bars["2017-06"]["x"]
        # The last bucket ends with the last match (the chart spans the matches' own dates).
        assert bars["2017-06"]["href"] == "/search?place=sy-raqqa&from=2017-06-01&to=2017-06-20"
        kinds = [k for k, _ in P.group_sections(f["group"])]
        assert kinds[0] == "jihadist"  # داعش in r1 and r2: the biggest kind


def test_search_page_draws_the_cores_facets(client):
    """Every place and group the core counts is drawn with its count, each a link toggling its
    filter; the histogram has one bar per month of DOCS."""
    url = "/search?from=2014&lang=en"
    page = html(client, url)
    facets = real_facets(client, url)
    drawn = dict(re.findall(r'data-id="([^"]+)"><bdi>[^<]*</bdi> <span class="count">(\d+)</span>', page))
    expected = {f["id"]: str(f["count"]) for f in facets["place"] + facets["group"] + facets["organization"]}
    assert drawn == expected
    assert {k: int(drawn[k]) for k in GOVERNORATES} == GOVERNORATES and drawn["sy"] == "5"
    assert 'href="/search?place=sy-raqqa&amp;from=2014-01-01&amp;lang=en" data-id="sy-raqqa"' in page
    bar = r'class="bar" data-start="(\d{4}-\d{2})-\d{2}" data-end="[^"]+" data-count="(\d+)"'
    bars = re.findall(bar, page)
    assert {m: int(c) for m, c in bars if c != "0"} == MONTHS
    assert "<details open>" in page and ">Raqqa</bdi>" in page and 'class="map"' in page
    assert re.search(r'<circle cx="[\d.]+" cy="[\d.]+" r="[\d.]+">', page)
    assert ">Jihadists</summary>" in page
    no_inline_code(page)


def test_highlight_links_mentions_and_escapes(client):
    text = "<b>انسحبت</b> قوات النظام السوري من الرقة."
    mentions = [m._asdict() for m in tagger.tag(text)]
    with client.application.test_request_context("/documents/x"):
        p = P.parse_params(P.MultiDict())
        out = str(P.highlight(text, ["انسحاب"], mentions, p))
    assert out.startswith("&lt;b&gt;<mark>انسحبت</mark>&lt;/b&gt; ")
    assert '<a class="ent ent-group" href="/search?group=sy-regime-forces"' in out
    assert re.search(
        r'<a class="ent ent-place" href="/search\?place=sy-raqqa[-a-z]*" title="[^"]+">الرقة</a>\.$', out
    )


def test_exports_and_document_page_keep_organizations_apart_from_armed_groups(client):
    """The export's group columns hold the actors that fight, as the armed-actors facet does;
    the Syrian Observatory (a monitor) goes to the organization columns and is shaded apart."""
    q = "/search.{}?q=إدلب الرقة&op=or"
    rows = list(csv.reader(io.StringIO(client.get(q.format("csv")).get_data().decode("utf-8-sig"))))
    head, body = rows[0], {row[0]: row for row in rows[1:]}
    r3 = dict(zip(head, body["r3"], strict=False))
    assert "sohr" in r3["organization_ids"].split(" | ") and "sohr" not in r3["group_ids"].split(" | ")
    assert "isis" in dict(zip(head, body["r1"], strict=False))["group_ids"].split(" | ")
    line = next(
        json.loads(x) for x in client.get(q.format("jsonl")).get_data().decode().splitlines() if '"r3"' in x
    )
    assert [o["id"] for o in line["organizations"]] == ["sohr"]
    assert line["organizations"][0]["level"] == "monitor"
    assert "sohr" not in [g["id"] for g in line["groups"]]
    page = client.get("/documents/r3").get_data(as_text=True)
    assert 'class="ent ent-org"' in page and 'class="mention mention-org"' in page
    assert 'class="ent ent-group"' in client.get("/documents/r1").get_data(as_text=True)  # ISIS
