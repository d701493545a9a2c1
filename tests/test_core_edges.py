"""Behaviours of the core that mutation testing (benchmarks/mutation.py) found no test for.

Every expectation is written by hand: the Arabic forms from the language (what a reader
takes the word to be), coordinates from the map, the API's rules from README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers import gazetteer, light_stem, root
from analyzers.stem import strip_proclitics
from tests.test_search import build_corpus
from web import create_app


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        # و before a verb with the plural ending ون: "and they love / strive" (stem.py's
        # conjunction rule for 6+ letter words ending in ون / ات).
        ("ويحبون", "يحب"),
        ("ويسعون", "يسع"),
        # A 3-letter base left by a plural suffix is a word ("situations", "sessions", "his door").
        ("بحالات", "حال"),
        ("بجلسات", "جلس"),
        ("بابه", "باب"),
        ("آليات", "الي"),
        # A pronoun suffix leaving 3 letters: "one of them", "their hope".
        ("أحدهم", "احد"),
        ("أملهم", "امل"),
        # ا at the start is part of these words, not a clitic.
        ("التي", "التي"),
        ("أميركيون", "اميرك"),
        ("أكاديميات", "اكاديم"),
    ],
)
def test_light_stem_of_clitic_and_suffix_edges(word: str, stem: str) -> None:
    assert light_stem(word) == stem


def test_conjunction_before_an_unknown_plural() -> None:
    # README/docs: names rarely end in ون / ات, so و before such an unknown word is a conjunction.
    assert strip_proclitics("وساهدون") == "ساهدون"
    assert strip_proclitics("وزغبون") == "زغبون"  # six letters: the shortest the rule takes


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("الصف", "صفف"),  # row
        ("بنودا", "بند"),  # clauses
        ("الاثنين", "ثني"),  # Monday / two
        ("المتهمين", "وهم"),  # the accused: اتهم, a dropped first radical و
        ("تتجه", "وجه"),  # heads towards: اتجه
        ("آراء", "رءي"),  # opinions: آ is ء + ا
        ("آبار", "بءر"),  # wells
        ("أسأل", "سءل"),  # I ask: the hamza after the first letter is a radical
        ("الثأر", "ثءر"),  # revenge
    ],
)
def test_roots(word: str, expected: str) -> None:
    assert root(word) == expected


@pytest.mark.parametrize(
    ("place_id", "lat", "lon"),
    [  # the cities' coordinates (degrees north / east), from any atlas
        ("sy-raqqa-raqqa", 35.95, 39.01),
        ("sy-aleppo-aleppo", 36.20, 37.16),
        ("sy-damascus-damascus", 33.51, 36.29),
    ],
)
def test_gazetteer_coordinates(place_id: str, lat: float, lon: float) -> None:
    place = gazetteer.get(place_id)
    assert place.lat == pytest.approx(lat, abs=0.1) and place.lon == pytest.approx(lon, abs=0.1)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    ix: Path = build_corpus(tmp_path_factory.mktemp("edges"))
    return create_app(ix).test_client()


@pytest.mark.parametrize(
    "query", ["q=x&q=y", "q=x&op=and&op=or", "q=x&limit=5&limit=6", "q=x&sort=date&sort=date"]
)
def test_a_single_valued_parameter_given_twice_is_refused(client, query: str) -> None:
    # Only place, group and source repeat (README); any other parameter twice is ambiguous.
    r = client.get(f"/api/search?{query}")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_parameter"


def test_repeatable_parameters_are_accepted_twice(client) -> None:
    r = client.get("/api/search?q=&place=sy-idlib&place=sy-deirezzor&source=BBC&source=CNN")
    assert r.status_code == 200
    assert {h["id"] for h in r.get_json()["hits"]} == {"alias", "nusra", "hts"}


def test_query_length_limit_is_1000_characters(client) -> None:
    # README: "a query over 1,000 characters is a clear error"; 1,000 itself is a query.
    at_limit = ("الرقة " * 200)[:1000]
    assert len(at_limit) == 1000
    assert client.get("/api/search", query_string={"q": at_limit}).status_code == 200
    over = client.get("/api/search", query_string={"q": at_limit + "x"})
    assert over.status_code == 400 and over.get_json()["error"]["code"] == "query_too_long"
    ok = client.post("/api/batch", json={"queries": [{"id": "a", "q": at_limit}]})
    assert ok.status_code == 200 and "error" not in ok.get_json()["results"][0]
    bad = client.post("/api/batch", json={"queries": [{"id": "a", "q": at_limit + "x"}]})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "query_too_long"


def test_batch_limit_default_is_the_documented_one(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    documented = spec["components"]["schemas"]["BatchRequest"]["properties"]["limit"]["default"]
    assert documented == 10  # and README's `kashaf batch --limit N` (default 10)
    answer = client.post("/api/batch", json={"queries": [{"id": "a", "q": "مدينة"}]}).get_json()
    assert answer["limit"] == documented
