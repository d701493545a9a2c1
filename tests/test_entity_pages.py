"""Entity pages and their JSON (``/entities/<id>``, ``/api/entities[/<id>]``) and ``kashaf
entities``: names in both languages, hierarchy, lineage with dates, reports per month linked to
the filtered search — on a small real index, through Flask's test client and the real CLI, the
JSON validated against the served OpenAPI description."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser

import jsonschema
import pytest

from tests.test_entity_names import ix  # noqa: F401 - the same small real index
from web import create_app


@pytest.fixture(scope="module")
def client(ix):  # noqa: F811
    return create_app(ix).test_client()


def check(spec: dict, name: str, value: object) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(value)


@pytest.fixture(scope="module")
def spec(client) -> dict:
    return client.get("/api/openapi.json").get_json()


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href", ""))


def test_api_entity_record(client, spec) -> None:
    r = client.get("/api/entities/hts")
    assert r.status_code == 200
    e = r.get_json()
    check(spec, "Entity", e)
    assert (e["id"], e["kind"], e["level"], e["name_ar"], e["name_en"]) == (
        "hts",
        "group",
        "jihadist",
        "هيئة تحرير الشام",
        "Hay'at Tahrir al-Sham",
    )
    assert "HTS" in e["aliases_en"] and "تحرير الشام" in e["aliases_ar"]
    assert [(p["id"], p["start"], p["end"]) for p in e["predecessors"]] == [
        ("jfs", "2016-07", "2017-01"),
        ("nusra", "2012-01", "2016-07"),
    ]
    assert e["months"] == [
        {"month": "2017-07", "count": 1, "search_url": "/search?group=hts&from=2017-07&to=2017-07"}
    ]
    # the month link finds what it counts
    r = client.get("/api/search?group=hts&from=2017-07&to=2017-07").get_json()
    assert r["total"] == 1


def test_api_place_record_has_parent_and_children(client, spec) -> None:
    e = client.get("/api/entities/Raqqa").get_json()  # an English name answers with its id
    check(spec, "Entity", e)
    assert e["id"] == "sy-raqqa" and e["parent"]["id"] == "sy" and e["count"] == 1
    assert "sy-raqqa-thawrah-district" in [c["id"] for c in e["children"]]
    assert client.get("/api/entities/nowhere").status_code == 404
    assert client.get("/api/entities/hts?x=1").status_code == 400


def test_api_entities_list(client, spec) -> None:
    body = client.get("/api/entities?kind=group").get_json()
    check(spec, "EntityList", body)
    rows = {r["id"]: r for r in body["entities"]}
    assert rows["houthis"]["count"] == 1 and rows["houthis"]["armed"] is True
    assert rows["sohr"]["armed"] is False
    assert all(r["kind"] == "group" for r in rows.values())
    assert client.get("/api/entities?kind=ship").status_code == 400


def test_entity_page_links_to_search_and_lineage(client) -> None:
    r = client.get("/entities/hts?lang=en")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Hay&#39;at Tahrir al-Sham" in html and "هيئة تحرير الشام" in html
    links = Links()
    links.feed(html)
    assert "/search?group=hts&from=2017-07&to=2017-07&lang=en" in links.hrefs
    assert "/entities/nusra?lang=en" in links.hrefs
    assert client.get("/entities/hts.json").get_json()["id"] == "hts"
    assert client.get("/entities/Houthis").status_code == 302
    assert client.get("/entities/nowhere").status_code == 404
    assert "/entities/hts" in client.get("/entities").get_data(as_text=True)


def test_entities_page_json_twin_and_its_state_in_the_url(client, spec) -> None:
    body = client.get("/entities.json?kind=group&lang=en").get_json()
    check(spec, "EntityList", {"entities": body["entities"]})
    assert body["entities"] == client.get("/api/entities?kind=group").get_json()["entities"]
    sections = {s["id"]: s for s in body["sections"]}
    assert set(sections) == {"places", "armed_actors", "organizations"} and not sections["places"]["groups"]
    armed = {i for g in sections["armed_actors"]["groups"] for i in g["ids"]}
    unarmed = {i for g in sections["organizations"]["groups"] for i in g["ids"]}
    assert "houthis" in armed and "sohr" in unarmed and not armed & unarmed
    assert sections["armed_actors"]["title"] == "Armed actors"
    # the page keeps its state in its links: the filters, the language switch, the JSON twin
    html = client.get("/entities?kind=group&lang=en").get_data(as_text=True)
    links = Links()
    links.feed(html)
    assert "/entities.json?kind=group&lang=en" in links.hrefs
    assert "/entities?kind=group" in links.hrefs  # the other language, same filter
    assert "/entities?kind=group&all=true&lang=en" in links.hrefs
    assert client.get("/entities?kind=ship").status_code == 400
    assert client.get("/entities.json?x=1").status_code == 400


def test_cli_entities_json(ix) -> None:  # noqa: F811
    def kashaf(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "indexer.cli", "entities", *args, "--index", str(ix)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )

    out = kashaf("Hezbollah", "--json")
    assert out.returncode == 0, out.stderr
    e = json.loads(out.stdout)
    assert e["id"] == "hezbollah" and e["months"][0]["month"] == "2018-01"
    rows = json.loads(kashaf("--json").stdout)
    assert {"name_ar", "name_en", "aliases_ar", "aliases_en", "parent"} <= set(rows[0])
    assert kashaf("nowhere").returncode == 2


def test_search_sidebar_keeps_non_fighters_out_of_armed_groups(client) -> None:
    html = client.get("/search?q=قال&op=or&lang=en").get_data(as_text=True)
    armed, _, rest = html.partition('class="facet facet-group facet-organization"')
    armed = armed[armed.index('class="facet facet-group"') :]
    assert "group=hezbollah" in armed and "group=sohr" not in armed
    assert "group=sohr" in rest and "Other organizations" in rest
