"""Hostile and unlucky requests against real gunicorn (issue 13): every request's work is
bounded, answered with a 4xx or a degraded answer, never a 5xx or a killed worker.

The index holds 3,000 real ANT articles (a real vocabulary, so did-you-mean has work to do)
plus documents written for the test: 3,000 reports with long titles (a 12 MB export) and
one dated in a non-UTC zone. Served with a 10 s worker timeout and a 4 s client timeout so
that a stalled worker or a stuck connection shows within the test.
"""

from __future__ import annotations

import concurrent.futures
import csv
import gzip
import http.client
import io
import itertools
import json
import random
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from benchmarks.load import ROOT, gunicorn, kashaf_index
from tests.conftest import shared_file

SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy")
WORKER_TIMEOUT = 10
CLIENT_TIMEOUT = 4
LONG_TITLES = 3000
ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    src = work / "in"
    src.mkdir()
    with gzip.open(shared_file("corpus/ant_multisource_v2.1.jsonl.gz"), "rt", encoding="utf-8") as f:
        ant = list(itertools.islice(f, 3000))
    (src / "ant.jsonl").write_text("".join(ant), "utf-8")
    title = "تقرير مطول " * 180  # about 2,000 characters
    rows = [
        {"id": f"long{i}", "title": f"{title} رقم {i}", "text": f"ملفصدير عن الحرب رقم {i}"}
        for i in range(LONG_TITLES)
    ]
    rows.append(
        {
            "id": "gulf",
            "title": "غارة ليلية",
            "text": "قصفت طائرات مدينة الرقة ليلا",
            "date": "2018-02-18T00:56:43+04:00",
        }
    )
    (src / "made.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    run = kashaf_index(work / "index", src)
    assert run.returncode == 0, run.stderr[-2000:]
    env = {"KASHAF_TIMEOUT": str(WORKER_TIMEOUT), "KASHAF_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT)}
    with gunicorn(work / "index", workers=2, log_dir=work / "logs", env=env) as srv:
        yield srv


def raw(url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    parts = urlsplit(url)
    con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        con.request(method, path, body=body, headers=headers or {})
        resp = con.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        con.close()


def json_error(status: int, headers: dict, body: bytes) -> dict:
    assert headers["content-type"].startswith("application/json"), (status, body[:200])
    for h in SECURITY:
        assert h in headers, (status, h)
    err = json.loads(body)["error"]
    assert set(err) == {"code", "message"}
    return err


def test_deep_nesting_and_bad_parameters_are_4xx(served) -> None:
    url = served.url
    nested = quote("(" * 332 + "x")
    for path in (f"/api/search?q={nested}", f"/search.json?q={nested}"):
        status, headers, body = raw(url, "GET", path)
        assert status == 400, body[:300]
        assert "nests 332 levels deep" in json_error(status, headers, body)["message"]
    status, _h, body = raw(url, "GET", f"/search?q={nested}")
    assert status == 400 and "332" in body.decode()
    status, headers, body = raw(url, "GET", f"/search?q={nested}", headers={"Accept": "application/json"})
    assert status == 400 and json_error(status, headers, body)["code"] == "invalid_query"

    batch = {"queries": [{"id": "deep", "q": "(" * 332 + "x"}, {"id": "ok", "q": "الرقة"}], "limit": 37.0}
    status, headers, body = raw(
        url, "POST", "/api/batch", json.dumps(batch).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200, body[:300]
    results = {r["id"]: r for r in json.loads(body)["results"]}
    assert "nests" in results["deep"]["error"]["message"] and results["ok"]["hits"]
    status, headers, body = raw(
        url, "POST", "/api/batch", b"[" * 100_000, {"Content-Type": "application/json"}
    )
    assert status == 400 and json_error(status, headers, body)["code"] == "invalid_body"

    for path in ("/documents/gulf.json?q=x", "/documents/gulf.json?lang=en", "/documents/nope.json?x=1"):
        status, headers, body = raw(url, "GET", path)
        assert status == 400, (path, status)
        assert json_error(status, headers, body)["code"] == "unknown_parameter"
    for bad in ("٥", "+5", "%205", "5_0"):
        status, headers, body = raw(url, "GET", f"/api/search?q=x&limit={quote(bad, safe='%')}")
        assert status == 400, (bad, body[:200])
        assert json_error(status, headers, body)["code"] == "invalid_parameter"

    status, headers, body = raw(url, "POST", "/api/search")
    assert status == 405 and headers["allow"] and "GET" in headers["allow"]
    json_error(status, headers, body)
    status, headers, body = raw(url, "GET", "/search?limit=abc", headers={"Accept": "application/json"})
    assert status == 400 and json_error(status, headers, body)["code"] == "invalid_parameter"


def test_gunicorn_errors_keep_the_json_shape_and_headers(served) -> None:
    """Answered by gunicorn itself (the app never sees them)."""
    parts = urlsplit(served.url)
    for request, status in (
        (b"GET /api/search?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 150 + b"\r\n", 431),
        (b"G\x00T / HTTP/1.1\r\n\r\n", 400),
    ):
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
            s.sendall(request)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0].startswith(f"HTTP/1.1 {status} "), lines[0]
        headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        json_error(status, headers, body)


def test_dates_in_json_and_csv_keep_the_zone(served) -> None:
    params = {"q": "الرقة", "from": "2018-02-18", "to": "2018-02-18"}
    r = requests.get(served.url + "/api/search", params=params, timeout=30).json()
    assert [(h["id"], h["date"]) for h in r["hits"]] == [("gulf", "2018-02-18T00:56:43+04:00")]
    assert {"month": "2018-02", "count": 1} in r["facets"]["date"]
    text = requests.get(served.url + "/search.csv", params=params, timeout=30).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["id"], row["date"]) for row in rows] == [("gulf", "2018-02-18T00:56:43+04:00")]


def test_silent_and_half_sent_connections_do_not_stall_the_service(served) -> None:
    """Five half-open connections used to stall /healthz for 30 s and get every worker killed.

    Sixteen half-sent requests, so that one of the two workers gets eight or more: each is
    given up after the client timeout and closed gracefully, which waits up to 2 s for the
    client's FIN (these clients keep their sockets open). On gthread's main thread those
    waits ran back to back without a heartbeat, 16 s for eight, and the worker was killed
    (seen flaky with six, when one worker happened to take all six).
    """
    parts = urlsplit(served.url)
    before = sorted(served.workers())
    silent = [socket.create_connection((parts.hostname, parts.port)) for _ in range(12)]
    half = []
    for _ in range(16):
        s = socket.create_connection((parts.hostname, parts.port))
        s.sendall(b"GET /api/search?q=%D8%A7 HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        half.append(s)
    try:
        time.sleep(1)
        for path in ("/healthz", "/readyz", "/api/search?q=الرقة&limit=1") * 3:
            assert requests.get(served.url + path, timeout=5).status_code == 200, path
        # The half-sent requests are given up after the client timeout, their threads freed.
        for s in half:
            s.settimeout(CLIENT_TIMEOUT + 10)
            assert s.recv(100) == b""  # closed by the server
    finally:
        for s in silent + half:
            s.close()
    assert sorted(served.workers()) == before, "a worker was killed"
    assert "WORKER TIMEOUT" not in served.logs()


def test_export_streams_past_the_worker_timeout(served) -> None:
    """A 12 MB CSV read slowly through a small receive window takes more than two worker
    timeouts; it arrives whole (a sync worker was killed at the timeout and the export cut
    after its 200 header)."""
    before = sorted(served.workers())
    parts = urlsplit(served.url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # no kernel buffer soaking it up
    sock.settimeout(60)
    sock.connect((parts.hostname, parts.port))
    t0 = time.monotonic()
    sock.sendall(
        f"GET /search.csv?q={quote('ملفصدير')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    data = bytearray()
    with sock:
        while chunk := sock.recv(16384):
            data += chunk
            time.sleep(0.05)  # about 320 KB/s
    elapsed = time.monotonic() - t0
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    assert b"chunked" in head.lower()
    text = b"".join(_dechunk(body)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == LONG_TITLES, f"{len(rows)} rows after {elapsed:.1f} s"
    assert elapsed > 2 * WORKER_TIMEOUT, f"export took only {elapsed:.1f} s: the test proves nothing"
    assert sorted(served.workers()) == before
    assert "WORKER TIMEOUT" not in served.logs()


def _dechunk(body: bytes):
    """The pieces of an HTTP/1.1 chunked body (raises if it was cut off)."""
    pos = 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            return
        yield body[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2


def random_query(rng: random.Random, words: int = 66, letters: int = 14) -> str:
    return " ".join("".join(rng.choice(ARABIC_LETTERS) for _ in range(letters)) for _ in range(words))


def test_concurrent_random_long_queries_are_all_answered(served) -> None:
    """The probe's case: 66 random 14-letter words, six at a time, with ordinary searches between.

    Each one used to cost 11-17 s of did-you-mean; now each is answered (no 5xx), no
    worker is killed, and the ordinary searches are answered meanwhile.
    """
    rng = random.Random(13)
    queries = [random_query(rng) for _ in range(18)]
    queries += [random_query(rng, words=rng.randint(1, 6), letters=rng.randint(3, 14)) for _ in range(18)]
    queries += ["(" * 19 + random_query(rng, 5), "NOT " * 30 + "x", '"' + random_query(rng, 40) + '"']
    before = sorted(served.workers())

    def get(q: str) -> tuple[int, float]:
        t = time.monotonic()
        resp = requests.get(served.url + "/api/search", params={"q": q, "limit": 5}, timeout=30)
        return resp.status_code, time.monotonic() - t

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(get, queries))
        ordinary = [get("قوات النظام") for _ in range(3)]
    statuses = [s for s, _ in answers]
    assert all(s in (200, 400) for s in statuses), statuses
    assert statuses.count(200) >= len(queries) - 3
    slowest = max(t for _, t in answers + ordinary)
    assert slowest < 2 * WORKER_TIMEOUT, f"a request took {slowest:.1f} s"
    assert sorted(served.workers()) == before, "a worker was killed"
    assert "WORKER TIMEOUT" not in served.logs()


def test_openapi_contract_with_schemathesis(served) -> None:
    """schemathesis against /api/openapi.json, bounded (fixed seed, 25 examples per operation,
    150 s at most).

    Two checks are left out, each for a reason outside the API: positive_data_acceptance,
    since place/group values must name a known entity (the gazetteer), which a schema
    cannot list (such a request is a documented 400); negative_data_rejection, since
    schemathesis serializes the objects it generates for array or ``anyOf`` query
    parameters into valid query strings (``source=R&source=…``, ``limit=``) and then
    counts their acceptance as a failure. The concrete negative cases (``limit=٥``,
    ``+5``, ``5_0``, deep nesting, unknown parameters) are tested above and in test_api.
    Everything else runs: no 5xx, documented status codes, content types, response
    schemas and headers.
    """
    st = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [
            str(st),
            "run",
            served.url + "/api/openapi.json",
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "25",
            "--seed",
            "13",
            "--generation-database",
            "none",
            "--exclude-checks",
            "positive_data_acceptance,negative_data_rejection",
            "--max-time",
            "150",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    # One known warning is tolerated, and only for this operation: schemathesis finds that
    # most of its generated requests to /similar are refused. They name documents that do
    # not exist (404), which a schema cannot rule out. Any other warning still fails.
    warned = re.findall(r"^\s+- (GET|POST) (\S+)$", run.stdout, re.M)
    assert "No issues found" in run.stdout or (
        "Schema validation mismatch" in run.stdout and warned == [("GET", "/api/documents/{id}/similar")]
    ), run.stdout[-4000:]
