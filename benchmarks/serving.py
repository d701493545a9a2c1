"""Serving cost on a built index: worker memory, cold start and export speed, over real HTTP.

    .venv/bin/python -m benchmarks.serving --index .bench/ant \\
        --baseline-code .bench/main-code --baseline-python .bench/main-venv/bin/python

For this checkout (and, with ``--baseline-code``, for another checkout of Kashaf served
from the same index in the same run, e.g. main's code), starts
``gunicorn -c web/gunicorn.conf.py 'web:create_app()'`` on a free loopback port and
measures:

- **cold start**: one worker; the first ``/api/search`` it answers (total, facets and
  snippets; wall and the worker's CPU time), and the time from ``kill -9`` of that
  worker to the first answer of the worker the master starts in its place;
- **exports from a cold worker**: the worker is replaced before each export, and the
  export (CSV, then JSONL) is the replacement's first request; rows, seconds, rows/s,
  and the worker's CPU seconds (rows per CPU second: what the code costs on a machine
  whose cores are shared); then the same export warm;
- **memory**: ``--workers`` workers (default 2) after a fixed query mix (the 35 researcher
  queries of ``../shared/eval/result_sets/`` and the first 25 ``ant_title`` headlines, each
  as ``/api/search`` and as the ``/search`` page, and 10 document pages, spread over the
  workers): each worker's RSS, PSS (its share of pages shared with other processes) and
  USS (pages only it holds), from ``/proc/PID/smaps_rollup``;
- the worker count each checkout's configuration picks on this machine.

``--exports-only`` measures the exports alone. gunicorn runs in a session of its own (as
under systemd or in a container): with the kernel's autogroup scheduling the processes of
one session share one CPU share, so in the benchmark's session it would also compete with
the client reading the export. The run prints the load average at its start and end.

Traffic goes only to 127.0.0.1; the index is only read.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import requests

from benchmarks.load import HOST, ROOT, Server, _stop, free_port

SHARED = ROOT.parent / "shared"
# About 800, 3,000 and 6,500 matches on the ANT index; سوريا and الحديدة name places (their
# mentions are marked in the snippets too).
EXPORT_QUERIES = ("الحديدة", "سوريا", "قوات")
MIX_DOC_PAGES = 10


def mix_queries() -> list[str]:
    """The fixed query mix: 35 researcher queries and 25 headlines (data nobody here wrote)."""
    out = []
    for name, n in (("eval/result_sets/dev_queries.tsv", 35), ("eval/ant_title/queries.tsv", 25)):
        path = SHARED / name
        if not path.exists():
            raise SystemExit(f"{path} is missing: the benchmark reads its queries from ../shared")
        rows = [ln.split("\t", 1)[1] for ln in path.read_text("utf-8").splitlines() if "\t" in ln]
        out += [r.strip() for r in rows[:n] if r.strip()]
    return out


@contextlib.contextmanager
def serve(code: Path, python: Path, index: Path, workers: int, log_dir: Path) -> Iterator[Server]:
    """gunicorn with ``code``'s config and app, run by ``python``, on a free loopback port."""
    port = free_port()
    out, err = log_dir / f"gunicorn-{port}.out", log_dir / f"gunicorn-{port}.err"
    env = {**os.environ, "KASHAF_INDEX": str(index), "KASHAF_BIND": f"{HOST}:{port}"}
    env["KASHAF_WORKERS"] = str(workers)
    env.pop("PYTHONPATH", None)
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [str(python), "-m", "gunicorn", "-c", "web/gunicorn.conf.py", "web:create_app()"],
            cwd=code,
            env=env,
            stdout=o,
            stderr=e,
            # Its own session, as a server started by systemd or a container is: with the
            # kernel's autogroup scheduling, one session's processes share one CPU share, so
            # gunicorn in the benchmark's session would also compete with the client reading it.
            start_new_session=True,
        )
    server = Server(proc, f"http://{HOST}:{port}", out, err)
    try:
        deadline = time.monotonic() + 120
        while not (len(server.workers()) >= workers and _healthy(server)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{server.logs()[-3000:]}")
            time.sleep(0.02)
        yield server
    finally:
        _stop(proc)


def _healthy(server: Server) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(server.url + "/healthz", timeout=5).status_code == 200
    return False


def fresh_worker(server: Server) -> tuple[int, float]:
    """Kill the (only) worker; wait for its replacement to be up (``/healthz``, which touches no
    index). Returns the new pid and the seconds from the kill to that."""
    (old,) = server.workers()
    t0 = time.perf_counter()
    os.kill(old, signal.SIGKILL)
    while True:
        pids = server.workers()
        if pids and pids != [old] and _healthy(server):
            return pids[0], time.perf_counter() - t0
        time.sleep(0.005)


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private pages) of a process, in MB, and ``dirty``: the pages only it
    has written (its own heap and the master's pages it copied on write). Mapped index files
    are clean, and with one worker its USS counts the index pages only it maps, though they
    are the OS page cache all the same: ``dirty`` is what each more worker costs."""
    kb: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        kb[key] = int(value.split()[0])
    uss = kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)
    return {
        "rss": kb["Rss"] / 1024,
        "pss": kb["Pss"] / 1024,
        "uss": uss / 1024,
        "dirty": kb.get("Private_Dirty", 0) / 1024,
    }


def timed_get(url: str) -> tuple[float, requests.Response]:
    t0 = time.perf_counter()
    resp = requests.get(url, timeout=600)
    return time.perf_counter() - t0, resp


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, with that of its children once reaped
    (an export's helper process, web/helper.py) (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def export(server: Server, query: str, kind: str) -> dict:
    """One whole export; rows counted as records (CSV cells may hold newlines). Besides the
    wall time, the CPU time the (only) worker spent on it: on a shared machine, rows per
    CPU second are what the code costs, rows per second also what the neighbours took."""
    url = f"{server.url}/api/search.{kind}?q={quote(query)}"
    (pid,) = server.workers()
    cpu0 = cpu_seconds(pid)
    t0 = time.perf_counter()
    resp = requests.get(url, timeout=600, stream=True)
    body = b"".join(resp.iter_content(1 << 16))
    seconds = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - cpu0
    if resp.status_code != 200:
        raise RuntimeError(f"{url}: {resp.status_code} {body[:300]!r}")
    text = body.decode("utf-8-sig")
    rows = len(list(csv.reader(io.StringIO(text)))) - 1 if kind == "csv" else len(text.splitlines())
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else 0.0,
        "cpu_seconds": cpu,
        "rows_per_cpu_s": rows / cpu if cpu else 0.0,
    }


def default_workers(code: Path, python: Path) -> int:
    """The worker count ``code``'s gunicorn configuration picks here without KASHAF_WORKERS."""
    env = {k: v for k, v in os.environ.items() if k != "KASHAF_WORKERS"}
    prog = "import runpy; print(runpy.run_path('web/gunicorn.conf.py')['workers'])"
    out = subprocess.run(
        [str(python), "-c", prog], cwd=code, env=env, capture_output=True, text=True, check=False
    )
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else -1


def measure_exports(server: Server) -> list[dict]:
    """Each export query as CSV and JSONL, from a cold worker (a replacement's first request),
    then the same export again (warm)."""
    exports = []
    for query in EXPORT_QUERIES:
        for kind in ("csv", "jsonl"):
            fresh_worker(server)
            cold = export(server, query, kind)
            warm = export(server, query, kind)
            exports.append({"query": query, "kind": kind, "cold": cold, "warm": warm})
    return exports


def measure(
    code: Path, python: Path, index: Path, workers: int, log_dir: Path, *, exports_only: bool = False
) -> dict:
    """Every figure for one checkout (only the exports' with ``exports_only``)."""
    if exports_only:
        with serve(code, python, index, 1, log_dir) as server:
            return {"code": str(code), "exports": measure_exports(server)}
    queries = mix_queries()
    report: dict = {"code": str(code), "default_workers": default_workers(code, python)}
    with serve(code, python, index, 1, log_dir) as server:
        (pid,) = server.workers()
        cpu0 = cpu_seconds(pid)
        seconds, resp = timed_get(f"{server.url}/api/search?q={quote(queries[0])}")
        assert resp.status_code == 200, resp.text[:300]
        report["cold_first_search_ms"] = seconds * 1000
        report["cold_first_search_cpu_ms"] = (cpu_seconds(pid) - cpu0) * 1000
        cpu0 = cpu_seconds(pid)
        seconds, resp = timed_get(f"{server.url}/api/search?q={quote(queries[1])}")
        report["warm_second_search_ms"] = seconds * 1000
        report["warm_second_search_cpu_ms"] = (cpu_seconds(pid) - cpu0) * 1000
        (old,) = server.workers()
        t0 = time.perf_counter()
        os.kill(old, signal.SIGKILL)
        while True:
            with contextlib.suppress(requests.RequestException):
                resp = requests.get(f"{server.url}/api/search?q={quote(queries[2])}", timeout=30)
                if resp.status_code == 200:
                    break
            time.sleep(0.002)
        report["replacement_kill_to_first_answer_ms"] = (time.perf_counter() - t0) * 1000
        report["exports"] = measure_exports(server)
    with serve(code, python, index, workers, log_dir) as server:
        ids = []
        urls = []
        for q in queries:
            urls.append(f"{server.url}/api/search?q={quote(q)}")
            urls.append(f"{server.url}/search?q={quote(q)}")
        with ThreadPoolExecutor(workers) as pool:
            for resp in pool.map(lambda u: requests.get(u, timeout=120), urls):
                assert resp.status_code == 200, resp.text[:300]
                if "/api/" in resp.url:
                    ids += [h["id"] for h in resp.json()["hits"][:1]]
            docs = [f"{server.url}/documents/{quote(i, safe='')}" for i in ids[:MIX_DOC_PAGES]]
            for resp in pool.map(lambda u: requests.get(u, timeout=120), docs):
                assert resp.status_code == 200, resp.text[:300]
        report["mix_requests"] = len(urls) + len(docs)
        report["workers"] = [memory(pid) for pid in server.workers()]
        report["master"] = memory(server.proc.pid)
    return report


def _table(reports: list[tuple[str, dict]]) -> str:
    lines = ["| figure | " + " | ".join(name for name, _ in reports) + " |"]
    lines.append("|---|" + "---|" * len(reports))

    def row(label: str, fn) -> None:
        lines.append(f"| {label} | " + " | ".join(fn(r) for _, r in reports) + " |")

    full = "workers" in reports[0][1]  # not an --exports-only run
    if full:
        row("default workers here", lambda r: str(r["default_workers"]))
        row(
            "first /api/search of a fresh worker",
            lambda r: f"{r['cold_first_search_ms']:.0f} ms ({r['cold_first_search_cpu_ms']:.0f} ms CPU)",
        )
        row(
            "second /api/search",
            lambda r: f"{r['warm_second_search_ms']:.0f} ms ({r['warm_second_search_cpu_ms']:.0f} ms CPU)",
        )
        row(
            "kill -9 → replacement's first answer",
            lambda r: f"{r['replacement_kill_to_first_answer_ms']:.0f} ms",
        )
    for i, e in enumerate(reports[0][1]["exports"]):
        label = f"export {e['kind']} q={e['query']} ({e['cold']['rows']} rows)"
        row(label + ", cold worker", lambda r, i=i: _export_cell(r["exports"][i]["cold"]))
        row(label + ", warm", lambda r, i=i: _export_cell(r["exports"][i]["warm"]))
    if not full:
        return "\n".join(lines)
    for key in ("rss", "pss", "uss", "dirty"):
        row(
            f"worker {'private dirty' if key == 'dirty' else key.upper()} after the mix (max of workers)",
            lambda r, key=key: f"{max(w[key] for w in r['workers']):.0f} MB",
        )
    row("master RSS", lambda r: f"{r['master']['rss']:.0f} MB")
    row(
        "sum of PSS (workers + master)",
        lambda r: f"{sum(w['pss'] for w in r['workers']) + r['master']['pss']:.0f} MB",
    )
    return "\n".join(lines)


def _export_cell(e: dict) -> str:
    return (
        f"{e['seconds']:.2f} s, {e['rows_per_s']:,.0f} rows/s; "
        f"{e['cpu_seconds']:.2f} CPU s, {e['rows_per_cpu_s']:,.0f} rows/CPU s"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="a built index directory (only read)")
    ap.add_argument("--workers", type=int, default=2, help="workers for the memory run (default 2)")
    ap.add_argument("--baseline-code", type=Path, help="another Kashaf checkout to measure in the same run")
    ap.add_argument("--baseline-python", type=Path, help="the Python that has the baseline's dependencies")
    ap.add_argument("--json", action="store_true", help="print the whole report as JSON")
    ap.add_argument("--exports-only", action="store_true", help="measure the exports only")
    args = ap.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="kashaf-serving-"))
    runs = [("this checkout", ROOT, Path(sys.executable))]
    if args.baseline_code:
        python = (args.baseline_python or Path(sys.executable)).absolute()
        runs.insert(0, ("baseline", args.baseline_code.resolve(), python))
    reports = []
    load0 = os.getloadavg()[0]
    for name, code, python in runs:
        print(f"measuring {name} ({code}) ...", file=sys.stderr, flush=True)
        reports.append(
            (
                name,
                measure(
                    code, python, args.index.resolve(), args.workers, log_dir, exports_only=args.exports_only
                ),
            )
        )
    load = os.getloadavg()
    print(json.dumps(dict(reports), indent=1) if args.json else _table(reports))
    print(f"\n{os.cpu_count()} cores, load average {load0:.1f} → {load[0]:.1f}; gunicorn logs in {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
