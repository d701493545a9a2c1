"""Entity pages in a real browser (Debian's Chromium via Playwright) against real gunicorn as
README starts it, over an index built by the real `kashaf index`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.load import gunicorn, kashaf_index

CHROMIUM = Path("/usr/bin/chromium")
if os.environ.get("CI"):
    from playwright import sync_api  # a declared test dependency: CI must have it
else:
    sync_api = pytest.importorskip("playwright.sync_api")
    pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

DOCS = [
    {"id": "h1", "text": "شن التحالف العربي غارات على مواقع الحوثيين في الحديدة", "date": "2018-06-13"},
    {"id": "h2", "text": "تقدمت ألوية العمالقة نحو مطار الحديدة", "date": "2018-06-20"},
    {"id": "n1", "text": "اشتبك مقاتلو جبهة النصرة مع فصائل في إدلب", "date": "2015-03-01"},
    {"id": "t1", "text": "أعلنت هيئة تحرير الشام سيطرتها على إدلب", "date": "2017-07-20"},
    {"id": "o1", "text": "قال المرصد السوري لحقوق الإنسان إن الاشتباكات توقفت", "date": "2016-05-01"},
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("entity-site")
    (work / "d.jsonl").write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS), "utf-8")
    result = kashaf_index(work / "index", work / "d.jsonl")
    assert result.returncode == 0, result.stderr
    with gunicorn(work / "index", workers=2, log_dir=work / "logs") as server:
        yield server


def test_entity_page_in_chromium(site) -> None:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # an English name redirects to the id (the governorate: the city shares its name and
        # rolls up to it)
        page.goto(f"{site.url}/entities/Hodeidah?lang=en")
        assert page.url.startswith(f"{site.url}/entities/ye-hu")
        assert page.locator("h1").inner_text() == "Hodeidah Governorate"
        assert "الحديدة" in page.locator("dl").inner_text()
        # the month with two reports links to the filtered search, which finds both
        page.locator("a", has_text="2018-06").click()
        assert "place=ye-hu" in page.url and "from=2018-06" in page.url
        assert page.locator(".total-count").inner_text() == "2"
        assert page.locator("li.hit").count() == 2
        # lineage: HTS lists al-Nusra as a predecessor, with its dates, linked to its page
        page.goto(f"{site.url}/entities/hts?lang=en")
        page.locator("a", has_text="al-Nusra Front").click()
        assert page.url.startswith(f"{site.url}/entities/nusra")
        assert errors == []
        browser.close()


def test_facets_and_mentions_link_to_entity_pages_in_chromium(site) -> None:
    """The search page's facets (places, armed actors) and the document page's mentions carry a
    second link to the entity page, beside the filter link, in both languages."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for lang, direction in (("ar", "rtl"), ("en", "ltr")):
            suffix = "&lang=en" if lang == "en" else ""
            page.goto(f"{site.url}/search?q=الحديدة{suffix}")
            assert page.locator("html").get_attribute("dir") == direction
            # the place facet: the value still filters, the ⓘ beside it opens the entity page
            row = page.locator(".facet-place summary").filter(has=page.locator('[data-id="ye-hu"]')).first
            value, about = row.locator("a.facet-value"), row.locator("a.entity-link")
            assert "place=ye-hu" in value.get_attribute("href")
            name = "Hodeidah Governorate" if lang == "en" else "الحديدة"
            assert about.get_attribute("aria-label").endswith(name)
            # it sits after the value in reading order: left of it in Arabic, right in English
            vbox, abox = value.bounding_box(), about.bounding_box()
            assert (abox["x"] < vbox["x"]) if direction == "rtl" else (abox["x"] > vbox["x"])
            about.click()
            assert page.url == f"{site.url}/entities/ye-hu" + ("?lang=en" if lang == "en" else "")
            assert page.locator("h1").inner_text() == name
            # an armed actor of the facet, then the filter link itself still filters
            page.goto(f"{site.url}/search?q=الحديدة{suffix}")
            group = page.locator(".facet-group li").filter(has=page.locator('[data-id="giants-brigades"]'))
            group.locator("a.entity-link").click()
            assert page.url.startswith(f"{site.url}/entities/giants-brigades")
            page.goto(f"{site.url}/search?q=الحديدة{suffix}")
            page.locator('.facet-group a.facet-value[data-id="giants-brigades"]').click()
            assert "group=giants-brigades" in page.url
            assert page.locator("li.hit").count() == 1
            # the document page: each place or group mentioned links to its page too
            page.locator("li.hit a").first.click()
            mention = page.locator(".mentioned li").filter(has_text="العمالقة" if lang == "ar" else "Giants")
            assert "group=giants-brigades" in mention.locator("a.mention").get_attribute("href")
            mention.locator("a.entity-link").click()
            assert page.url.startswith(f"{site.url}/entities/giants-brigades")
        assert errors == []
        browser.close()


def test_map_labels_do_not_overlap_in_either_language_in_chromium(site) -> None:
    """The governorates' names on the search page's map, measured by Chromium (getBBox of
    each label as drawn): no two overlap, in Arabic or in English (Rif Dimashq beside
    Damascus, As-Suwayda beside Daraa), at a desktop and a phone width."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        for width in (1400, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            for suffix in ("", "&lang=en"):
                page.goto(f"{site.url}/search?q=إدلب{suffix}")
                boxes = page.eval_on_selector_all(
                    "svg.map text.map-label",
                    "els => els.map(e => { const b = e.getBBox();"
                    " return [e.textContent, b.x, b.y, b.x + b.width, b.y + b.height]; })",
                )
                assert len(boxes) == 14  # Syria's governorates
                for i, a in enumerate(boxes):
                    for b in boxes[i + 1 :]:
                        apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
                        assert apart, f"{a[0]} overlaps {b[0]} ({width}px{suffix})"
            page.close()
        browser.close()


def test_entities_page_is_grouped_like_the_facets_in_chromium(site) -> None:
    """/entities lists places by country, then the actors that fight and those that do not,
    each by kind, as the search page's facets do; the filters are links whose state is in the
    URL, and the page fits a phone's width in both languages."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for suffix, names in (("?lang=en", ("Places", "Armed actors")), ("", ("الأماكن", "الجهات المسلحة"))):
            page.goto(f"{site.url}/entities{suffix}")
            heads = page.locator("section.entity-section > h2").all_inner_texts()
            assert [h.split()[0] for h in heads[:1]] == [names[0].split()[0]]
            assert any(h.startswith(names[1]) for h in heads)
            overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
            assert overflow <= 0
            # places by country: Yemen's and Syria's places under their own country
            groups = page.locator("#places details.entity-group > summary").all_inner_texts()
            assert any(g.startswith("Yemen" if suffix else "اليمن") for g in groups)
            hodeidah = page.locator('a[href^="/entities/ye-hu"]')
            yemen = page.locator("#places details.entity-group").filter(has=hodeidah)
            assert yemen.locator('a[href^="/entities/sy-idlib"]').count() == 0
            # an armed actor under "Armed actors", by its kind
            assert page.locator('#armed_actors a[href^="/entities/houthis"]').count() == 1
            assert page.locator('#places a[href^="/entities/houthis"]').count() == 0
            # ... and a monitor, which does not fight, under the organizations
            assert page.locator('#organizations a[href^="/entities/sohr"]').count() == 1
            assert page.locator('#armed_actors a[href^="/entities/sohr"]').count() == 0
        # the groups-only filter: a link whose state is in the URL, the places gone
        page.goto(f"{site.url}/entities?lang=en")
        page.locator(".entity-filters a", has_text="Groups").click()
        assert "kind=group" in page.url and "lang=en" in page.url
        assert page.locator("#places").count() == 0 and page.locator("#armed_actors").count() == 1
        # ... and its JSON twin says the same
        page.locator(".exports a").click()
        body = json.loads(page.locator("body").inner_text())
        assert {s["id"] for s in body["sections"]} == {"places", "armed_actors", "organizations"}
        assert all(r["kind"] == "group" for r in body["entities"])
        assert errors == []
        browser.close()
