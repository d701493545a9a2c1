"""A researcher's workflow in a real browser: Debian's Chromium driven by Playwright, against
real gunicorn serving a real index built by ``kashaf index``.

Timeline (direction, scale, counts, adaptive buckets, range links and brushing), visible
filters (full-label chips, open branches, state kept through a document and back, the
form, the source facet), Arabic-first presentation (shipped font, bidi, plural forms,
translated labels and metadata, error pages, map legend), paging past the end, and the
CSV / JSONL exports. Screenshots at 1400 px and 390 px in both languages go to
/tmp/kashaf-shots/workflow/ (not the repository) for people to look at.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
from datetime import date, timedelta
from pathlib import Path

import pytest

from benchmarks.load import gunicorn
from tests.test_pages import build_index

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SHOTS = Path("/tmp/kashaf-shots/workflow")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)

SOURCES = ("Al Arabiya", "al arabiya", "BBC Arabic", "سكاي نيوز عربية")
PLACES = ("مدينة الرقة", "ريف حلب", "دير الزور", "إدلب")


def corpus() -> list[dict]:
    """44 reports over Feb-Oct 2018 (one a week) plus one from 2013; varied sources,
    places, metadata, and titles that start with Latin letters."""
    docs = []
    start = date(2018, 2, 5)
    for i in range(40):
        day = start + timedelta(days=7 * i)
        docs.append(
            {
                "id": f"w{i:02d}",
                "title": ("BBC تنشر: " if i % 10 == 0 else "")
                + f"اشتباكات مع داعش في {PLACES[i % 4]} رقم {i}",
                "date": day.isoformat(),
                "source": SOURCES[i % 4],
                "url": f"https://example.org/w{i}",
                "category": "سياسة" if i % 2 else "أخبار",
                "author": "مراسل",
                "text": f"قالت مصادر إن مقاتلي داعش انسحبوا من {PLACES[i % 4]} بعد اشتباكات مع قوات النظام "
                "وقوات سوريا الديمقراطية (SDF) في اليوم التالي. " * 2,
            }
        )
    for i in range(4):  # a busy week in March
        docs.append(
            {
                "id": f"m{i}",
                "title": f"قصف على الرقة وانسحاب داعش {i}",
                "date": f"2018-03-{12 + i:02d}",
                "source": "Al Arabiya",
                "text": "انسحب تنظيم داعش من أحياء في مدينة الرقة بعد قصف عنيف.",
            }
        )
    docs.append(
        {
            "id": "old",
            "title": "داعش في الرقة عام 2013",
            "date": "2013-12-20",
            "source": "BBC Arabic",
            "text": "سيطر تنظيم داعش على مدينة الرقة.",
        }
    )
    return docs


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    index = build_index(tmp_path_factory.mktemp("workflow"), corpus())
    # Strict labels: a page that asks for an untranslated label answers 500, and fails here.
    with gunicorn(index, workers=1, env={"KASHAF_STRICT_I18N": "1"}) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def new_page(browser, width: int = 1400, js: bool = True, **kw):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, java_script_enabled=js, accept_downloads=True, **kw
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: "Content Security Policy" in m.text and pg.errors.append(m.text))
    return pg


@pytest.fixture
def page(browser):
    pg = new_page(browser)
    yield pg
    assert not pg.errors, pg.errors
    pg.context.close()


@pytest.fixture
def nojs(browser):
    pg = new_page(browser, js=False)
    yield pg
    pg.context.close()


def shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def q(**params) -> str:
    return "/search?" + urllib.parse.urlencode({"q": "داعش", **params}, doseq=True)


def params(url: str) -> dict:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)


# ---------------------------------------------------------------- timeline


def test_timeline_runs_right_to_left_with_a_scale_and_counts(page, base_url):
    page.goto(base_url + q(**{"from": "2018-02-01", "to": "2018-10-31"}))
    section = page.locator(".facet-date")
    assert section.get_attribute("data-unit") == "week"
    bars = section.locator("a.bar")
    assert bars.count() >= 35  # weekly buckets over nine months, empty weeks kept
    first, last = bars.first, bars.last
    assert first.get_attribute("data-start") == "2018-02-01"
    # Arabic page: the oldest bucket is at the right.
    assert first.bounding_box()["x"] > last.bounding_box()["x"]
    ticks = section.locator("text.tick").all_text_contents()
    assert ticks[0] == "0" and len(ticks) >= 2 and int(ticks[-1]) >= 5  # a y scale up to the busiest week
    expect(section.locator("text.bar-count")).to_have_text("5")  # the busiest week, readable without hover
    section.locator("summary", has_text="الأعداد").click()
    expect(section.locator("table tr")).to_have_count(1 + 39)  # every non-empty week in range, with its count
    shot(page, "timeline-ar-1400")
    page.goto(base_url + q(lang="en", **{"from": "2018-02-01", "to": "2018-10-31"}))
    bars = page.locator(".facet-date a.bar")
    assert bars.first.bounding_box()["x"] < bars.last.bounding_box()["x"]  # English: left to right


def test_timeline_adapts_and_a_bar_link_zooms_without_javascript(nojs, base_url):
    nojs.goto(base_url + q())
    # The one report of 2013 would squash 2018 into slivers: it is counted beside the chart.
    assert nojs.locator(".facet-date").get_attribute("data-unit") == "week"
    before = nojs.locator(".timeline-before")
    expect(before).to_contain_text("(1)")
    before.click()
    assert nojs.locator("h1.total").get_attribute("data-total") == "1"
    assert nojs.locator(".hit-title a").inner_text() == "داعش في الرقة عام 2013"
    nojs.go_back()
    nojs.goto(base_url + q(**{"from": "2018-03", "to": "2018-03"}))
    section = nojs.locator(".facet-date")
    assert section.get_attribute("data-unit") == "day"
    assert section.locator("a.bar").count() == 31
    busy = section.locator('a.bar[data-start="2018-03-12"]')
    busy.click()
    assert params(nojs.url)["from"] == ["2018-03-12"] and params(nojs.url)["to"] == ["2018-03-12"]
    expect(nojs.locator(".chip-date")).to_contain_text("2018-03-12")
    expect(nojs.locator('input[name="from"]')).to_have_value("2018-03-12")
    expect(nojs.locator(".facet-date a.bar")).to_have_count(1)
    nojs.locator(".timeline-all").click()  # back to every date, the chart whole again
    assert "from" not in params(nojs.url)
    assert nojs.locator(".facet-date a.bar").count() > 1


def test_timeline_brushing_sets_a_range_and_keeps_the_chart(page, base_url):
    page.goto(base_url + q(**{"from": "2018-02-01", "to": "2018-10-31"}))
    bars = page.locator(".facet-date a.bar")
    a, b = bars.nth(4), bars.nth(9)
    start, end = a.get_attribute("data-start"), b.get_attribute("data-end")
    box_a, box_b = a.locator(".hit-area").bounding_box(), b.locator(".hit-area").bounding_box()
    page.mouse.move(box_a["x"] + box_a["width"] / 2, box_a["y"] + box_a["height"] - 5)
    page.mouse.down()
    page.mouse.move(box_b["x"] + box_b["width"] / 2, box_b["y"] + box_b["height"] - 5, steps=8)
    expect(page.locator(".facet-date a.bar.brushed")).to_have_count(6)
    page.mouse.up()
    page.wait_for_url(re.compile(f"to={end}"))
    assert params(page.url)["from"] == [start] and params(page.url)["to"] == [end]
    assert page.locator(".facet-date a.bar").count() > 1  # zoomed into six weeks, not one bar
    total = int(page.locator("h1.total").get_attribute("data-total"))
    assert total == 6 + 4  # one report a week, and the four of the busy week of 12 March


# ---------------------------------------------------------------- filters and state


def test_chips_name_filters_in_full_and_branches_open(page, base_url):
    page.goto(base_url + q(place="sy-raqqa-raqqa"))
    chip = page.locator(".chip-place")
    expect(chip).to_have_text(re.compile("الرقة — مدينة أو بلدة، محافظة الرقة"))
    active = page.locator('.facet-place a.facet-value.active[data-id="sy-raqqa-raqqa"]')
    expect(active).to_be_visible()  # its governorate and district branches are open
    page.goto(base_url + q(place="sy-raqqa", lang="en"))
    expect(page.locator(".chip-place")).to_have_text(re.compile("Raqqa — governorate, Syria"))
    chip = page.locator(".chip-place")
    chip.click()
    expect(page.locator(".chip-place")).to_have_count(0)


def test_state_survives_a_document_and_back(page, base_url):
    url = base_url + q(
        op="or", sort="oldest", limit=5, offset=5, source="al arabiya", **{"from": "2018-02-01"}
    )
    page.goto(url)
    before = page.url
    titles = page.locator(".hit-title a").all_inner_texts()
    page.locator(".hit-title a").first.click()
    expect(page.locator("h1.doc-title")).to_be_visible()
    page.get_by_role("link", name="العودة إلى النتائج").click()
    assert params(page.url) == params(before)
    assert page.locator(".hit-title a").all_inner_texts() == titles


def test_form_keeps_source_dates_lineage_and_sorts_oldest(page, base_url):
    page.goto(base_url + q(group="isis"))
    page.locator('input[name="from"]').fill("2018-04-01")
    page.locator('input[name="to"]').fill("2018-06-30")
    page.get_by_role("button", name="تطبيق").click()
    assert params(page.url)["from"] == ["2018-04-01"] and params(page.url)["to"] == ["2018-06-30"]
    # A checkbox (the chip that appears once it is on is a link of the same name).
    page.get_by_role("checkbox", name="مع الجهات التي خلفتها").check()  # submits at once
    page.wait_for_url(re.compile("with_successors=true"))
    page.get_by_label("الترتيب").select_option("oldest")
    page.wait_for_url(re.compile("sort=oldest"))
    p = params(page.url)
    assert p["with_successors"] == ["true"] and p["group"] == ["isis"] and p["from"] == ["2018-04-01"]
    dates = page.locator(".hit time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    assert dates == sorted(dates) and len(dates) == 13
    page.get_by_label("المصدر").select_option("BBC Arabic")
    page.wait_for_url(re.compile("source=BBC"))
    assert params(page.url)["sort"] == ["oldest"] and params(page.url)["with_successors"] == ["true"]
    expect(page.locator(".hit-source").first).to_have_text("BBC Arabic")


def test_source_facet_is_case_insensitive(page, base_url):
    page.goto(base_url + q())
    value = page.locator('.facet-source a.facet-value[data-value="Al Arabiya"]')
    expect(value.locator(".count")).to_have_text("24")  # "Al Arabiya" 10 + 4 + "al arabiya" 10
    expect(page.locator('.facet-source a[data-value="al arabiya"]')).to_have_count(0)
    value.click()
    assert int(page.locator("h1.total").get_attribute("data-total")) == 24
    page.goto(base_url + q(source="AL ARABIYA"))
    assert int(page.locator("h1.total").get_attribute("data-total")) == 24


# ---------------------------------------------------------------- Arabic first


def test_font_bidi_plurals_and_labels(page, base_url):
    page.goto(base_url + q(**{"from": "2018-03-12", "to": "2018-03-18"}))
    page.evaluate("document.fonts.ready")
    loaded = page.evaluate(
        "[...document.fonts].filter(f => f.family.includes('Kashaf Naskh') && f.status === 'loaded').length"
    )
    assert loaded >= 1  # the shipped woff2, not the reader's fonts
    expect(page.locator("h1.total")).to_have_text("5 نتائج", use_inner_text=True)  # 3-10: few
    page.goto(base_url + q(**{"from": "2018-02-05", "to": "2018-02-05"}))
    expect(page.locator("h1.total")).to_have_text("نتيجة واحدة", use_inner_text=True)
    title = page.locator(".hit-title a").first
    expect(title).to_contain_text("BBC تنشر")
    assert title.evaluate("a => getComputedStyle(a).direction") == "rtl"  # Latin first letter, Arabic title
    expect(title.locator("bdi")).to_have_text("BBC")
    body = page.locator("body").inner_text()
    assert "matched_" not in body and "unit_" not in body
    expect(page.locator(".match").first).to_have_text(re.compile("مطابقة|بالجذع|بالجذر|بالاسم"))
    page.locator(".hit-title a").first.click()
    expect(page.locator('dt[data-key="category"]')).to_have_text("التصنيف")
    expect(page.locator('dt[data-key="author"]')).to_have_text("الكاتب")


def test_error_pages_speak_the_page_language(page, base_url):
    response = page.goto(base_url + "/search?q=داعش&op=xor")
    assert response.status == 400
    expect(page.locator("h1")).to_have_text("تعذّر تنفيذ هذا البحث")
    expect(page.get_by_label("كلمات البحث")).to_have_value("داعش")
    shot(page, "error-ar-1400")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("This search could not be run")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("button", name="Search")).to_be_visible()
    response = page.goto(base_url + "/documents/nope?lang=en")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("could not find")
    page.get_by_label("Search words").fill("داعش")
    page.get_by_role("button", name="Search").click()
    assert int(page.locator("h1.total").get_attribute("data-total")) > 0


def test_map_has_a_legend_and_labels_over_circles(page, base_url):
    page.goto(base_url + q())
    legend = page.locator(".map-legend")
    expect(legend).to_be_visible()
    counts = legend.locator(".legend-count").all_text_contents()
    assert counts and int(counts[0]) == max(
        int(t.rsplit(": ", 1)[1])
        for t in page.locator(".map-point").evaluate_all("as => as.map(a => a.getAttribute('aria-label'))")
    )
    # Labels come after every circle in the SVG, so they are painted on top.
    kinds = page.locator("svg.map > *").evaluate_all(
        "cs => cs.map(c => c.classList.contains('map-point') ? 'c' : "
        "c.classList.contains('map-label') ? 'l' : '')"
    )
    order = "".join(kinds)
    assert "c" in order and "l" in order and order.rfind("c") < order.find("l")


def test_paging_past_the_end_is_consistent(page, base_url):
    page.goto(base_url + q(offset=200))
    main = page.locator("main").inner_text()
    assert "هذه الصفحة بعد آخر النتائج" in main
    assert "لا نتائج لهذا البحث" not in main and "صفحة 11" not in main
    page.get_by_role("link", name=re.compile("الصفحة الأخيرة")).click()
    expect(page.locator(".hit").first).to_be_visible()
    assert page.locator(".pager").inner_text().strip().endswith("التالي") is False


# ---------------------------------------------------------------- exports


def test_csv_and_jsonl_exports_from_the_page(page, base_url):
    page.goto(base_url + q(place="sy-raqqa-raqqa"))
    total = int(page.locator("h1.total").get_attribute("data-total"))
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    download = info.value
    assert re.fullmatch(rf"kashaf-داعش-{date.today().isoformat()}\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    head = rows[0]
    for column in ("snippet", "matched", "place_ids", "place_labels", "group_labels", "meta.category"):
        assert column in head
    body = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    assert len(body) == total
    assert all("sy-raqqa-raqqa" in r["place_ids"].split(" | ") for r in body)
    assert all(r["snippet"] and "<mark>" not in r["snippet"] for r in body)
    with page.expect_download() as info:
        page.get_by_role("link", name="JSON Lines").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(lines) == total and info.value.suggested_filename.endswith(".jsonl")
    rec = json.loads(lines[0])
    raqqa = {"id": "sy-raqqa-raqqa", "label": "الرقة", "label_en": "Raqqa city", "level": "locality"}
    assert raqqa in rec["places"]


def test_exports_from_the_english_page_keep_the_language_and_name_places_in_english(page, base_url):
    page.goto(base_url + q(place="sy-raqqa-raqqa", lang="en"))
    for name in ("CSV", "JSON Lines"):
        href = page.get_by_role("link", name=name, exact=True).get_attribute("href")
        assert params(href).get("lang") == ["en"], href  # the English page's links keep lang=en
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV", exact=True).click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    assert rows and all(
        "Raqqa city" in r["place_labels_en"].split(" | ") and "الرقة" in r["place_labels"].split(" | ")
        for r in rows
    )
    for r in rows:  # one English name per id, in the same order
        assert len(r["place_labels_en"].split(" | ")) == len(r["place_ids"].split(" | "))
        assert len(r["group_labels_en"].split(" | ")) == len(r["group_ids"].split(" | "))


# ---------------------------------------------------------------- screenshots


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_screenshots_and_no_sideways_scroll(browser, base_url, width, lang):
    pg = new_page(browser, width=width, is_mobile=width < 500, has_touch=width < 500)
    try:
        extra = {"lang": lang} if lang == "en" else {}
        for name, url in (
            ("search", q(place="sy-raqqa", **extra)),
            ("range", q(**{"from": "2018-03", "to": "2018-03"}, **extra)),
            ("document", "/documents/w00?" + urllib.parse.urlencode({"q": "داعش", **extra})),
            ("error", "/search?" + urllib.parse.urlencode({"q": "داعش", "op": "xor", **extra})),
        ):
            pg.goto(base_url + url)
            pg.evaluate("document.fonts.ready")
            assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), url
            shot(pg, f"{name}-{lang}-{width}")
        assert not pg.errors, pg.errors
    finally:
        pg.context.close()
