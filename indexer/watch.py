"""``kashaf watch``: run every saved search and report what is new since the last run.

Each new report becomes one event, a JSON object::

    {"event_id", "search", "id", "group", "title", "date", "source", "url",
     "document": "/documents/<id>", "generation", "detected"}

written as one line of JSONL to standard output or to a file, or POSTed (one request
per event) to a webhook URL with the header ``Idempotency-Key: <event_id>``.

Exactly once, across crashes (write-ahead state in ``INDEX_DIR/saved.sqlite``):

1. *plan*: one transaction finds, for every saved search, the matches it has neither
   reported nor planned, and appends their events to ``outbox``; it commits before
   anything is delivered, so a crash loses nothing planned;
2. *deliver*: events are sent in order; after each one is delivered (the line written
   and fsync'ed, or the webhook answered 2xx) one transaction moves it from ``outbox``
   to ``seen``, so it is never planned or sent again;
3. a run first delivers what a crashed run left in ``outbox``. For a file, it first
   reads the file back: an event the crashed run had written (and not yet recorded) is
   recorded, not written again, and a line torn by the crash is cut off. So a file gets
   every event exactly once whatever moment a ``kill -9`` strikes. A webhook or standard
   output cannot be read back: an event whose delivery was interrupted after the receiver
   got it is sent again with the same ``event_id`` / ``Idempotency-Key``, which a receiver
   uses to drop the repeat (the only window where a repeat can happen).

Only one ``kashaf watch`` runs per index at a time (``flock`` on ``INDEX_DIR/saved.lock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from indexer import saved
from indexer.search import search
from indexer.store import Snapshot, open_current

MAX_MATCHES = 1_000_000  # a saved search's matches read per run (bounded by the index anyway)


class WatchBusy(RuntimeError):
    """Another ``kashaf watch`` holds the lock of this index."""


class DeliveryError(RuntimeError):
    """A sink refused an event (the event stays in the outbox for the next run)."""


@dataclass
class WatchReport:
    """What one run did."""

    searches: int = 0
    planned: int = 0
    delivered: int = 0
    recovered: int = 0  # events of a crashed run found already written (file sink)
    errors: list[str] = field(default_factory=list)


def event_id(name: str, key: str) -> str:
    """A stable id of "this report, for this saved search" (the same on every retry).

    >>> event_id("idlib", "doc-1") == event_id("idlib", "doc-1") != event_id("idlib", "doc-2")
    True
    """
    return hashlib.sha256(f"{name}\0{key}".encode()).hexdigest()[:32]


def matches(snap: Snapshot, params: str) -> list[dict]:
    """Every report a saved search matches now (one per story group with ``dedupe=1``)."""
    kw = saved.search_kwargs(params)
    total = search(snap, limit=0, facets=False, snippets=False, **kw)["total"]
    if not total:
        return []
    hits = search(snap, limit=min(total, MAX_MATCHES), facets=False, snippets=False, sort="date", **kw)[
        "hits"
    ]
    return hits


def keys_of(hit: dict, params: str) -> list[str]:
    """The reports a hit stands for: itself, and under ``dedupe=1`` its story's other matching
    copies too — one story is reported once, and stays known if a rebuild renames its group."""
    if saved.search_kwargs(params)["dedupe"]:
        return [hit["id"], *(c["id"] for c in hit.get("copies") or [])]
    return [hit["id"]]


@contextlib.contextmanager
def watch_lock(index_dir: Path) -> Iterator[None]:
    fd = os.open(Path(index_dir) / saved.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WatchBusy(f"another `kashaf watch` is running on {index_dir}") from None
        yield
    finally:
        os.close(fd)


# --- sinks ------------------------------------------------------------------------------


class StreamSink:
    """JSONL to a stream (standard output)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def recover(self, ids: set[str]) -> set[str]:
        return set()  # a stream cannot be read back

    def send(self, event: dict) -> None:
        self.stream.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.stream.flush()


class FileSink:
    """JSONL appended to a file, each line fsync'ed before it counts as delivered."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def recover(self, ids: set[str]) -> set[str]:
        """Event ids among ``ids`` already in the file; a torn last line is cut off."""
        if not ids or not self.path.exists():
            return set()
        found: set[str] = set()
        with open(self.path, "r+b") as f:
            data = f.read()
            end = data.rfind(b"\n") + 1
            if end != len(data):  # a line the crash cut short: it will be written again whole
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
            for raw in data[:end].split(b"\n"):
                if raw.strip():
                    with contextlib.suppress(ValueError):
                        eid = json.loads(raw).get("event_id")
                        if eid in ids:
                            found.add(eid)
        return found

    def send(self, event: dict) -> None:
        line = (json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


class WebhookSink:
    """One POST of the event as JSON per event; 2xx means delivered."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a webhook URL starts with http:// or https://, not {url!r}")
        self.url = url
        self.timeout = timeout

    def recover(self, ids: set[str]) -> set[str]:
        return set()  # the receiver drops repeats by Idempotency-Key

    def send(self, event: dict) -> None:
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": event["event_id"],
                "User-Agent": "kashaf-watch",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"{self.url} answered {exc.code} for event {event['event_id']}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"{self.url}: {exc}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"{self.url} answered {status} for event {event['event_id']}")


# --- the run ----------------------------------------------------------------------------


def plan(con: sqlite3.Connection, snap: Snapshot, names: list[str] | None = None) -> tuple[int, int]:
    """Append every saved search's new matches to the outbox (one transaction).

    Returns (searches run, events planned). The searches run before the transaction
    opens, so the store is locked only for the inserts.
    """
    rows = con.execute("SELECT name, params FROM searches ORDER BY name").fetchall()
    if names:
        rows = [r for r in rows if r[0] in names]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    found = [(name, params, matches(snap, params)) for name, params in rows]
    planned = 0
    con.execute("BEGIN IMMEDIATE")
    try:
        for name, params, hits in found:
            known = {k for (k,) in con.execute("SELECT key FROM seen WHERE name = ?", (name,))}
            known |= {k for (k,) in con.execute("SELECT key FROM outbox WHERE name = ?", (name,))}
            for h in reversed(hits):  # oldest first, so a reader sees them in order
                keys = keys_of(h, params)
                if any(k in known for k in keys):
                    # A known story's new copy: known too, never reported on its own.
                    con.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", [(name, k) for k in keys])
                    known.update(keys)
                    continue
                known.update(keys)
                event = {
                    "event_id": event_id(name, h["id"]),
                    "search": name,
                    "id": h["id"],
                    "group": h.get("group") or h["id"],
                    "title": h["title"],
                    "date": h["date"],
                    "source": h["source"],
                    "url": h["url"],
                    "document": f"/documents/{h['id']}",
                    "generation": snap.generation,
                    "detected": now,
                }
                if "copies" in h:
                    event["copies"] = [c["id"] for c in h["copies"]]
                con.execute(
                    "INSERT INTO outbox (name, key, event) VALUES (?, ?, ?)",
                    (name, h["id"], json.dumps(event, ensure_ascii=False)),
                )
                planned += 1
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(rows), planned


def _done(con: sqlite3.Connection, seq: int, name: str, keys: list[str]) -> None:
    con.execute("BEGIN IMMEDIATE")
    con.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
    con.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", [(name, k) for k in keys])
    con.execute("COMMIT")


def deliver(con: sqlite3.Connection, sink, report: WatchReport) -> None:
    """Send the outbox in order, recording each event once it is delivered."""
    pending = con.execute("SELECT seq, name, key, event FROM outbox ORDER BY seq").fetchall()
    already = sink.recover({json.loads(e)["event_id"] for *_x, e in pending})
    for seq, name, key, event in pending:
        data = json.loads(event)
        if data["event_id"] in already:
            report.recovered += 1
        else:
            sink.send(data)
            report.delivered += 1
        _done(con, seq, name, [key, *data.get("copies", [])])


def watch(index_dir: Path | str, sink, names: list[str] | None = None) -> WatchReport:
    """One run: recover, plan, deliver. Raises :class:`WatchBusy`, ``IndexNotFound`` and
    :class:`DeliveryError` (what was delivered before it stays recorded)."""
    index_dir = Path(index_dir)
    report = WatchReport()
    with watch_lock(index_dir):
        con = saved.connect(index_dir)
        try:
            deliver(con, sink, report)  # what a crashed run left behind
            with open_current(index_dir) as snap:
                report.searches, report.planned = plan(con, snap, names)
            deliver(con, sink, report)
        finally:
            con.close()
    return report
