"""The web UI in a real browser: Debian's Chromium driven by Playwright, the app served on localhost.

Screenshots go to /tmp/kashaf-shots/ (not the repository) for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright import sync_api

from tests.conftest import chromium_path
from tests.test_pages import QUERY, build_index

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp/kashaf-shots")
expect = sync_api.expect


@pytest.fixture(scope="module")
def base_url(tmp_path_factory, live_server):
    """The production stack: ``kashaf index`` then gunicorn as README starts it."""
    work = tmp_path_factory.mktemp("browser")
    with live_server(build_index(work), workers=2, log_dir=work / "logs") as server:
        yield server.url


@pytest.fixture(scope="module")
def browser():
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("no chromium on PATH nor /usr/bin/chromium (.ci/run installs Debian's)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh page that records dialogs, page errors and CSP violations."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ar")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.dialogs, pg.errors = [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: "Content Security Policy" in m.text and pg.errors.append(m.text))
    yield pg
    context.close()


def shot(pg, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_search_open_document_and_back(page, base_url):
    page.goto(base_url + "/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    shot(page, "welcome")
    page.get_by_label("كلمات البحث").fill(QUERY)
    page.get_by_role("button", name="ابحث").click()
    expect(page).to_have_url(re.compile(r"/search\?q=%D8%A7"))
    expect(page.locator(".total-count")).to_have_text("3")
    expect(page.locator(".hit")).to_have_count(3)
    expect(page.locator(".snippet mark").first).to_be_visible()
    shot(page, "search")
    page.locator(".hit-title a", has_text="انسحاب قوات النظام من الرقة").click()
    expect(page.locator("h1.doc-title")).to_contain_text("قوات النظام")
    expect(page.locator(".doc-title mark")).to_have_text("انسحاب")
    expect(page.locator(".doc-body mark").first).to_have_text("انسحبت")
    expect(page.locator(".similar li").first).to_be_visible()
    shot(page, "document")
    page.get_by_role("link", name="العودة إلى النتائج").click()
    expect(page.locator(".hit")).to_have_count(3)
    assert not page.errors, page.errors


def test_broaden_to_the_root_and_back(page, base_url):
    # The default set leaves out the two reports that share only the root of انسحاب; the
    # page offers them with their number, and the level select takes the query back.
    page.goto(f"{base_url}/search?q={QUERY}")
    expect(page.locator(".total-count")).to_have_text("3")
    page.locator(".broaden a").click()
    expect(page).to_have_url(re.compile(r"level=root"))
    expect(page.locator(".total-count")).to_have_text("5")
    expect(page.locator(".hit")).to_have_count(5)
    shot(page, "search-root")
    page.get_by_label("المطابقة").select_option("stem")
    expect(page.locator(".total-count")).to_have_text("3")
    assert "level=root" not in page.url
    assert not page.errors, page.errors


def test_select_and_paging_keep_state_in_the_url(page, base_url):
    page.goto(f"{base_url}/search?q={QUERY}&limit=2")
    page.get_by_label("الربط بين الكلمات").select_option("or")  # the script submits at once
    expect(page).to_have_url(re.compile(r"op=or"))
    page.get_by_role("link", name="التالي").click()
    expect(page).to_have_url(re.compile(r"offset=2"))
    expect(page.locator("ol.hits")).to_have_attribute("start", "3")
    assert "op=or" in page.url and "limit=2" in page.url


def test_sort_by_date(page, base_url):
    page.goto(f"{base_url}/search?q={QUERY}")
    page.get_by_label("الترتيب").select_option("newest")
    expect(page).to_have_url(re.compile(r"sort=newest"))
    dates = page.locator(".hit time").evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
    got = [d[:10] for d in dates]
    # The dates of the test documents (tests/test_pages.py), newest first; whichever of them
    # the query matches keep this order.
    newest_first = ["2017-06-20", "2017-06-05", "2016-02-10", "2015-01-01", "2014-08-24"]
    assert len(got) >= 3 and got == [d for d in newest_first if d in got], got


def test_language_switch(page, base_url):
    page.goto(f"{base_url}/search?q={QUERY}")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("button", name="Search")).to_be_visible()
    expect(page.locator(".hit")).to_have_count(3)
    shot(page, "search-en")
    page.locator(".hit-title a").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")


def test_facet_click_filters_and_chip_removes(page, base_url):
    page.goto(f"{base_url}/search?q={QUERY}")
    before = int(page.locator(".total-count").inner_text())
    # A visible place (a governorate under the open country) that narrows the results:
    # the test documents mention several governorates, so one exists.
    links = page.locator(".facet-place a.facet-value").filter(visible=True)
    counts = [int(links.nth(i).locator(".count").inner_text()) for i in range(links.count())]
    narrowing = [i for i, c in enumerate(counts) if c < before]
    assert narrowing, f"no place facet narrows the {before} results: {counts}"
    link = links.nth(narrowing[0])
    place_id, expected = link.get_attribute("data-id"), counts[narrowing[0]]
    link.click()
    expect(page).to_have_url(re.compile(rf"place={re.escape(place_id)}"))
    expect(page.locator(".chip-place")).to_have_count(1)
    # The click filtered: the total is the facet's count, fewer than before, and so are the hits.
    expect(page.locator(".total-count")).to_have_text(str(expected))
    expect(page.locator(".hit")).to_have_count(expected)
    expect(page.locator(f'.facet-place a.facet-value.active[data-id="{place_id}"]')).to_be_visible()
    expect(page.locator(".map circle").first).to_be_visible()
    shot(page, "facets")
    page.locator(".chip-place").click()
    expect(page.locator(".chip-place")).to_have_count(0)
    expect(page.locator(".total-count")).to_have_text(str(before))


def test_xss_payload_is_shown_as_text_and_runs_nothing(page, base_url):
    for url in (f"/search?q={QUERY}", f"/documents/xss?q={QUERY}", "/documents/xss"):
        page.goto(base_url + url)
        expect(page.locator("main")).to_contain_text("<script>window.__pwned=1</script>")
        assert page.evaluate("window.__pwned") is None
        assert page.locator("main img, main svg[onload], main a[href^='javascript']").count() == 0
    expect(page.locator(".doc-body")).to_contain_text('<img src=x onerror="window.__pwned=5;alert(5)">')
    shot(page, "xss-document")
    assert page.dialogs == [] and not [e for e in page.errors if "pwned" in e]


def test_keyboard_skip_link_and_focus(page, base_url):
    page.goto(f"{base_url}/search?q={QUERY}")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="انتقل إلى النتائج")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))
    page.keyboard.press("/")
    expect(page.get_by_label("كلمات البحث")).to_be_focused()


def test_phone_layout_has_no_horizontal_scroll(browser, base_url):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    pg = context.new_page()
    try:
        for url in (f"/search?q={QUERY}", f"/documents/r1?q={QUERY}", "/"):
            pg.goto(base_url + url)
            assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), url
        pg.goto(f"{base_url}/search?q={QUERY}")
        results, sidebar = pg.locator(".results").bounding_box(), pg.locator(".sidebar").bounding_box()
        assert sidebar["y"] >= results["y"] + results["height"] - 1  # the sidebar stacks below
        shot(pg, "search-phone")
    finally:
        context.close()


def test_error_pages_are_friendly(page, base_url):
    response = page.goto(f"{base_url}/search?q=x&op=xor")
    assert response.status == 400
    expect(page.locator("h1")).to_have_text("تعذّر تنفيذ هذا البحث")
    response = page.goto(f"{base_url}/documents/..%2F..%2Fetc%2Fpasswd")
    assert response.status == 404
    expect(page.locator("h1")).to_contain_text("لم نجد")
