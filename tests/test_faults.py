"""Faults while gunicorn serves: `kill -9` of `kashaf index` at several points, and of a worker.

Clients keep sending mixed requests throughout (benchmarks.load.run_clients); every
request must be answered without a 5xx, the index must keep opening, and the
next `kashaf index` must recover.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from benchmarks.load import KASHAF, ROOT, gunicorn, kashaf_index, run_clients, write_corpus
from indexer import store

BASE_DOCS, NEW_DOCS = 30, 150


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(work dir, index, server, base ids) with BASE_DOCS documents published."""
    work = tmp_path_factory.mktemp("faults")
    index = work / "index"
    ids = write_corpus(work / "base.jsonl", BASE_DOCS, "b")
    assert kashaf_index(index, work / "base.jsonl").returncode == 0
    write_corpus(work / "big.jsonl", NEW_DOCS, "k")  # large enough that a kill lands mid-write
    with gunicorn(index, workers=2, log_dir=work / "logs") as server:
        yield work, index, server, ids


def _new_generation(index: Path, before: set[int]) -> Path | None:
    fresh = sorted(set(store.generations(index)) - before)
    return store.generation_dir(index, fresh[-1]) if fresh else None


def _early(index: Path, before: set[int]) -> bool:
    return True  # right after start: imports, reading, locking


def _mid_write(index: Path, before: set[int]) -> bool:
    gdir = _new_generation(index, before)
    # The shard writers have written segment files, and the store has rows.
    return gdir is not None and any((gdir / "whoosh").rglob("*.seg")) and (gdir / "docs.sqlite").exists()


def _publishing(index: Path, before: set[int]) -> bool:
    gdir = _new_generation(index, before)
    return gdir is not None and (gdir / store.COMPLETE).exists()


POINTS: dict[str, tuple[Callable[[Path, set[int]], bool], float]] = {
    # name: (condition to wait for, extra delay once it holds)
    "early": (_early, 0.3),
    "mid-write": (_mid_write, 0.0),
    "publish": (_publishing, 0.0),
}


def test_kill_9_of_kashaf_index_at_several_points(served) -> None:
    work, index, server, ids = served
    stop = threading.Event()
    result: dict = {}
    clients = threading.Thread(target=lambda: result.update(t=run_clients(server.url, 3, stop, ids)))
    clients.start()
    landed: dict[str, str] = {}
    try:
        for name, (condition, delay) in POINTS.items():
            before = set(store.generations(index))
            gen_before = store.current_generation(index)
            proc = subprocess.Popen(
                [*KASHAF, "index", str(work / "big.jsonl"), "--index", str(index), "--wait", "30"],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "KASHAF_INDEX": ""},
            )
            deadline = time.monotonic() + 120
            while not condition(index, before) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=30)
            published = store.current_generation(index) != gen_before
            landed[name] = "killed" if code == -signal.SIGKILL else f"finished first (exit {code})"
            landed[name] += ", after publish" if published else ", before publish"
            # The index still opens, and serves the old state or (killed after the swap) the new one.
            with store.open_current(index) as snap:
                docs = snap.searcher().doc_count()
            assert docs in (BASE_DOCS, BASE_DOCS + NEW_DOCS), (name, docs)
            ready = requests.get(server.url + "/readyz", timeout=10).json()
            assert ready["documents"] in (BASE_DOCS, BASE_DOCS + NEW_DOCS)
            if published:
                break  # nothing left to kill: the data is in
        # The next run recovers: it collects the leftovers and publishes everything.
        final = kashaf_index(index, work / "big.jsonl")
        assert final.returncode == 0, final.stderr
        with store.open_current(index) as snap:
            assert snap.searcher().doc_count() == BASE_DOCS + NEW_DOCS
        complete = [
            g for g in store.generations(index) if (store.generation_dir(index, g) / "COMPLETE").exists()
        ]
        assert store.generations(index) == complete  # no half-written generation left behind
        time.sleep(0.5)
    finally:
        stop.set()
        clients.join(timeout=60)
    tally = result["t"]
    print(f"\nkill points: {landed}; {tally.requests} requests during the kills, {len(tally.errors)} errors")
    assert tally.errors == []
    assert tally.requests > 10
    assert landed["early"].startswith("killed") and landed["mid-write"].startswith("killed"), landed
    assert requests.get(server.url + "/readyz", timeout=10).json()["documents"] == BASE_DOCS + NEW_DOCS


def test_kill_9_of_a_worker_under_load(served) -> None:
    _work, _index, server, ids = served
    old = set(server.workers())
    assert len(old) == 2
    stop = threading.Event()
    result: dict = {}
    # A request in flight on the killed worker loses its connection: the client retries it once.
    clients = threading.Thread(
        target=lambda: result.update(t=run_clients(server.url, 4, stop, ids, retries=1))
    )
    clients.start()
    killed = []
    try:
        for _ in range(2):
            time.sleep(0.7)
            victim = sorted(set(server.workers()) - set(killed))[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the master replaces them
            now = set(server.workers())
            if len(now) == 2 and not now & set(killed):
                break
            time.sleep(0.1)
        time.sleep(0.7)  # and the new workers serve
    finally:
        stop.set()
        clients.join(timeout=60)
    tally = result["t"]
    print(f"\nworkers killed: {len(killed)}; {tally.requests} requests, {tally.retries} retried")
    assert tally.errors == []  # in particular no 5xx from the surviving workers
    # A gthread worker holds several connections at once (one request each): a killed worker
    # can take one in-flight request of every client with it, never more.
    assert tally.retries <= len(killed) * 4
    now = set(server.workers())
    assert len(now) == 2 and not now & set(killed)
    assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
