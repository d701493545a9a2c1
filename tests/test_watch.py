"""Saved searches and ``kashaf watch`` on a real index updated twice: JSONL on standard output
and in a file, POSTs to a local webhook receiver (http.server on 127.0.0.1), exactly once per
report per saved search across ``kill -9``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from indexer import saved, store, watch
from indexer.build import build
from tests.test_dedupe import RAQQA, SEEDS, first_batch, second_batch

ROOT = Path(__file__).resolve().parents[1]


def kashaf(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "indexer.cli", *args],
        capture_output=True,
        text=True,
        check=check,
        cwd=ROOT,
        timeout=300,
    )


def events(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def ix(tmp_path: Path) -> Path:
    ix = tmp_path / "index"
    build([SEEDS], ix, jobs=1)
    save(ix, "raqqa", "q=الرقة")
    kashaf("saved", "add", "raqqa-stories", "--url", "/search?q=الرقة&dedupe=1&lang=en", "--index", str(ix))
    save(ix, "north", "q=الرقة&source=وكالة الشمال")
    return ix


def save(ix: Path, name: str, params: str) -> None:
    """What `kashaf saved add` does, without starting a process: what matches now is known."""
    params = saved.normalize_params(params)
    with store.open_current(ix) as snap:
        baseline = [k for h in watch.matches(snap, params) for k in watch.keys_of(h, params)]
    con = saved.connect(ix)
    saved.add(con, name, params, baseline)
    con.close()


def update(ix: Path, n: int) -> None:
    work = ix.parent
    paths = [SEEDS, first_batch(work)] if n == 1 else [SEEDS, work / "batch1.jsonl", second_batch(work)]
    build(paths, ix, jobs=1)


def test_watch_reports_what_is_new_once(ix: Path) -> None:
    assert events(kashaf("watch", "--index", str(ix)).stdout) == []  # saving counted what matched then
    update(ix, 1)
    first = events(kashaf("watch", "--index", str(ix)).stdout)
    got = {(e["search"], e["id"]) for e in first}
    assert got == {
        ("raqqa", "copy-b"),
        ("raqqa", "copy-c"),
        ("north", "copy-b"),
    }  # the copies are one story already known to raqqa-stories: nothing new for it
    assert all(e["document"] == f"/documents/{e['id']}" and e["generation"] == 2 for e in first)
    assert events(kashaf("watch", "--index", str(ix)).stdout) == []  # nothing new: nothing again
    update(ix, 2)
    second = events(kashaf("watch", "--index", str(ix)).stdout)
    assert {(e["search"], e["id"]) for e in second} == {
        ("raqqa", "copy-d"),
        ("raqqa", "other-1"),
        ("raqqa-stories", "other-1"),  # copy-d is a copy of a known story
        ("north", "other-1"),
    }
    assert len({e["event_id"] for e in first + second}) == len(first + second)
    listed = json.loads(kashaf("saved", "list", "--json", "--index", str(ix)).stdout)
    assert {r["name"]: r["pending"] for r in listed} == {"north": 0, "raqqa": 0, "raqqa-stories": 0}
    # The store sits beside the index: a rebuild (new generations, old ones collected) keeps it.
    build([SEEDS, ix.parent / "batch1.jsonl", ix.parent / "batch2.jsonl"], ix, rebuild=True, jobs=1)
    assert (ix / saved.DB).exists() and not (store.generation_dir(ix, 1)).exists()
    assert events(kashaf("watch", "--index", str(ix)).stdout) == []


def test_saved_search_errors(ix: Path) -> None:
    bad = kashaf("saved", "add", "x", "--url", "/search?q=a&colour=red", "--index", str(ix), check=False)
    assert bad.returncode == 2 and "unknown search parameter" in bad.stderr
    dup = kashaf("saved", "add", "raqqa", "حلب", "--index", str(ix), check=False)
    assert dup.returncode == 2 and "exists" in dup.stderr
    assert kashaf("saved", "remove", "nope", "--index", str(ix), check=False).returncode == 1
    kashaf("saved", "remove", "north", "--index", str(ix))
    assert "north" not in kashaf("saved", "list", "--index", str(ix)).stdout


def test_file_output_recovers_a_torn_line_after_a_crash(ix: Path) -> None:
    """A run killed after planning, mid-way through writing a line: the next run cuts the
    torn line, writes each event once, and never repeats one already written."""
    update(ix, 1)
    con = saved.connect(ix)
    with store.open_current(ix) as snap:
        watch.plan(con, snap)  # the crashed run got this far (outbox committed) ...
    pending = [json.loads(e) for (e,) in con.execute("SELECT event FROM outbox ORDER BY seq")]
    con.close()
    out = ix.parent / "alerts.jsonl"
    line = json.dumps(pending[0], ensure_ascii=False) + "\n"
    out.write_text(line + line[:25], "utf-8")  # ... wrote one event whole and a second torn
    result = kashaf("watch", "--index", str(ix), "--output", str(out))
    assert "1 recovered" in result.stderr
    got = events(out.read_text("utf-8"))
    assert sorted(e["event_id"] for e in got) == sorted(e["event_id"] for e in pending)
    kashaf("watch", "--index", str(ix), "--output", str(out))
    assert len(events(out.read_text("utf-8"))) == len(pending)


def test_file_output_exactly_once_under_kill_9(ix: Path, tmp_path: Path) -> None:
    """kill -9 of `kashaf watch --output` whenever the file has grown, until a run finishes."""
    update(ix, 1)
    update(ix, 2)
    con = saved.connect(ix)
    for i in range(12):  # more searches, more events: the kills land mid-run (all reported: no baseline)
        saved.add(con, f"s{i}", saved.normalize_params("q=الرقة" if i % 2 else "q=سوريا"), [])
    con.close()
    out = tmp_path / "alerts.jsonl"
    kills = 0
    for attempt in range(4):  # three runs killed as soon as they have written, then one to the end
        size = out.stat().st_size if out.exists() else 0
        proc = subprocess.Popen(
            [sys.executable, "-m", "indexer.cli", "watch", "--index", str(ix), "--output", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while attempt < 3 and proc.poll() is None and time.monotonic() < deadline:
            if out.exists() and out.stat().st_size > size:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.001)
        code = proc.wait(timeout=120)
    assert code == 0
    assert kills >= 2
    got = events(out.read_text("utf-8"))
    con = saved.connect(ix)
    pending = con.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    con.close()
    assert pending == 0
    ids = [e["event_id"] for e in got]
    assert len(ids) == len(set(ids))
    with store.open_current(ix) as snap:
        expected = {
            (f"s{i}", h["id"])
            for i in range(12)
            for h in watch.matches(snap, f"q={'الرقة' if i % 2 else 'سوريا'}")
        }
    assert {(e["search"], e["id"]) for e in got if e["search"].startswith("s")} == expected


class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST; can kill the sender mid-request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.kill_pid_on: int | None = None  # kill -9 this pid when the Nth request arrives
        self.pid = 0
        self.fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append((self.headers["Idempotency-Key"], body))
                if receiver.kill_pid_on == len(receiver.requests):
                    os.kill(receiver.pid, signal.SIGKILL)  # got it, but the sender never hears back
                    time.sleep(0.2)
                code = 503 if receiver.fail else 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def run_watch(ix: Path, receiver: Receiver) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "watch", "--index", str(ix), "--webhook", receiver.url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    receiver.pid = proc.pid
    return proc.wait(timeout=120)


def test_webhook_exactly_once_across_kill_9(ix: Path, receiver: Receiver) -> None:
    update(ix, 1)
    update(ix, 2)
    receiver.kill_pid_on = 2
    assert run_watch(ix, receiver) == -signal.SIGKILL
    assert len(receiver.requests) == 2
    receiver.kill_pid_on = None
    assert run_watch(ix, receiver) == 0
    keys = [k for k, _ in receiver.requests]
    # The first event was acknowledged: never sent again. The second reached the receiver but
    # its acknowledgement did not reach the sender: sent again, with the same Idempotency-Key.
    assert keys.count(keys[0]) == 1 and keys.count(keys[1]) == 2
    assert len(keys) == len(set(keys)) + 1
    delivered = {(b["search"], b["id"]) for _, b in receiver.requests}
    assert ("raqqa", RAQQA) not in delivered  # known when saved
    assert {("raqqa", "copy-b"), ("raqqa", "copy-d"), ("raqqa-stories", "other-1")} <= delivered
    assert all(k == b["event_id"] for k, b in receiver.requests)
    n = len(receiver.requests)
    assert run_watch(ix, receiver) == 0 and len(receiver.requests) == n  # nothing new: no request


def test_webhook_failure_keeps_events_for_the_next_run(ix: Path, receiver: Receiver) -> None:
    update(ix, 1)
    receiver.fail = True
    assert run_watch(ix, receiver) == 1
    assert len(receiver.requests) == 1  # stopped at the first refusal, in order
    receiver.fail = False
    assert run_watch(ix, receiver) == 0
    keys = [k for k, _ in receiver.requests]
    assert keys[0] == keys[1] and len(set(keys)) == 3  # the refused one again, then the other two


def test_one_watch_at_a_time(ix: Path) -> None:
    with watch.watch_lock(ix):
        busy = kashaf("watch", "--index", str(ix), check=False)
    assert busy.returncode == 75 and "another `kashaf watch`" in busy.stderr
