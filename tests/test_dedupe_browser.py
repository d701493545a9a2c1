"""Story groups in a real browser (Debian's Chromium via Playwright): "+N other outlets" opens
without JavaScript, each copy is a link, the document page lists the story's copies, and the
search page announces its Atom feed. Screenshots go to /tmp/kashaf-shots/."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.test_dedupe import RAQQA, build_story_index
from web import create_app

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/kashaf-shots")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    from werkzeug.serving import make_server

    ix = build_story_index(tmp_path_factory.mktemp("stories-browser"))
    server = make_server("127.0.0.1", 0, create_app(ix), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.mark.parametrize("javascript", [False, True])
def test_copies_open_and_link(base_url: str, javascript: bool) -> None:
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(java_script_enabled=javascript, viewport={"width": 1200, "height": 900})
        page.goto(base_url + "/search?q=الرقة")
        page.get_by_label("تقرير واحد لكل خبر").check()
        page.get_by_role("button", name="ابحث").click()
        page.wait_for_url("**dedupe=1**")
        copies = page.locator("details.copies").first
        assert copies.locator("summary").inner_text().startswith("+2")
        links = copies.locator("a")
        assert not links.first.is_visible()
        copies.locator("summary").click()
        assert links.first.is_visible() and links.count() == 2
        assert page.locator('link[rel="alternate"][type="application/atom+xml"]').count() == 1
        page.screenshot(path=str(SHOTS / f"dedupe-search-js{int(javascript)}.png"), full_page=True)
        links.first.click()
        page.wait_for_url("**/documents/**")
        members = page.locator("section.group-members li")
        assert members.count() == 3
        assert page.locator(f'section.group-members a[href*="/documents/{RAQQA}"]').count() <= 1
        page.screenshot(path=str(SHOTS / f"dedupe-document-js{int(javascript)}.png"), full_page=True)
        browser.close()
