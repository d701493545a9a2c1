"""Load while reindexing: real gunicorn on 127.0.0.1, N client threads, two `kashaf index` updates.

    .venv/bin/python -m benchmarks.load --clients 8 --seconds 30 --docs 2000

Builds an index of ``--docs`` generated Arabic reports in a temporary directory,
serves it with ``gunicorn -c web/gunicorn.conf.py 'web:create_app()'`` on a free
loopback port, and runs ``--clients`` threads of mixed requests (searches with
op=and/or and paging, /api/documents/<id>, /readyz) for ``--seconds``. Meanwhile
``kashaf index`` publishes two updates: a new JSONL file, then an edit of it (some
documents changed, some added). Reports requests/s, p50/p95 latency, errors (must
be 0) and the document counts /readyz showed, which must reach the final state
without a restart. Traffic goes only to 127.0.0.1; every run stops by itself.

The helpers (:func:`gunicorn`, :func:`run_clients`, :func:`write_corpus`, ...) are
shared with tests/test_serving.py, tests/test_faults.py and tests/test_fuzz_http.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GUNICORN = [str(BIN / "gunicorn")] if (BIN / "gunicorn").exists() else [sys.executable, "-m", "gunicorn"]
KASHAF = [str(BIN / "kashaf")] if (BIN / "kashaf").exists() else [sys.executable, "-m", "indexer.cli"]
HOST = "127.0.0.1"  # the only address any of this ever talks to

SEED_LINES = [
    ln.strip()
    for f in sorted((ROOT / "seeds").glob("*.txt"))
    for ln in f.read_text("utf-8").splitlines()
    if len(ln.strip()) > 60
]
QUERIES = [
    "الرقة",
    "انسحاب",
    "قوات النظام",
    "داعش",
    "غارات",
    "المعارضة المسلحة",
    "مطار",
    "حلب",
    "الدولة الإسلامية",
]


# --- corpus and index ---------------------------------------------------------------------------


def write_corpus(path: Path, n: int, prefix: str = "d", edit: int = 0) -> list[str]:
    """A JSONL file of ``n`` Arabic reports made of seed sentences; returns their ids.

    ``edit`` > 0 changes the text of every ``edit``-th document (an update, not an addition).
    """
    ids, rows = [], []
    lines = SEED_LINES
    for i in range(n):
        body = " ".join(lines[(i * k + k) % len(lines)] for k in range(1, 6))
        if edit and i % edit == 0:
            body += f" تحديث رقم {i}: تجددت الاشتباكات قرب المطار العسكري."
        doc_id = f"{prefix}{i}"
        ids.append(doc_id)
        rows.append({"id": doc_id, "title": lines[i % len(lines)][:80], "text": body, "date": "2016-05-01"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return ids


def kashaf_index(index_dir: Path, *paths: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``kashaf index PATHS --index DIR`` to the end (waiting for the write lock if needed)."""
    return subprocess.run(
        [*KASHAF, "index", *map(str, paths), "--index", str(index_dir), "--wait", "60"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env={**os.environ, "KASHAF_INDEX": ""},
    )


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running gunicorn master and where its output goes."""

    proc: subprocess.Popen
    url: str
    out: Path
    err: Path

    def workers(self) -> list[int]:
        """Pids of the master's live worker processes."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(p) for p in text.split()]

    def logs(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn(
    index_dir: Path, workers: int = 2, log_dir: Path | None = None, env: dict | None = None
) -> Iterator[Server]:
    """``gunicorn -c web/gunicorn.conf.py 'web:create_app()'`` on a free loopback port.

    Waits for /healthz; on exit sends SIGTERM (graceful) and, if needed, SIGKILL.
    """
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="kashaf-gunicorn-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        port = free_port()
        out, err = log_dir / f"gunicorn-{port}.out", log_dir / f"gunicorn-{port}.err"
        full_env = {
            **os.environ,
            "KASHAF_INDEX": str(index_dir),
            "KASHAF_BIND": f"{HOST}:{port}",
            "KASHAF_WORKERS": str(workers),
            **(env or {}),
        }
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(
                [*GUNICORN, "-c", "web/gunicorn.conf.py", "web:create_app()"],
                cwd=ROOT,
                env=full_env,
                stdout=o,
                stderr=e,
            )
        server = Server(proc, f"http://{HOST}:{port}", out, err)
        if _wait_healthy(server, workers):
            break
        _stop(proc)
        if attempt == 2:
            raise RuntimeError(f"gunicorn did not start:\n{server.logs()[-3000:]}")
    try:
        yield server
    finally:
        _stop(server.proc)


def _wait_healthy(server: Server, workers: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return False  # e.g. the port was taken between free_port() and bind
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200 and (
                len(server.workers()) >= workers
            ):
                return True
        time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- the clients --------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, merged over threads."""

    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> seconds
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    ready: list[tuple[float, int, int]] = field(default_factory=list)  # (t, generation, documents)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def _one_request(rng: random.Random, known_ids: list[str]) -> tuple[str, str]:
    """(kind, path) of one mixed request."""
    r = rng.random()
    q = quote(rng.choice(QUERIES))
    if r < 0.55:
        op = rng.choice(["and", "or"])
        return "search", f"/api/search?q={q}&op={op}&limit={rng.choice([5, 10, 20])}"
    if r < 0.75:
        return "page", f"/api/search?q={q}&op=or&limit=10&offset={rng.choice([10, 20, 50, 100])}"
    if r < 0.92:
        return "document", f"/api/documents/{quote(rng.choice(known_ids), safe='')}"
    return "readyz", "/readyz"


def _check(kind: str, resp: requests.Response, last_gen: int) -> tuple[str | None, int]:
    """An error message when the answer is not a complete, consistent one; the generation seen."""
    if resp.status_code != 200:
        return f"{kind}: HTTP {resp.status_code}: {resp.text[:200]}", last_gen
    if not resp.headers.get("Content-Type", "").startswith("application/json"):
        return f"{kind}: not JSON: {resp.headers.get('Content-Type')}", last_gen
    body = resp.json()
    if kind in ("search", "page"):
        # A hit whose stored document is missing would mean a partial state.
        if any(not h["title"] for h in body["hits"]):
            return f"{kind}: hit without its stored document", last_gen
    elif kind == "readyz":
        if body["generation"] < last_gen:
            return f"readyz went back from generation {last_gen} to {body['generation']}", last_gen
        return None, body["generation"]
    return None, last_gen


def run_clients(
    url: str, clients: int, stop: threading.Event, known_ids: list[str], *, retries: int = 0, seed: int = 7
) -> Tally:
    """``clients`` threads of mixed requests until ``stop`` is set; joins them and returns the tally.

    ``retries``: how often a request that failed with a connection error (its worker
    was killed) is sent again before it counts as an error.
    """
    tally = Tally()
    t0 = time.monotonic()

    def client(n: int) -> None:
        # A client that dies of an unexpected exception must show in the tally (not only as
        # a thread warning), or the run would pass with fewer clients than it claims.
        try:
            _client(n)
        except Exception as exc:  # recorded: the run then fails on it
            with tally.lock:
                tally.errors.append(f"client {n} died: {type(exc).__name__}: {exc}"[:300])

    def _client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        last_gen = 0
        with requests.Session() as s:
            while not stop.is_set():
                kind, path = _one_request(rng, known_ids)
                for attempt in range(retries + 1):
                    start = time.monotonic()
                    try:
                        resp = s.get(url + path, timeout=30)
                    # A worker killed mid-response cuts its body short (ChunkedEncodingError):
                    # the same lost connection as one killed before answering, not a dead client.
                    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                        if attempt < retries:
                            with tally.lock:
                                tally.retries += 1
                            continue
                        with tally.lock:
                            tally.errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
                        break
                    took = time.monotonic() - start
                    problem, last_gen = _check(kind, resp, last_gen)
                    with tally.lock:
                        tally.latencies.setdefault(kind, []).append(took)
                        if problem:
                            tally.errors.append(problem)
                        if kind == "readyz" and not problem:
                            body = resp.json()
                            tally.ready.append((time.monotonic() - t0, body["generation"], body["documents"]))
                    break

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join(timeout=60)
    return tally


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --- the scenario -------------------------------------------------------------------------------


def load_while_reindexing(
    work: Path, clients: int, seconds: float, docs: int, workers: int = 2, *, reindex: bool = True
) -> dict:
    """The whole scenario in ``work``; returns the report (see the module docstring).

    ``reindex=False`` is the baseline: the same load on a static index.
    """
    index = work / "index"
    base_ids = write_corpus(work / "base.jsonl", docs, "d")
    first = kashaf_index(index, work / "base.jsonl")
    if first.returncode != 0:
        raise RuntimeError(f"initial kashaf index failed:\n{first.stderr[-2000:]}")
    extra, added_later = max(docs // 4, 10), max(docs // 20, 5)
    expected = [docs, docs + extra, docs + extra + added_later] if reindex else [docs]
    builds: list[dict] = []

    with gunicorn(index, workers=workers, log_dir=work / "logs") as server:
        stop = threading.Event()
        result: dict = {}
        runner = threading.Thread(
            target=lambda: result.update(
                tally=run_clients(server.url, clients, stop, base_ids[: min(docs, 500)])
            )
        )
        t0 = time.monotonic()
        runner.start()
        # Update 1: a new file; update 2: the same file edited (updates + additions).
        updates = ((0.2, extra, 0), (0.55, extra + added_later, 3)) if reindex else ()
        for at, n, edit in updates:
            time.sleep(max(0.0, t0 + at * seconds - time.monotonic()))
            write_corpus(work / "new.jsonl", n, "n", edit=edit)
            b0 = time.monotonic()
            run = kashaf_index(index, work / "new.jsonl")
            builds.append(
                {
                    "at_s": round(b0 - t0, 2),
                    "seconds": round(time.monotonic() - b0, 2),
                    "exit": run.returncode,
                    "summary": run.stdout.strip(),
                }
            )
        # Run to the planned end, and at least a second after the last publish.
        time.sleep(max(0.0, t0 + seconds - time.monotonic(), 1.0))
        stop.set()
        runner.join(timeout=120)
        elapsed = time.monotonic() - t0
        # What the workers serve now, without a restart (twice as many requests as workers).
        final = {
            requests.get(server.url + "/readyz", timeout=30).json()["documents"] for _ in range(2 * workers)
        }
        server_logs = server.logs()
    tally: Tally = result["tally"]
    all_lat = [x for v in tally.latencies.values() for x in v]
    seen_docs = sorted({d for _t, _g, d in tally.ready})
    return {
        "clients": clients,
        "workers": workers,
        "docs": docs,
        "seconds": round(elapsed, 2),
        "requests": tally.requests,
        "requests_per_s": round(tally.requests / elapsed, 1),
        "p50_ms": round(percentile(all_lat, 50) * 1000, 1),
        "p95_ms": round(percentile(all_lat, 95) * 1000, 1),
        "p99_ms": round(percentile(all_lat, 99) * 1000, 1),
        "by_kind": {
            k: {
                "n": len(v),
                "p50_ms": round(percentile(v, 50) * 1000, 1),
                "p95_ms": round(percentile(v, 95) * 1000, 1),
                "mean_ms": round(statistics.fmean(v) * 1000, 1),
            }
            for k, v in sorted(tally.latencies.items())
        },
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "builds": builds,
        "expected_documents": expected,
        "readyz_documents_seen": seen_docs,
        "readyz_final": sorted(final),
        "server_5xx_in_log": server_logs.count('" 5'),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=min(2 * (os.cpu_count() or 1) + 1, 8))
    ap.add_argument("--no-reindex", action="store_true", help="baseline: no index updates during the load")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kashaf-load-") as tmp:
        report = load_while_reindexing(
            Path(tmp), args.clients, args.seconds, args.docs, args.workers, reindex=not args.no_reindex
        )
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(
            f"{report['clients']} clients x {report['seconds']} s, {report['workers']} workers, "
            f"{report['docs']} docs: {report['requests']} requests, {report['requests_per_s']} req/s, "
            f"p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms, p99 {report['p99_ms']} ms, "
            f"errors {report['errors']}"
        )
        for kind, k in report["by_kind"].items():
            print(f"  {kind:<9} n={k['n']:<6} p50 {k['p50_ms']} ms  p95 {k['p95_ms']} ms")
        for b in report["builds"]:
            print(f"  kashaf index at {b['at_s']} s took {b['seconds']} s (exit {b['exit']}): {b['summary']}")
        seen, expected = report["readyz_documents_seen"], report["expected_documents"]
        print(f"  /readyz documents seen under load: {seen} (expected {expected})")
        print(f"  /readyz documents after the load: {report['readyz_final']}")
        print(f"  5xx answers in the gunicorn access log: {report['server_5xx_in_log']}")
        for e in report["error_samples"]:
            print(f"  error: {e}")
    ok = report["errors"] == 0 and report["readyz_final"] == report["expected_documents"][-1:]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
