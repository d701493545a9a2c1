"""Hostile HTTP against real gunicorn: random and malicious paths, parameters, headers and bodies.

Every endpoint, every method. Invariants: no 5xx, no stack trace or server path in
any response, the security headers everywhere, the JSON error shape on JSON paths,
and a 404 for a path only where no route exists (reported once per run).
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import MethodNotAllowed, NotFound

from benchmarks.load import ROOT, gunicorn, kashaf_index
from tests.test_serving import assert_security_headers
from web import MAX_BODY_BYTES, create_app

# Fixed and reproducible in CI: same examples every run, no example database, no deadline
# (requests go through a real server).
FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ENDPOINTS = [
    "/",
    "/search",
    "/search.json",
    "/search.csv",
    "/documents/{id}",
    "/api/search",
    "/api/documents/{id}",
    "/api/batch",
    "/api/openapi.json",
    "/healthz",
    "/readyz",
    "/static/{id}",
]
METHODS = ["GET", "GET", "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]
PARAMS = ["q", "op", "limit", "offset", "sort", "lang", "place", "group", "from", "to", "page", "format"]
HOSTILE = [
    "' OR 1=1 --",
    '"; DROP TABLE docs; --',
    "*:*",
    "title:(",
    "NOT AND OR",
    "\x00",
    "\r\nSet-Cookie: x=1",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "{{7*7}}",
    "${jndi:ldap://127.0.0.1/x}",
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "\ud800",  # lone surrogate: sent as %ED%A0%80
    "\udfff\ud800",
    "\u202e\u200f\ufeff",
    "ـــــ" * 50,
    "-1",
    "-9223372036854775809",
    "9" * 400,
    "1e309",
    "NaN",
    "0x10",
    "١٠",  # Arabic-Indic digits
    "",
]
BODIES = [
    b"",
    b"{",
    b'{"queries": [',
    b'{"queries": "x"}',
    b'{"queries": [' + b'{"q": "x"},' * 5000 + b'{"q": "y"}]}',
    b"[" * 10000 + b"]" * 10000,
    b'{"q": "\\ud800"}',
    b"\xff\xfe\x00garbage",
    json.dumps({"queries": [{"q": "الرقة", "limit": 10**30}]}).encode(),
]
TRACE_MARKERS = (b"Traceback", b'File "', b"/work/", b"site-packages", b'.py"', b"werkzeug.debug")


def encode(text: str) -> str:
    """Percent-encode any string, lone surrogates included (as their CESU/WTF-8 bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


texts = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60), st.text(st.characters(), max_size=8))
numbers = st.integers(min_value=-(10**25), max_value=10**25).map(str)
values = st.one_of(texts, numbers)


@st.composite
def requests_(draw):
    template = draw(st.sampled_from(ENDPOINTS))
    doc_id = encode(draw(texts)) or "x"
    if draw(st.booleans()):
        doc_id = draw(st.sampled_from(["..%2F..%2Fetc%2Fpasswd", "../../etc/passwd", "%ED%A0%80", "a%00b"]))
    path = template.replace("{id}", doc_id)
    params = draw(st.lists(st.tuples(st.sampled_from([*PARAMS, "x"]), values), max_size=5))
    query = "&".join(f"{encode(k)}={encode(v)}" for k, v in params)
    method = draw(st.sampled_from(METHODS))
    body = None
    if method in ("POST", "PUT", "PATCH"):
        body = draw(st.one_of(st.sampled_from(BODIES), st.binary(max_size=200)))
        if draw(st.integers(0, 20)) == 0:
            body = b"x" * (MAX_BODY_BYTES + 1)
    headers = {
        "Accept": draw(st.sampled_from(["*/*", "application/json", "text/html", "text/csv", "x/;q=", ""])),
        "Content-Type": draw(st.sampled_from(["application/json", "text/plain", "multipart/form-data"])),
    }
    return template, method, path + ("?" + query if query else ""), body, headers


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    assert kashaf_index(work / "index", ROOT / "seeds").returncode == 0
    with gunicorn(work / "index", workers=2, log_dir=work / "logs") as srv:
        yield srv


def route_exists(path: str) -> bool:
    """Whether the app has any route for this path (whatever the method)."""
    adapter = ROUTES.bind("127.0.0.1")
    try:
        adapter.match(path, method="GET")
    except MethodNotAllowed:
        return True
    except NotFound:
        return False
    except Exception:  # a redirect and the like: routed
        return True
    return True


ROUTES = create_app(Path("/nonexistent")).url_map
STATS = {"cases": 0, "by_status": {}, "missing_routes": set(), "per_test": {}}


def count(test: str) -> None:
    STATS["cases"] += 1
    STATS["per_test"][test] = STATS["per_test"].get(test, 0) + 1


def send(url: str, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        try:
            con.request(method, path, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # The server answered (413) and closed before the whole oversized body was sent;
            # its answer is still in our receive buffer.
            assert body is not None and len(body) > MAX_BODY_BYTES
        resp = con.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        con.close()


@FUZZ
@given(req=requests_())
def test_hostile_requests(server, req) -> None:
    template, method, path, body, headers = req
    status, resp_headers, payload = send(server.url, method, path, body, headers)
    count("hostile_requests")
    STATS["by_status"][status] = STATS["by_status"].get(status, 0) + 1
    assert status < 500, (method, path, status, payload[:300])
    for marker in TRACE_MARKERS:
        assert marker not in payload, (method, path, marker)
    assert_security_headers(resp_headers, (method, path, status))
    bare = path.split("?", maxsplit=1)[0]
    if not route_exists(bare):
        STATS["missing_routes"].add(template)
        assert status in (404, 413), (method, path, status)
    if status >= 400 and bare.startswith("/api/") and method != "HEAD":
        assert resp_headers["content-type"].startswith("application/json"), (method, path, status)
        assert set(json.loads(payload)["error"]) == {"code", "message"}


ARABIC = st.text(st.characters(min_codepoint=0x0600, max_codepoint=0x06FF), max_size=30)


@FUZZ
@given(
    path=st.sampled_from(["/api/search", "/search", "/search.json", "/search.csv", "/"]),
    q=st.one_of(ARABIC, texts, st.lists(st.one_of(ARABIC, texts), max_size=6).map(" ".join)),
    op=st.sampled_from(["and", "or"]),
    offset=st.sampled_from(["0", "10", "99990"]),
)
def test_hostile_queries_reach_the_search_core(server, path: str, q: str, op: str, offset: str) -> None:
    """Only valid parameter names, so the query text itself goes through analysis and search."""
    query = f"q={encode(q)}&op={op}&limit=5&offset={offset}"
    status, headers, payload = send(server.url, "GET", f"{path}?{query}", None, {})
    count("hostile_queries")
    STATS["by_status"][status] = STATS["by_status"].get(status, 0) + 1
    assert status in (200, 400), (path, q, status, payload[:300])
    for marker in TRACE_MARKERS:
        assert marker not in payload
    if path == "/api/search" and status == 200:
        assert headers["content-type"] == "application/json"
        # Valid UTF-8 comes back as sent; werkzeug leaves invalid escapes (%ED%A0%80) as text.
        echoed = json.loads(payload)["query"]
        assert echoed == q or "%" in echoed


def test_fuzz_report() -> None:
    """What the fuzzing tried (printed with pytest -s), and that it tried what it claims.

    README promises "800 hostile requests per run against every endpoint": each fuzz test sent
    its examples, the answers include real results and refusals (not one status for all), and
    only paths with an id part (a template with ``{id}``) may lack a route.
    """
    if STATS["cases"] == 0:
        pytest.skip("run together with test_hostile_requests and test_hostile_queries")
    missing = sorted(STATS["missing_routes"])
    print(f"\nfuzz: {STATS['cases']} requests, statuses {sorted(STATS['by_status'].items())}")
    print(f"fuzz: paths without a route (404 accepted): {missing}")
    for test, n in STATS["per_test"].items():
        assert n >= FUZZ.max_examples, (test, n)
    assert sum(STATS["per_test"].values()) >= 2 * FUZZ.max_examples == 800
    statuses = STATS["by_status"]
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0 and statuses.get(404, 0) > 0, statuses
    assert all(s < 500 for s in statuses), statuses
    assert all("{id}" in t for t in missing), missing
