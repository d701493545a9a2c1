"""Serving under gunicorn: real `gunicorn -c web/gunicorn.conf.py 'web:create_app()'` on 127.0.0.1.

Readiness before and after the first index, load while `kashaf index` publishes
(short variant of benchmarks/load.py), the HTTP contract (limits, error shapes,
security headers, XSS, path traversal), JSON logs and `kashaf serve`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from benchmarks.load import KASHAF, ROOT, free_port, gunicorn, kashaf_index, load_while_reindexing
from indexer.build import build
from web import create_app
from web.state import IndexState, IndexUnavailable

# Written from README ("CSP without inline script", X-Content-Type-Options, Referrer-Policy,
# X-Frame-Options on every response) and docs/serving.md; exact values, so that loosening
# one (say 'unsafe-inline' in script-src) fails.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def assert_security_headers(headers, where: object = "") -> None:
    """Every security header, with exactly its value (header names case-insensitively)."""
    lower = {k.lower(): v for k, v in dict(headers).items()}
    for name, value in SECURITY_HEADERS.items():
        assert lower.get(name.lower()) == value, (name, lower.get(name.lower()), where)
    assert "unsafe-" not in lower["content-security-policy"]


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def raw_get(url: str, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """Send ``path`` byte for byte (no client-side normalization of ``..`` or escapes)."""
    parts = urlsplit(url)
    con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        con.request(method, path, body=body, headers=headers or {})
        resp = con.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        con.close()


def assert_json_error(status: int, headers: dict, body: bytes, code: int) -> dict:
    assert status == code, body[:300]
    assert headers["Content-Type"].startswith("application/json")
    err = json.loads(body)["error"]
    assert set(err) == {"code", "message"} and err["code"] and isinstance(err["message"], str)
    return err


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A served index of the seeds plus documents carrying XSS payloads.

    Served with FLASK_DEBUG=1 and JSON logs: debug must stay off whatever the environment says.
    """
    work = tmp_path_factory.mktemp("site")
    rows = [
        {"id": "xss1", "title": f"غارات على الرقة {XSS}", "text": f"قصفت الطائرات مدينة الرقة {XSS} ليلا."},
        {
            "id": "a/b",
            "title": "معارك في حلب",
            "text": "اندلعت معارك عنيفة في حلب بين قوات النظام والمعارضة.",
        },
    ]
    (work / "x.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    result = kashaf_index(work / "index", ROOT / "seeds", work / "x.jsonl")
    assert result.returncode == 0, result.stderr
    env = {"FLASK_DEBUG": "1", "KASHAF_LOG_FORMAT": "json"}
    with gunicorn(work / "index", workers=2, log_dir=work / "logs", env=env) as server:
        yield server


def test_ready_and_search(site) -> None:
    ready = requests.get(site.url + "/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["documents"] == 7
    hits = requests.get(site.url + "/api/search", params={"q": "الرقه"}, timeout=10).json()["hits"]
    assert "000_02962da82e9d9d32" in [h["id"] for h in hits]


def test_xss_is_inert_in_json(site) -> None:
    resp = requests.get(site.url + "/api/search", params={"q": f"الرقة {XSS}", "op": "or"}, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    hit = next(h for h in resp.json()["hits"] if h["id"] == "xss1")
    # Snippets are HTML fragments: escaped, <mark> is their only markup.
    markup = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
    assert "<" not in markup and ">" not in markup and "&lt;" in markup
    doc = requests.get(site.url + "/api/documents/xss1", timeout=10)
    assert doc.headers["Content-Type"] == "application/json" and XSS in doc.json()["text"]


def test_xss_is_escaped_in_html(site) -> None:
    """The HTML pages, where they exist: the payload never appears unescaped."""
    for path in (f"/search?q={quote(XSS)}", "/documents/xss1", f"/?q={quote(XSS)}"):
        status, headers, body = raw_get(site.url, path)
        assert status < 500
        if status == 200 and headers["Content-Type"].startswith("text/html"):
            # Escaped text may say "onerror=alert"; what must never appear is a live tag.
            assert b"<script>alert" not in body and b"<img src=x" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/documents/../../etc/passwd",
        "/documents/..%2F..%2Fetc%2Fpasswd",
        "/api/documents/../../etc/passwd",
        "/api/documents/..%2F..%2Fetc%2Fpasswd",
        "/api/documents/%2Fetc%2Fpasswd",
        "/api/documents/..%5C..%5Cwindows%5Cwin.ini",
        "/static/../../../../etc/passwd",
        "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_path_traversal_is_404(site, path: str) -> None:
    status, headers, body = raw_get(site.url, path)
    assert status == 404, (path, status, body[:200])
    assert b"root:" not in body
    if path.startswith("/api/"):
        assert_json_error(status, headers, body, 404)


def test_document_ids_with_slashes_still_resolve(site) -> None:
    doc = requests.get(site.url + "/api/documents/" + quote("a/b", safe=""), timeout=10)
    assert doc.status_code == 200 and doc.json()["id"] == "a/b"


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/api/nothing-here", 404),
        ("POST", "/api/search", 405),
        ("DELETE", "/api/documents/xss1", 405),
        ("PUT", "/healthz", 405),
        ("POST", "/readyz", 405),
        ("GET", "/api/search?q=" + "ب" * 1001, 400),
        ("GET", "/api/search?q=x&limit=99999999999999999999999", 400),
        ("GET", "/api/search?q=x&offset=-1", 400),
        ("GET", "/readyz.json.json", 404),
    ],
)
def test_error_shape_and_headers(site, method: str, path: str, code: int) -> None:
    status, headers, body = raw_get(site.url, quote(path, safe="/?=&"), method)
    assert_json_error(status, headers, body, code)
    assert_security_headers(headers, path)
    assert b"Traceback" not in body and b"/work/" not in body


def test_security_headers_on_html_errors(site) -> None:
    status, headers, _body = raw_get(site.url, "/no-such-page", headers={"Accept": "text/html"})
    assert status == 404 and headers["Content-Type"].startswith("text/html")
    assert_security_headers(headers)


def test_security_headers_on_every_kind_of_answer(site) -> None:
    for path in (
        "/",
        "/search?q=الرقة",
        "/search.csv?q=الرقة",
        "/documents/xss1",
        "/api/search?q=الرقة",
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        "/static/kashaf.js",
    ):
        resp = requests.get(site.url + path, timeout=10)
        assert resp.status_code == 200, path
        assert_security_headers(resp.headers, path)


def test_body_limit_is_413_everywhere(site) -> None:
    big = b"{" * ((1 << 20) + 1)
    for path in ("/api/search", "/api/batch", "/api/documents/xss1", "/healthz", "/search"):
        resp = requests.post(
            site.url + path, data=big, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert resp.status_code == 413, path
        assert_security_headers(resp.headers, path)
        if path != "/search":
            assert resp.json()["error"]["code"] == "request_entity_too_large"


def test_overlong_request_line_is_a_client_error(site) -> None:
    """Past gunicorn's request-line limit (8190 bytes) gunicorn itself answers 4xx, never 5xx."""
    status, _headers, _body = raw_get(site.url, "/api/search?q=" + "x" * 9000)
    assert 400 <= status < 500


def test_no_debugger_even_with_flask_debug(site) -> None:
    status, _h, body = raw_get(site.url, "/console")
    assert status == 404 and b"Werkzeug" not in body and b"debugger" not in body.lower()


def test_unexpected_error_has_no_traceback(tmp_path: Path, monkeypatch, capfd) -> None:
    """A bug in a view (a real exception in the real app) becomes a plain 500, the log keeps it."""
    monkeypatch.setenv("KASHAF_LOG_FORMAT", "json")
    app = create_app(tmp_path)

    def boom():
        raise ZeroDivisionError("secret detail")

    app.add_url_rule("/api/boom", view_func=boom)
    app.add_url_rule("/boom", view_func=boom)
    client = app.test_client()
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.json == {
        "error": {"code": "internal_error", "message": "internal error; see the server log"}
    }
    page = client.get("/boom")
    assert page.status_code == 500 and b"secret" not in page.data and b"Traceback" not in page.data
    assert "X-Content-Type-Options" in page.headers
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert len(logged) == 2 and all(r["level"] == "error" and r["type"] == "log" for r in logged)
    assert "ZeroDivisionError: secret detail" in logged[0]["exception"]


def test_json_logs(site) -> None:
    requests.get(site.url + "/api/search", params={"q": 'غارات "\\'}, timeout=10)
    time.sleep(0.3)  # let the workers flush their access log lines
    out = site.out.read_text().splitlines()
    err = site.err.read_text().splitlines()
    assert out and err
    records = [json.loads(line) for line in out + err]  # every line is one JSON object
    access = [r for r in records if r["type"] == "access" and r["path"] == "/api/search"]
    assert access and {"status", "method", "ms", "query", "time"} <= set(access[-1])
    assert any(r["type"] == "log" and "Booting worker" in r["message"] for r in records)


def test_no_index_is_503_until_the_first_build(tmp_path: Path) -> None:
    index = tmp_path / "index"  # does not exist yet
    with gunicorn(index, workers=2, log_dir=tmp_path / "logs") as server:
        before = set(server.workers())
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        for path in ("/readyz", "/api/search?q=الرقة", "/api/documents/x"):
            resp = requests.get(server.url + path, timeout=10)
            assert resp.status_code == 503, path
            assert resp.json()["error"]["code"] == "index_not_ready"
            assert str(tmp_path) not in resp.text  # no server path in answers
            assert_security_headers(resp.headers, path)
        page = requests.get(server.url + "/search?q=x", timeout=10)
        assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
        assert str(tmp_path) not in page.text
        assert kashaf_index(index, ROOT / "seeds").returncode == 0
        for _ in range(4):  # both workers, whichever answers
            ready = requests.get(server.url + "/readyz", timeout=10)
            assert ready.status_code == 200 and ready.json()["documents"] == 5
        assert set(server.workers()) == before  # no restart


def test_load_while_reindexing_short(tmp_path: Path) -> None:
    report = load_while_reindexing(tmp_path, clients=3, seconds=2, docs=40, workers=2)
    assert [b["exit"] for b in report["builds"]] == [0, 0], report["builds"]
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] > 20
    assert set(report["readyz_documents_seen"]) <= set(report["expected_documents"])
    assert report["readyz_final"] == report["expected_documents"][-1:] == [40 + 10 + 5]


def test_old_generation_stays_readable_after_garbage_collection(tmp_path: Path) -> None:
    """A snapshot in use keeps working after the writer deleted its generation (two publishes later)."""
    index = tmp_path / "index"
    build([ROOT / "seeds"], index)
    state = IndexState(index)
    old = state.snapshot()
    assert old.generation == 1
    for n in range(2):
        extra = tmp_path / f"e{n}.jsonl"
        extra.write_text(json.dumps({"id": f"e{n}", "text": "قصف على حلب"}, ensure_ascii=False) + "\n")
        build([extra], index)
    assert not (index / "generations" / "1").exists()  # collected
    from indexer.search import search

    assert search(old, "الرقة")["total"] > 0  # the held snapshot still reads its (unlinked) files
    assert state.snapshot().generation == 3 and state.document_count() == 7
    # Dropped snapshots do not keep deleted generations open (state.py collects on each swap).
    del old
    for n in range(2, 5):
        extra = tmp_path / f"e{n}.jsonl"
        extra.write_text(json.dumps({"id": f"e{n}", "text": "قصف على حلب"}, ensure_ascii=False) + "\n")
        build([extra], index)
        state.snapshot()
    assert [f for f in open_files() if f.startswith(str(index)) and f.endswith("(deleted)")] == []


def open_files() -> list[str]:
    """What this process's file descriptors point at."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:
            pass  # the descriptor listdir itself used
    return out


def test_unopenable_generation_keeps_the_previous_one(tmp_path: Path) -> None:
    index = tmp_path / "index"
    build([ROOT / "seeds"], index)
    state = IndexState(index)
    assert state.snapshot().generation == 1
    # A published generation that cannot be opened (damaged disk, hand edits): keep serving 1.
    shutil.copytree(index / "generations" / "1", index / "generations" / "2")
    (index / "generations" / "2" / "docs.sqlite").write_bytes(b"not a database")
    (index / "CURRENT").write_text("2\n")
    assert state.snapshot().generation == 1
    with pytest.raises(IndexUnavailable):
        IndexState(index).snapshot()  # a fresh worker has nothing to fall back on: 503
    client = create_app(index).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and str(tmp_path) not in ready.text
    assert client.get("/api/search?q=x").status_code == 503


def test_kashaf_serve_binds_loopback_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    index = tmp_path / "index"
    build([ROOT / "seeds"], index)
    port = free_port()
    out = tmp_path / "serve.log"
    with open(out, "wb") as log:
        proc = subprocess.Popen(
            [*KASHAF, "serve", "--index", str(index), "--port", str(port), "--workers", "1"],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "KASHAF_INDEX": "", "FLASK_DEBUG": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
                break
            # Not up yet, or up but still warming (a loaded machine): ask again until the
            # deadline. This test is about binding and Ctrl-C, not about latency.
            except (requests.ConnectionError, requests.Timeout):
                assert proc.poll() is None, out.read_text()
                time.sleep(0.1)
        assert ready.status_code == 200 and ready.json()["documents"] == 5
        assert requests.get(f"http://127.0.0.1:{port}/console", timeout=5).status_code == 404
        assert f"Listening at: http://127.0.0.1:{port}" in out.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0, out.read_text()


def readme_error_codes() -> list[str]:
    """The codes README's "JSON API" section promises: "... with codes `a` (...), `b`, ..."."""
    readme = (ROOT / "README.md").read_text("utf-8")
    sentence = re.search(r"Errors are 4xx .*? with codes (.*?)\.\n", readme, re.S)
    assert sentence, "README lost its list of error codes"
    return re.findall(r"`([a-z_]+)`", sentence.group(1))


# One request per code, written from README / docs/serving.md, sent to real gunicorn.
ERROR_REQUESTS = {
    "unknown_parameter": ("GET", "/api/search?q=x&page=2", None, 400),
    "invalid_parameter": ("GET", "/api/search?q=x&limit=101", None, 400),
    "query_too_long": ("GET", "/api/search?q=" + quote("ب" * 1001), None, 400),
    "invalid_query": ("GET", "/api/search?q=" + quote("date:2017-13"), None, 400),
    "invalid_body": ("POST", "/api/batch", b"[1, 2]", 400),
    "batch_too_large": ("POST", "/api/batch", json.dumps({"queries": [{"q": "x"}] * 101}).encode(), 400),
    "not_found": ("GET", "/api/documents/no-such-document", None, 404),
    "method_not_allowed": ("POST", "/api/search", None, 405),
}


def test_readme_error_codes_are_each_produced(site) -> None:
    codes = readme_error_codes()
    assert len(codes) >= 7 and set(codes) <= set(ERROR_REQUESTS), "a README code without a request here"
    for code, (method, path, body, status) in ERROR_REQUESTS.items():
        headers = {"Content-Type": "application/json"} if body is not None else {}
        got = assert_json_error(*raw_get(site.url, path, method, body, headers), status)
        assert got["code"] == code, (path, got)


def test_gunicorn_settings_defaults_are_readmes(monkeypatch) -> None:
    # README "Production serving": KASHAF_BIND 127.0.0.1:8000, KASHAF_WORKERS cores + 1 (at
    # most 8, and at most what half the memory holds at 300 MB each), KASHAF_TIMEOUT 30 s;
    # and each variable is honoured.
    import runpy

    from web.sizing import machine_memory

    for name in ("KASHAF_BIND", "KASHAF_WORKERS", "KASHAF_TIMEOUT", "KASHAF_WORKER_MB"):
        monkeypatch.delenv(name, raising=False)
    conf = runpy.run_path(str(ROOT / "web" / "gunicorn.conf.py"))
    assert conf["bind"] == ["127.0.0.1:8000"]
    cores = len(os.sched_getaffinity(0))
    assert conf["workers"] == max(1, min(cores + 1, 8, (machine_memory() >> 20) // 2 // 300))
    assert conf["timeout"] == 30
    monkeypatch.setenv("KASHAF_BIND", "127.0.0.1:9001")
    monkeypatch.setenv("KASHAF_WORKERS", "3")
    monkeypatch.setenv("KASHAF_TIMEOUT", "12")
    conf = runpy.run_path(str(ROOT / "web" / "gunicorn.conf.py"))
    assert (conf["bind"], conf["workers"], conf["timeout"]) == (["127.0.0.1:9001"], 3, 12)


_ARENAS = """
import ctypes, sys, tempfile, threading
from web.sizing import one_malloc_arena
if sys.argv[1] == "one":
    assert one_malloc_arena()
def work():
    for _ in range(300):
        kept = [bytearray(1000) for _ in range(50)]  # over pymalloc's 512 bytes: glibc's malloc
    del kept
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
f = ctypes.c_void_p(libc.fopen(path.encode(), b"w"))
libc.malloc_info(0, f)
libc.fclose(f)
print(open(path).read().count("<heap nr="))
"""


def test_a_worker_keeps_one_malloc_arena_for_all_its_threads() -> None:
    # A worker's threads serve one search at a time (web/worker.py); with an arena per thread,
    # each kept what its searches freed. gunicorn's post_worker_init makes it one arena
    # (web/sizing.one_malloc_arena): threads allocating after it share the main heap.
    def heaps(mode: str) -> int:
        cmd = [sys.executable, "-c", _ARENAS, mode]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    assert heaps("many") > 1  # glibc's default: the threads got arenas of their own
    assert heaps("one") == 1
    conf = (ROOT / "web" / "gunicorn.conf.py").read_text("utf-8")
    hook = conf[conf.index("def post_worker_init") :]
    assert "one_malloc_arena()" in hook.split("\n\n\n")[0]


_TRIM = """
import ctypes, sys
from web.sizing import release_free_memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
# As in a master after its warm-up searches: big chunks freed into the heap and kept there
# (the dynamic mmap threshold had risen; here it is set, and nothing is trimmed on free).
libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD
libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
def anon():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon"):
            return int(line.split()[1]) // 1024
chunks = [libc.malloc(8 << 20) for _ in range(20)]
for c in chunks:
    libc.memset(ctypes.c_void_p(c), 1, 8 << 20)
for c in chunks:
    libc.free(ctypes.c_void_p(c))
before = anon()
if sys.argv[1] == "trim":
    assert release_free_memory()
print(before - anon())
"""


def test_the_master_gives_freed_memory_back_before_forking() -> None:
    # A worker forked from a master whose heap holds freed chunks reuses them, and clearing
    # them copies each page from the master (a fresh worker's first search at 1M: 274 instead
    # of 73 CPU ms). web/sizing.release_free_memory returns them to the kernel, and the
    # master calls it after warming (web/gunicorn.conf.py, _warm: before every fork).
    def released(mode: str) -> int:
        cmd = [sys.executable, "-c", _TRIM, mode]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        return int(out.stdout.strip())

    assert released("keep") < 10  # freed, yet resident: what a fork would share
    assert released("trim") >= 150  # the 160 MB freed, back to the kernel
    conf = (ROOT / "web" / "gunicorn.conf.py").read_text("utf-8")
    warm = conf[conf.index("def _warm") :]
    assert "release_free_memory()" in warm.split("\n\n\n")[0]
