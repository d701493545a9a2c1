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
# Callables run on a snapshot by warm() (the web layer adds the export's column list).
WARM_HOOKS: list = []
# What warm() searches in the master: together they read every per-index cache a request
# would (scores at all three levels, dates, facets, story groups, did-you-mean, snippets).
WARM_SEARCHES: tuple[dict, ...] = (
    {"query": "قوات النظام", "level": "root", "sort": "newest", "dedupe": True, "limit": 5},
    {"query": "الحكومه والجيشش", "op": "or", "sort": "oldest", "limit": 5},  # a typo: did-you-mean
    {"query": 'انسحبوا "مجلس الأمن"', "limit": 5},
)


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
                # Forked (gunicorn --preload): never use the parent's SQLite connection. A
                # snapshot the parent prepared (warm(): connection closed, files mapped) is
                # kept with a connection of this process, and with it every cache the parent
                # filled, shared page by page until written; any other is dropped.
                inherited, self._snap, self._pid = self._snap, None, os.getpid()
                if inherited is not None and inherited.forkable and not inherited.changed():
                    inherited.reconnect()
                    self._snap = inherited
                del inherited
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
            # Objects the master froze before forking (warm()) are invisible to the
            # collector: unfreeze them first, or an inherited snapshot would never go.
            gc.unfreeze()
            gc.collect()
        return current

    def warm(self, searches: tuple[dict, ...] = ()) -> bool:
        """Open the published generation in this process and fill its caches, for processes
        forked from this one to share (gunicorn's master, before it forks the workers).

        Runs ``searches`` (keyword arguments of :func:`indexer.search.search`, e.g. a root-level
        search sorted by date, with dedupe, and a misspelling), which read what a first request
        would: field lengths, dates, facet postings, story groups, the vocabulary. Then the
        SQLite connection is closed (:meth:`Snapshot.prepare_fork`) and every object is frozen
        out of the garbage collector's reach (``gc.freeze``), whose passes would otherwise
        write to every inherited object and copy its page into each worker. Returns ``False``
        when there is no index yet (workers open it on their first request, as before).
        """
        from indexer.search import search

        try:
            snap = self.snapshot()
        except IndexNotFound:
            return False
        if not snap.forkable:
            for kwargs in searches:
                search(snap, **kwargs)
            for hook in WARM_HOOKS:
                hook(snap)
            snap.prepare_fork()
        gc.collect()
        gc.freeze()
        return True

    @property
    def open_generation(self) -> int | None:
        """The generation this process has open (``None`` before the first :meth:`snapshot`)."""
        snap = self._snap
        return snap.generation if snap is not None else None

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
