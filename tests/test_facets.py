"""Facets count every matching document (not just the page), with labels and roll-ups;
``kashaf entities`` lists known entities with document counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.search import search
from tests.test_search import build_corpus


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("facets"))


def test_facets_count_all_matches_not_the_page(ix: Path) -> None:
    r = search(ix, "مدينة", limit=1)
    assert r["total"] > 1 and len(r["hits"]) == 1
    places = {f["id"]: f for f in r["facets"]["place"]}
    # البوكمال, الرقة and إدلب (twice): Syria counts every one of them.
    assert places["sy"]["count"] == r["total"] == 4
    assert places["sy-idlib"]["count"] == 2
    dz = places["sy-deirezzor"]
    assert (dz["label"], dz["label_en"], dz["level"], dz["parent"], dz["count"]) == (
        "دير الزور",
        "Deir ez-Zor",
        "governorate",
        "sy",
        1,
    )
    months = r["facets"]["date"]
    assert months == sorted(months, key=lambda m: m["month"])
    assert sum(m["count"] for m in months) == 4


def test_group_facet_and_filter_agree(ix: Path) -> None:
    r = search(ix, "", group=["isis"])
    groups = {f["id"]: f for f in r["facets"]["group"]}
    assert groups["isis"]["count"] == r["total"] == 1 and groups["isis"]["level"] == "jihadist"


def test_facets_follow_the_filters(ix: Path) -> None:
    r = search(ix, "مدينة", source=["CNN"])
    assert [f["id"] for f in r["facets"]["place"] if f["level"] == "governorate"] == ["sy-raqqa"]


def kashaf(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "indexer.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )


def test_entities_command(ix: Path) -> None:
    out = kashaf("entities", "--kind", "group", "--json", "--index", str(ix))
    assert out.returncode == 0, out.stderr
    rows = {r["id"]: r for r in json.loads(out.stdout)}
    assert rows["isis"]["count"] == 1 and rows["hts"]["count"] == 1
    assert all(r["kind"] == "group" and r["count"] > 0 for r in rows.values())
    text = kashaf("entities", "--index", str(ix))
    assert "sy-deirezzor" in text.stdout and "isis" in text.stdout
    everything = json.loads(kashaf("entities", "--all", "--json", "--index", str(ix)).stdout)
    assert len(everything) > 500 and any(r["count"] == 0 for r in everything)


def test_search_json_keeps_the_contract(ix: Path) -> None:
    out = kashaf("search", "مدينة", "--json", "--limit", "2", "--place", "sy", "--index", str(ix))
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert list(r)[:4] == ["query", "total", "hits", "facets"]
    assert {"explain", "suggestion"} <= set(r)
    hit = r["hits"][0]
    assert list(hit)[:7] == ["id", "title", "date", "source", "url", "score", "snippet"]
    assert set(r["facets"]) == {"place", "group", "organization", "source", "date", "timeline"}
    bad = kashaf("search", "date:2017-99", "--index", str(ix))
    assert bad.returncode == 2 and "2017-99" in bad.stderr


def test_timeline_leaves_a_stray_date_off_the_chart_and_counts_it(tmp_path: Path) -> None:
    """One report misdated by years among 240 would squash every bar: it is counted
    beside the chart (``before``), not drawn; an explicit range keeps it."""
    from datetime import date, timedelta

    from tests.test_pages import build_index

    docs = [
        {
            "id": f"d{i}",
            "title": "خبر",
            "text": "انسحاب القوات",
            "date": (date(2018, 2, 1) + timedelta(i)).isoformat(),
        }
        for i in range(240)
    ]
    docs.append({"id": "stray", "title": "خبر", "text": "انسحاب القوات", "date": "2013-12-05"})
    index = build_index(tmp_path, docs)
    tl = search(index, "انسحاب")["facets"]["timeline"]
    assert (tl["from"], tl["to"], tl["before"], tl["after"]) == ("2018-02-01", "2018-09-28", 1, 0)
    assert tl["unit"] == "week" and sum(b["count"] for b in tl["buckets"]) == 240
    wide = search(index, "انسحاب", date_from="2013")["facets"]["timeline"]
    assert wide["before"] == 0 and wide["unit"] == "year" and sum(b["count"] for b in wide["buckets"]) == 241


def test_cli_sorts_oldest_and_matches_sources_in_any_case(ix: Path) -> None:
    def dates(*args: str) -> list[str]:
        out = kashaf("search", "مدينة", "--op", "or", "--json", "--index", str(ix), *args)
        assert out.returncode == 0, out.stderr
        return [(h["date"] or "")[:10] for h in json.loads(out.stdout)["hits"]]

    oldest = dates("--sort", "oldest")
    assert oldest == sorted(oldest) and len(oldest) >= 3
    assert dates("--sort", "newest") == sorted(oldest, reverse=True)
    assert len(dates("--source", "bbc")) == len(dates("--source", "BBC")) > 0
