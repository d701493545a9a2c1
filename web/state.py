"""The index as one web worker sees it: a read-only snapshot that follows ``CURRENT``.

Workers never write. Each request asks :func:`IndexState.snapshot` for the current
state; when ``kashaf index`` has published a new generation, the next request
opens it and later requests use it, while requests already running finish on the
old one. A worker therefore never sees a partial state and needs no restart.

Why the old generation may vanish safely: a snapshot opens *every* file it will
read (SQLite store and all Whoosh segment files, via the searcher) before it is
handed out, and POSIX keeps open files readable after the writer's garbage
collection unlinks them.
"""

from __future__ import annotations

import gc
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from whoosh.index import EmptyIndexError

from indexer.store import IndexNotFound, Snapshot, current_generation, open_current

__all__ = ["IndexNotFound", "IndexState", "IndexUnavailable"]

log = logging.getLogger("kashaf.state")
RETRY_S = 5.0  # how long a generation that failed to open is not retried


class IndexUnavailable(IndexNotFound):
    """The published generation could not be opened (and no earlier one is open)."""


class IndexState:
    """Holds the snapshot of one index directory for one process (thread-safe, fork-safe)."""

    def __init__(self, index_dir: Path | str) -> None:
        self.index_dir = Path(index_dir)
        self._snap: Snapshot | None = None
        self._docs = 0
        self._pid = os.getpid()
        self._failed: tuple[int | None, float] = (None, 0.0)  # (generation, when) of a failed open
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The current snapshot, re-opened when a new generation was published.

        Raises :class:`IndexNotFound` when there is no index yet and
        :class:`IndexUnavailable` when it cannot be opened.
        """
        snap = self._snap
        if snap is not None and self._pid == os.getpid() and not snap.changed():
            return snap
        del snap  # no reference of ours may keep the old snapshot alive past the collection
        with self._lock:
            if self._pid != os.getpid():
                # Forked (gunicorn --preload): never use the parent's SQLite connection.
                self._snap, self._pid = None, os.getpid()
            old = self._snap
            if old is None or old.changed():
                self._reopen()
            swapped = self._snap is not old
            del old
            current = self._snap
        if swapped:
            # Whoosh readers hold reference cycles, so a dropped snapshot's files (often
            # already unlinked by the writer) would stay open until some later collection.
            # Once per publish, collect now; snapshots still used by a request survive.
            gc.collect()
        return current

    def document_count(self) -> int:
        """Documents in the snapshot :meth:`snapshot` returns (counted once per generation)."""
        self.snapshot()
        return self._docs

    def _reopen(self) -> None:
        gen = current_generation(self.index_dir)
        if self._snap is not None and self._failed[0] == gen and time.monotonic() - self._failed[1] < RETRY_S:
            return  # that generation failed a moment ago: keep serving the open one
        try:
            snap = open_current(self.index_dir)
        except IndexNotFound as exc:
            if self._snap is None or current_generation(self.index_dir) is not None:
                # The message reaches clients (503): no server path in it.
                raise IndexNotFound("no index yet: run `kashaf index` to build one") from exc
            # CURRENT vanished (index directory replaced by hand?): keep the open state.
            log.warning("no CURRENT in %s; still serving %s", self.index_dir, self._snap.generation)
            return
        except (OSError, sqlite3.Error, EmptyIndexError) as exc:
            self._failed = (gen, time.monotonic())
            if self._snap is None:
                log.error("cannot open the index in %s: %s", self.index_dir, exc)
                raise IndexUnavailable("the index cannot be opened; see the server log") from exc
            log.error("cannot open generation %s (%s); still serving %s", gen, exc, self._snap.generation)
            return
        # Open every file now (see the module docstring); the old snapshot is left to the
        # garbage collector rather than closed: a request on another thread may still use it.
        docs = snap.searcher().doc_count()
        self._snap, self._docs = snap, docs
