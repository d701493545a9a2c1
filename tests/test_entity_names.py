"""English names and transliterations, lineage both ways and the organizations facet, on a
small real index through the search core, the CLI and the JSON API (Flask's test client)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.build import build
from indexer.search import QueryError, search
from web import create_app

DOCS = [
    {"id": "raqqa", "text": "قصفت الطائرات مدينة الرقة فجر اليوم", "date": "2017-08-15"},
    {"id": "deir", "text": "اشتباكات في مدينة دير الزور شرق سوريا", "date": "2017-09-01"},
    {"id": "nusra", "text": "اشتبك مقاتلو جبهة النصرة مع فصائل في إدلب", "date": "2015-03-01"},
    {"id": "hts", "text": "أعلنت هيئة تحرير الشام سيطرتها على إدلب", "date": "2017-07-20"},
    {"id": "hezbollah", "text": "قال حزب الله في بيان من بيروت", "date": "2018-01-02"},
    {"id": "houthis", "text": "هاجم الحوثيون مواقع في الحديدة غرب اليمن", "date": "2018-06-13"},
    {"id": "sohr", "text": "قال المرصد السوري لحقوق الإنسان إن القتلى مدنيون", "date": "2018-02-01"},
]


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("names")
    src = folder / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in DOCS), "utf-8")
    build([src], folder / "ix", jobs=1)
    return folder / "ix"


def found(ix: Path, q: str, **kw) -> set[str]:
    return {h["id"] for h in search(ix, q, limit=50, **kw)["hits"]}


@pytest.mark.parametrize(
    ("query", "doc"),
    [
        ("Raqqa", "raqqa"),
        ("rakka", "raqqa"),
        ("ar-Raqqah", "raqqa"),
        ("Deir ez-Zor", "deir"),
        ("deir al-zour", "deir"),
        ("Hezbollah", "hezbollah"),
        ("Hizbullah", "hezbollah"),
        ("Houthis", "houthis"),
        ("HTS", "hts"),
        ("hodeidah", "houthis"),
        ("Syria", "deir"),
    ],
)
def test_english_names_in_free_text(ix: Path, query: str, doc: str) -> None:
    assert doc in found(ix, query)


@pytest.mark.parametrize(("query", "doc"), [("place:Raqqa", "raqqa"), ("group:hizbullah", "hezbollah")])
def test_english_names_in_fields(ix: Path, query: str, doc: str) -> None:
    assert found(ix, query) == {doc}


def test_english_names_in_filters(ix: Path) -> None:
    assert found(ix, "", place=["Raqqa"]) == {"raqqa"}
    assert found(ix, "", group=["Houthis"]) == {"houthis"}
    with pytest.raises(QueryError):
        search(ix, "", place=["Raqqqqqa-nowhere"])


def test_did_you_mean_offers_known_english_names(ix: Path) -> None:
    r = search(ix, "Syira")
    assert r["suggestion"] == "Syria"


def test_lineage_both_ways(ix: Path) -> None:
    assert found(ix, "", group=["hts"]) == {"hts"}
    assert found(ix, "", group=["hts"], with_predecessors=True) == {"hts", "nusra"}
    assert found(ix, "", group=["nusra"], with_successors=True) == {"hts", "nusra"}
    assert found(ix, "", group=["nusra"], with_predecessors=True) == {"nusra"}


def test_armed_actors_facet_holds_only_fighters(ix: Path) -> None:
    r = search(ix, "قال", op="or")
    groups = {f["id"] for f in r["facets"]["group"]}
    orgs = {f["id"] for f in r["facets"]["organization"]}
    assert "hezbollah" in groups and "sohr" in orgs
    assert "sohr" not in groups and "hezbollah" not in orgs


def test_cli_and_api_take_english_names_and_predecessors(ix: Path) -> None:
    args = ["search", "", "--group", "HTS", "--with-predecessors", "--json", "--index", str(ix)]
    out = subprocess.run(
        [sys.executable, "-m", "indexer.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert {h["id"] for h in json.loads(out.stdout)["hits"]} == {"hts", "nusra"}
    client = create_app(ix).test_client()
    r = client.get("/api/search", query_string={"group": "hts", "with_predecessors": "true"})
    assert r.status_code == 200, r.get_json()
    assert {h["id"] for h in r.get_json()["hits"]} == {"hts", "nusra"}
    assert client.get("/api/search", query_string={"place": "raqqa"}).get_json()["total"] == 1
    bad = client.get("/api/search", query_string={"group": "hts", "with_predecessors": "maybe"})
    assert bad.status_code == 400
