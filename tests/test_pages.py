"""The HTML pages and their JSON/CSV twins, over a real index built by ``kashaf index``."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

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
    assert not re.search(r"<[a-z][^>]*\sstyle=", page)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", page)


def test_welcome_page(client):
    page = html(client, "/")
    assert '<html lang="ar" dir="rtl">' in page
    assert re.search(r"<strong>5</strong>", page)  # document count from the index
    assert 'href="/search?q=%D8%A7%D9%86%D8%B3%D8%AD%D8%A7%D8%A8"' in page  # an example query as a link
    assert 'class="skip" href="#main"' in page and '<label class="search-label" for="q">' in page
    no_inline_code(page)


def test_search_results_marks_links_and_count(client):
    page = html(client, f"/search?q={QUERY}")
    assert '<span class="total-count">5</span>' in page
    assert "<mark>انسحبت</mark>" in page and "<mark>المنسحبين</mark>" in page
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


def test_escaping_of_document_text_and_query(client):
    page = html(client, f"/search?q={QUERY}")
    for raw in ("<script>window", "<img src=x", "<svg onload", '<a href="javascript:', "</textarea><script>"):
        assert raw not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=window.__pwned=3&gt;" in page  # the source field
    evil = '"><script>alert(1)</script>'
    page = html(client, "/search?" + P.urlencode({"q": evil}))
    assert "<script>alert(1)" not in page and 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page


def test_document_page(client):
    page = html(client, f"/documents/r1?q={QUERY}")
    title = re.search(r'<h1 class="doc-title" dir="auto">(.*?)</h1>', page).group(1)
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
    page = html(client, f"/documents/xss?q={QUERY}")
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
        "sort=oldest",
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


def test_every_filter_reaches_the_core_and_bad_ones_are_refused(client):
    # The pages parse parameters with the API's parser, so they accept what it accepts.
    for key, value in (
        ("place", "sy-raqqa"),
        ("group", "isis"),
        ("from", "2017-01-01"),
        ("sort", "date"),
        ("with_successors", "true"),
    ):
        r = client.get(f"/search?q={QUERY}&{key}={value}")
        assert r.status_code == 200, key
    assert client.get(f"/search?q={QUERY}&place=no-such-place").status_code == 400
    assert client.get(f"/search?q={QUERY}&bogus=1").status_code == 400


def test_no_results_page(client):
    page = html(client, "/search?q=كلمةغيرموجودةأبدا")
    assert '<span class="total-count">0</span>' in page and "لا نتائج" in page


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
    monkeypatch.setattr(P, "CSV_BATCH", 2)  # several batches over the 4 matches
    r = client.get(f"/search.csv?q={QUERY}&limit=1")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["id", "title", "date", "source", "url", "score", "group"]
    body = {row[0]: row for row in rows[1:]}
    api_ids = [h["id"] for h in client.get(f"/api/search?q={QUERY}&limit=100").get_json()["hits"]]
    assert [row[0] for row in rows[1:]] == api_ids and len(api_ids) == 5  # every row, in rank order
    assert body["xss"][1] == XSS_TITLE
    assert float(body["r1"][5]) > 0


def test_csv_quotes_commas_and_neutralises_formulas(client):
    rows = list(
        csv.reader(io.StringIO(client.get("/search.csv?q=إدلب حلب&op=or").get_data().decode("utf-8-sig")))
    )
    body = {row[0]: row for row in rows[1:]}
    assert body["r2"][1] == 'المعارضة تتقدم في ريف حلب، و"الجيش الحر" يعلن'
    assert body["r3"][1] == "'=قصف على إدلب"


def test_security_headers_on_pages(client):
    r = client.get("/")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


# ---- facet rendering helpers, on contract-shaped facets and the real gazetteer


def contract_facets() -> dict:
    return {
        "place": [
            {
                "id": "sy",
                "label": "سوريا",
                "label_en": "Syria",
                "level": "country",
                "parent": None,
                "count": 3,
            },
            {
                "id": "sy-raqqa",
                "label": "الرقة",
                "label_en": "Raqqa",
                "level": "governorate",
                "parent": "sy",
                "count": 2,
            },
            {
                "id": "sy-aleppo",
                "label": "حلب",
                "label_en": "Aleppo",
                "level": "governorate",
                "parent": "sy",
                "count": 1,
            },
        ],
        "group": [
            {
                "id": "isis",
                "label": "داعش",
                "label_en": "ISIS",
                "level": "jihadist",
                "parent": None,
                "count": 2,
            },
            {
                "id": "sy-regime-forces",
                "label": "قوات النظام",
                "label_en": "SAA",
                "level": "state force",
                "count": 1,
            },
        ],
        "date": [{"month": "2017-06", "count": 2}, {"month": "2014-08", "count": 1}],
    }


def test_facet_tree_map_and_histogram(client):
    app = client.application
    f = contract_facets()
    with app.test_request_context("/search?q=x&place=sy-raqqa"):
        p = P.parse_params(P.request.args)
        tree = P.place_tree(f["place"])
        assert [n["item"]["id"] for n in tree] == ["sy"]
        assert [c["item"]["id"] for c in tree[0]["children"]] == ["sy-raqqa", "sy-aleppo"]
        assert P.toggle_url(p, "place", "sy-raqqa") == "/search?q=x"  # on → off
        assert P.toggle_url(p, "place", "sy-aleppo") == "/search?q=x&place=sy-raqqa&place=sy-aleppo"
        points = P.map_points(f["place"], p)
        assert [pt["label"] for pt in points] == ["الرقة", "حلب"]  # the country itself is no circle
        assert points[0]["r"] > points[1]["r"] and points[0]["active"]
        raqqa = P.gazetteer.get("sy-raqqa")
        assert (points[0]["x"], points[0]["y"]) == P.project(raqqa.lat, raqqa.lon)
        hist = P.histogram(f["date"], p)
        assert [b["month"] for b in hist["bars"]] == ["2014-08", "2017-06"]
        assert hist["bars"][1]["h"] == 80 and hist["bars"][0]["h"] == 40
        assert hist["bars"][1]["href"] == "/search?q=x&place=sy-raqqa&from=2017-06-01&to=2017-06-30"
        assert [k for k, _ in P.group_sections(f["group"])] == ["jihadist", "state force"]


def test_search_page_renders_contract_facets(client, index_dir):
    """The page draws the facets of the contract (the core's real answer, plus contract facets)."""
    app = client.application
    with app.test_request_context(f"/search?q={QUERY}&lang=en"):
        p = P.parse_params(P.request.args)
        result = P.run_search(P.index_state().snapshot(), p, limit=p["limit"], offset=p["offset"])
        r = {**result, "facets": contract_facets()}
        page = P.render_template("search.html", **P.search_context(p, r))
    assert "<details open>" in page and ">Raqqa</bdi>" in page and 'class="map"' in page
    assert re.search(r'<circle cx="[\d.]+" cy="[\d.]+" r="[\d.]+"></circle>', page)
    assert 'href="/search?q=' in page and "place=sy-raqqa" in page and "from=2017-06-01" in page
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
