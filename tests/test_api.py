"""The JSON API contract through Flask's real test client over a real index, and the
OpenAPI description validated against real responses."""

from __future__ import annotations

import jsonschema
import pytest

from tests.test_search import build_corpus
from web import create_app


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
    # مصادر is in aleppo (CNN) and reuters (Reuters): a repeated source takes any of those named.
    both = client.get("/api/search", query_string=[("q", "مصادر"), ("source", "BBC"), ("source", "CNN")])
    assert [h["id"] for h in both.get_json()["hits"]] == ["aleppo"]
    other = client.get("/api/search", query_string=[("q", "مصادر"), ("source", "CNN"), ("source", "Reuters")])
    assert {h["id"] for h in other.get_json()["hits"]} == {"aleppo", "reuters"}
    dated = client.get("/api/search", query_string={"q": "إدلب", "from": "2017", "to": "2017-12"})
    assert [h["id"] for h in dated.get_json()["hits"]] == ["hts"]


def test_level_root_broadens_and_the_default_says_by_how_much(client, spec) -> None:
    # وانسحبت (lvl-root) shares only the root of انسحاب.
    narrow = client.get("/api/search", query_string={"q": "انسحاب"}).get_json()
    wide = client.get("/api/search", query_string={"q": "انسحاب", "level": "root"}).get_json()
    check(spec, "SearchResponse", narrow)
    check(spec, "SearchResponse", wide)
    assert narrow["level"] == "stem" and wide["level"] == "root"
    assert wide["total"] == narrow["total"] + narrow["broaden"]["more"] and wide["broaden"] is None
    assert "lvl-root" in {h["id"] for h in wide["hits"]} - {h["id"] for h in narrow["hits"]}


def test_zero_hits_offer_a_suggestion(client, spec) -> None:
    body = client.get("/api/search", query_string={"q": "البوكمل"}).get_json()
    check(spec, "SearchResponse", body)
    assert body["total"] == 0 and body["suggestion"] == "البوكمال"
    # Spelled as a document spells it (the word at its posting's position), not as indexed (ادلب).
    body = client.get("/api/search", query_string={"q": "ادلبب"}).get_json()
    assert body["total"] == 0 and body["suggestion"] == "إدلب"


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
        ({"q": "x", "level": "lemma"}, "invalid_parameter"),
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
        "/api/search.csv",
        "/api/search.jsonl",
        "/api/documents/{id}",
        "/api/documents/{id}/similar",
        "/api/batch",
        "/api/entities",
        "/api/entities/{id}",
        "/api/openapi.json",
    }
    documented = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    from web.api import SEARCH_PARAMS

    assert documented == set(SEARCH_PARAMS)
    jsonschema.Draft202012Validator.check_schema({"components": spec["components"]})


def test_sort_oldest_and_newest(client, spec) -> None:
    def ids(sort: str) -> list[str]:
        body = client.get("/api/search", query_string={"q": "مدينة", "op": "or", "sort": sort}).get_json()
        check(spec, "SearchResponse", body)
        return [(h["date"] or "")[:10] for h in body["hits"]]

    oldest, newest = ids("oldest"), ids("newest")
    assert oldest == sorted(oldest) and len(oldest) >= 3
    assert newest == sorted(newest, reverse=True) == ids("date")


def test_source_filter_and_facet_ignore_case(client, spec) -> None:
    exact = client.get("/api/search", query_string={"q": "مدينة", "op": "or", "source": "BBC"}).get_json()
    lower = client.get("/api/search", query_string={"q": "مدينة", "op": "or", "source": " bbc "}).get_json()
    assert exact["total"] == lower["total"] > 0
    assert [h["id"] for h in exact["hits"]] == [h["id"] for h in lower["hits"]]
    assert {h["source"] for h in lower["hits"]} == {"BBC"}
    facet = exact["facets"]["source"]
    assert facet == [{"value": "BBC", "count": exact["total"]}]
    assert client.get("/api/search", query_string={"q": "مدينة", "source": "nobody"}).get_json()["total"] == 0


def test_timeline_buckets_adapt_to_the_range(client, spec) -> None:
    def timeline(**extra) -> dict:
        body = client.get("/api/search", query_string={"q": "مدينة", "op": "or", **extra}).get_json()
        check(spec, "SearchResponse", body)
        return body["facets"]["timeline"]

    wide = timeline()
    assert wide["unit"] in ("month", "year") and sum(b["count"] for b in wide["buckets"]) >= 3
    month = timeline(**{"from": "2017-06", "to": "2017-06"})
    assert month["unit"] == "day" and len(month["buckets"]) == 30
    assert (month["from"], month["to"]) == ("2017-06-01", "2017-06-30")
    assert [b["start"] for b in month["buckets"] if b["count"]] == ["2017-06-10"]
    year = timeline(**{"from": "2017", "to": "2017"})
    assert year["unit"] == "week" and year["buckets"][0]["start"] == "2017-01-01"


def test_similar_endpoint(client, spec) -> None:
    r = client.get("/api/documents/raqqa/similar", query_string={"limit": 3})
    assert r.status_code == 200
    body = r.get_json()
    check(spec, "Similar", body)
    assert body["id"] == "raqqa" and 0 < len(body["similar"]) <= 3
    assert "raqqa" not in [s["id"] for s in body["similar"]]
    assert client.get("/api/documents/nope/similar").status_code == 404
    assert client.get("/api/documents/raqqa/similar?limit=0").status_code == 400
    assert client.get("/api/documents/raqqa/similar?x=1").status_code == 400


def test_json_is_utf8_not_escaped(client) -> None:
    r = client.get("/api/search", query_string={"q": "مدينة"})
    assert r.mimetype == "application/json" and "\\u0" not in r.get_data(as_text=True)
    assert "مدينة" in r.get_data(as_text=True)


def test_jsonl_export_every_match_with_entities_and_meta(client) -> None:
    import json

    r = client.get("/api/search.jsonl", query_string={"q": "مدينة", "op": "or", "source": "bbc"})
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    disposition = r.headers["Content-Disposition"]
    assert 'filename="kashaf-search-' in disposition and ".jsonl" in disposition
    assert "filename*=UTF-8''kashaf-%D9%85%D8%AF%D9%8A%D9%86%D8%A9-" in disposition
    rows = [json.loads(line) for line in r.get_data(as_text=True).splitlines()]
    total = client.get("/api/search", query_string={"q": "مدينة", "op": "or", "source": "bbc"}).get_json()[
        "total"
    ]
    assert len(rows) == total > 0
    assert set(rows[0]) >= {"id", "snippet", "matched", "places", "groups", "meta", "score"}
    assert "<mark>" not in rows[0]["snippet"] and rows[0]["snippet"]
    assert any(p["id"].startswith("sy") and p["label"] for row in rows for p in row["places"])
