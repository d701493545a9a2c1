"""The JSON API contract through Flask's real test client over a real index, and the
OpenAPI description validated against real responses."""

from __future__ import annotations

import pytest

from tests.test_search import build_corpus
from web import create_app

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return create_app(build_corpus(tmp_path_factory.mktemp("api"))).test_client()


@pytest.fixture(scope="module")
def spec(client) -> dict:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    return r.get_json()


def check(spec: dict, name: str, value: object) -> None:
    """Validate ``value`` against ``#/components/schemas/<name>`` of the served spec."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(value)


def test_search_answers_the_documented_shape(client, spec) -> None:
    r = client.get("/api/search", query_string={"q": "مدينة", "op": "or", "limit": 2, "place": "sy"})
    assert r.status_code == 200
    body = r.get_json()
    check(spec, "SearchResponse", body)
    assert body["total"] == 4 and len(body["hits"]) == 2
    assert body["facets"]["place"][0]["id"] == "sy" and body["facets"]["place"][0]["count"] == 4


def test_search_filters_and_repeatable_parameters(client, spec) -> None:
    q = [("q", "إدلب"), ("group", "nusra"), ("with_successors", "true"), ("sort", "date")]
    body = client.get("/api/search", query_string=q).get_json()
    assert [h["id"] for h in body["hits"]] == ["hts", "nusra"]
    both = client.get("/api/search", query_string=[("q", "مدينة"), ("source", "BBC"), ("source", "CNN")])
    assert both.get_json()["total"] == 4
    dated = client.get("/api/search", query_string={"q": "إدلب", "from": "2017", "to": "2017-12"})
    assert [h["id"] for h in dated.get_json()["hits"]] == ["hts"]


def test_zero_hits_offer_a_suggestion(client, spec) -> None:
    body = client.get("/api/search", query_string={"q": "البوكمل"}).get_json()
    check(spec, "SearchResponse", body)
    assert body["total"] == 0 and body["suggestion"] == "البوكمال"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"q": "x", "page": "2"}, "unknown_parameter"),
        ({"q": "x", "limit": "0"}, "invalid_parameter"),
        ({"q": "x", "limit": "101"}, "invalid_parameter"),
        ({"q": "x", "limit": "ten"}, "invalid_parameter"),
        ({"q": "x", "offset": "-1"}, "invalid_parameter"),
        ({"q": "x", "op": "xor"}, "invalid_parameter"),
        ({"q": "x", "sort": "title"}, "invalid_parameter"),
        ({"q": "x", "with_successors": "maybe"}, "invalid_parameter"),
        ({"q": "x" * 5000}, "query_too_long"),
        ({"q": "date:2017-13"}, "invalid_query"),
        ({"q": "x", "place": "atlantis"}, "invalid_query"),
        ({"q": "x", "from": "yesterday"}, "invalid_query"),
    ],
)
def test_bad_requests_are_400_with_a_code(client, spec, params, code) -> None:
    r = client.get("/api/search", query_string=params)
    assert r.status_code == 400
    check(spec, "Error", r.get_json())
    assert r.get_json()["error"]["code"] == code and r.get_json()["error"]["message"]


@pytest.mark.parametrize("q", ['"الرقة', "((", "AND", "NOT", "-", "الرقة))"])
def test_malformed_queries_do_not_fail(client, q) -> None:
    assert client.get("/api/search", query_string={"q": q}).status_code == 200


def test_limit_bounds_are_inclusive(client) -> None:
    for limit in (1, 100):
        assert client.get("/api/search", query_string={"q": "مدينة", "limit": limit}).status_code == 200


def test_document_has_mentions_with_labels(client, spec) -> None:
    r = client.get("/api/documents/alias")
    assert r.status_code == 200
    doc = r.get_json()
    check(spec, "Document", doc)
    by_id = {m["entity_id"]: m for m in doc["mentions"]}
    assert by_id["isis"]["label"] == "تنظيم الدولة الإسلامية"
    m = by_id["sy-deirezzor-abukamal"]
    assert doc[{"body": "text", "title": "title"}[m["field"]]][m["start"] : m["end"]] == "البوكمال"
    missing = client.get("/api/documents/nope")
    assert missing.status_code == 404
    check(spec, "Error", missing.get_json())


def test_batch(client, spec) -> None:
    body = {"queries": [{"id": "a", "q": "إدلب"}, {"id": 7, "q": "date:2017-13"}], "op": "or", "limit": 5}
    check(spec, "BatchRequest", body)
    r = client.post("/api/batch", json=body)
    assert r.status_code == 200
    out = r.get_json()
    check(spec, "BatchResponse", out)
    first, second = out["results"]
    assert {h["id"] for h in first["hits"]} == {"nusra", "hts"} and first["hits"][0]["rank"] == 1
    assert second["id"] == "7" and second["hits"] == [] and second["error"]["code"] == "invalid_query"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"queries": []},
        {"queries": [{"q": "x"}], "extra": 1},
        {"queries": [{"q": "x", "lang": "ar"}]},
        {"queries": [{"id": "a"}]},
        {"queries": [{"q": 3}]},
        {"queries": [{"q": "x"}] * 101},
        {"queries": [{"q": "x"}], "limit": 0},
        {"queries": [{"q": "x"}], "op": "nand"},
    ],
)
def test_bad_batches_are_400(client, spec, body) -> None:
    r = client.post("/api/batch", json=body) if body is not None else client.post("/api/batch", data="{")
    assert r.status_code == 400
    check(spec, "Error", r.get_json())


def test_openapi_documents_every_route(spec) -> None:
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/search",
        "/api/documents/{id}",
        "/api/batch",
        "/api/entities",
        "/api/entities/{id}",
        "/api/openapi.json",
    }
    documented = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    from web.api import SEARCH_PARAMS

    assert documented == set(SEARCH_PARAMS)
    jsonschema.Draft202012Validator.check_schema({"components": spec["components"]})
