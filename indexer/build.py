"""``kashaf index``: read inputs, work out what changed, write and publish a new generation.

Analysis runs in ``jobs`` worker processes (:func:`indexer.schema.analyze_document`);
one Whoosh writer and one SQLite connection in this process write the results.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from indexer import arrays, dedupe, postings, store, termstore
from indexer.readers import Doc, Problem, iter_files, local, read_file
from indexer.schema import analysis_version, analyze_document, month_of, schema
from indexer.segments import BulkWriter

Progress = Callable[[int, int], None]  # (done, total)
MAX_SHARDS = 8
SEGMENT_DOCS = 50_000  # documents per bulk-written segment: bounds what a shard writer holds


class DiskFull(OSError):
    """The disk filled up while a generation was written (it was removed again)."""


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT anywhere in the chain, or SQLite's own "disk is full"."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.Error) and "full" in str(exc):
            return True
        if "No space left on device" in str(exc):  # re-raised from a shard writer process
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass
class BuildReport:
    """What a build did; ``generation`` is None when nothing had to be written."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    problems: list[Problem] = field(default_factory=list)
    generation: int | None = None
    documents: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No input problem that lost a document or a field."""
        return not any(p.fatal for p in self.problems)

    def summary(self) -> str:
        """The closing line of ``kashaf index``."""
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"removed {self.removed}, failed {self.failed}; {self.documents} documents "
            f"in {self.seconds:.1f} s"
        )


def _shown(f: Path) -> str:
    """File name for messages: relative to the working directory when possible."""
    try:
        return str(f.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(f)


def _known(index_dir: Path, gen: int) -> tuple[dict[str, tuple[str, str]], str | None]:
    """``{id: (hash, path)}`` and the schema version of a published generation."""
    con = store.connect_ro(store.generation_dir(index_dir, gen) / store.DB)
    try:
        known = {r[0]: (r[1], r[2]) for r in con.execute("SELECT id, hash, path FROM docs")}
        row = con.execute("SELECT value FROM info WHERE key = 'schema_version'").fetchone()
        return known, (row[0] if row else None)
    finally:
        con.close()


def _carry(con: sqlite3.Connection, old_db: Path, keep: set[str]) -> list[str]:
    """Copy the stored rows of the documents ``keep`` from a published generation's store
    into the new one (re-analysis: their text comes from the store, not from an input);
    returns their ids. Row for row in SQLite: no document is held here."""
    con.execute("CREATE TEMP TABLE carry (id TEXT PRIMARY KEY)")
    con.executemany("INSERT INTO carry VALUES (?)", ((i,) for i in keep))
    # A plain path (a URI needs SQLite built to accept them in ATTACH); only read from.
    con.execute("ATTACH DATABASE ? AS old", (str(Path(old_db).resolve()),))
    try:
        ids = [r[0] for r in con.execute("SELECT id FROM old.docs WHERE id IN (SELECT id FROM carry)")]
        con.execute("INSERT OR REPLACE INTO docs SELECT * FROM old.docs WHERE id IN (SELECT id FROM carry)")
        con.commit()
    finally:
        con.execute("DETACH DATABASE old")
        con.execute("DROP TABLE carry")
    return ids


def _docs_of(db_path: Path, ids: list[str], chunk: int = 512) -> Iterator[Doc]:
    """The documents ``ids`` (in that order) as the new generation's store holds them: the
    shard writers read their documents from there, a chunk at a time, rather than inherit
    every text from the build's process (a million reports are ~7 GB of Python strings, and
    the forked writers would copy the pages they touch)."""
    con = store.connect_ro(db_path)
    try:
        for i in range(0, len(ids), chunk):
            part = ids[i : i + chunk]
            marks = ",".join("?" * len(part))
            rows = {
                r["id"]: r
                for r in con.execute(
                    f"SELECT id, title, body, date, source FROM docs WHERE id IN ({marks})", part
                )
            }
            for doc_id in part:
                r = rows[doc_id]
                yield Doc(
                    id=r["id"],
                    title=r["title"],
                    text=r["body"],
                    path="",
                    date=datetime.fromisoformat(r["date"]) if r["date"] else None,
                    source=r["source"],
                )
    finally:
        con.close()


def _row(d: Doc) -> tuple:
    """A document's row of the store's ``docs`` table."""
    return (
        d.id,
        d.title,
        d.text,
        d.date.isoformat() if d.date else None,
        d.source,
        d.url,
        json.dumps(d.meta, ensure_ascii=False, default=str),
        d.content_hash(),
        d.path,
        d.line,
    )


_FOUND: set[str] = set()  # a word finder's words so far (each process its own)


def _new_surfaces(texts: list[tuple[str, str]]) -> set[str]:
    """A word finder's task: the surface forms of (title, body) pairs it has not returned yet."""
    new = postings.surfaces(t for pair in texts for t in pair if t) - _FOUND
    _FOUND.update(new)
    return new


def _under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == r or p.is_relative_to(r) for r in roots)


class _Pending:
    """The generation a build writes, started when the first document to write is read
    (a run that changes nothing starts none). :meth:`add` writes a document's row into its
    store at once and keeps only its id (``written``, in reading order)."""

    BATCH = 1000  # rows per INSERT

    def __init__(self, index_dir: Path, base: int | None, floor: int, jobs: int | None) -> None:
        self.index_dir, self.base, self.floor, self.jobs = index_dir, base, floor, jobs
        self.n: int | None = None
        self.gdir: Path | None = None
        self.linked: dict = {}
        self.nshards = 0
        self.con: sqlite3.Connection | None = None
        self.written: list[str] = []
        self._rows: list[tuple] = []
        # The distinct words of the documents written, found by other processes while this
        # one reads and stores (it leaves the other cores idle): a pool and its results.
        self._finder: tuple | None = None
        self.carried = False  # documents came from the old store too (their words are not found)

    def start(self) -> sqlite3.Connection:
        """The generation's store (the generation started if it was not), rows flushed."""
        if self.con is None:
            self.n, self.gdir, self.linked = store.start_generation(self.index_dir, self.base, self.floor)
            self.nshards = _shard_count(self.index_dir, self.base, self.jobs)
            self.con = store.open_build_db(self.gdir / store.DB)
            self.con.execute("INSERT OR REPLACE INTO info VALUES ('shards', ?)", (str(self.nshards),))
        if self._rows:
            self._find()
            self.con.executemany(
                "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._rows
            )
            self._rows.clear()
        return self.con

    def add(self, d: Doc) -> None:
        self._rows.append(_row(d))
        self.written.append(d.id)
        if len(self._rows) >= self.BATCH:
            self.start()

    def _find(self) -> None:
        """Hand the rows about to be stored to the word finders (started at the first full
        batch when there are cores to spare: a small build's writers find their own)."""
        if self._finder is None:
            # Two finders, even on two cores: one fell behind the reading on ANT (the build
            # then waited 0.7 s for it, 0.1 s for two). Each returns its own new words, so more
            # finders would hold more copies of them. One job: no other process.
            jobs = self.jobs or os.cpu_count() or 1
            spare = min(jobs, 2) if jobs > 1 else 0
            if spare < 1 or len(self._rows) < self.BATCH:
                return
            ctx = multiprocessing.get_context("fork")
            self._finder = (ctx.Pool(spare, initializer=_die_with_parent, initargs=(os.getpid(),)), [])
        pool, results = self._finder
        results.append(pool.apply_async(_new_surfaces, ([(r[1], r[2]) for r in self._rows],)))

    def surfaces(self) -> set[str] | None:
        """The distinct surface forms of every document written, as found while reading
        (the finders stopped); ``None`` when not all were found that way."""
        if self._finder is None:
            return None
        pool, results = self._finder
        try:
            found = set().union(*(r.get() for r in results))
        finally:
            pool.terminate()
            self._finder = None
        return None if self.carried else found

    def close(self) -> None:
        if self._finder is not None:
            self._finder[0].terminate()
            self._finder = None
        if self.con is not None:
            with contextlib.suppress(sqlite3.Error):
                self.con.close()
            self.con = None


def build(
    paths: Iterable[Path],
    index_dir: Path,
    *,
    rebuild: bool = False,
    prune: bool = False,
    jobs: int | None = None,
    wait: float = 0.0,
    progress: Progress | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> BuildReport:
    """Index ``paths`` into ``index_dir`` incrementally; raises ``store.IndexBusy`` if locked."""
    t0 = time.monotonic()
    paths = [Path(p) for p in paths]
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport()
    log = log or (lambda _msg: None)

    def problem(p: Problem) -> None:
        report.problems.append(p)
        if on_problem:
            on_problem(p)

    with store.write_lock(index_dir, wait):
        floor = max(store.generations(index_dir), default=0)
        dropped = store.collect_garbage(index_dir)
        if dropped:
            log(f"removed leftover generation(s) {', '.join(map(str, dropped))}")
        base = store.current_generation(index_dir)
        known: dict[str, tuple[str, str]] = {}
        reanalyze = False  # analysis changed: every stored document is analyzed again
        if base is not None and not rebuild:
            known, version = _known(index_dir, base)
            if version != analysis_version():
                log(f"analysis changed ({version} → {analysis_version()}): re-analyzing every document")
                reanalyze = True
        carried_from = base if reanalyze else None
        if rebuild or reanalyze:
            base = None

        # 1. Read everything. What has to be (re)written goes straight into the new
        # generation's store (started at the first such document), which the shard writers
        # then read: this process keeps ids, never every text (memory bounded at any size).
        gen = _Pending(index_dir, base, floor, jobs)
        try:
            seen: dict[str, str] = {}
            bad_files: set[str] = set()
            for found in iter_files(paths):
                if isinstance(found, Problem):
                    problem(found)
                    continue
                f, root = found
                shown = _shown(f)
                for item in read_file(f, root, shown):
                    if isinstance(item, Problem):
                        problem(item)
                        if item.level == "error":
                            report.failed += 1
                            bad_files.add(str(f.resolve()))
                        continue
                    where = f"{shown}:{item.line}"
                    if item.id in seen:
                        problem(
                            Problem(
                                shown,
                                item.line,
                                f"duplicate id {item.id!r} (first at {seen[item.id]}): skipped",
                            )
                        )
                        report.failed += 1
                        continue
                    seen[item.id] = where
                    old = known.get(item.id)
                    if old is None:
                        report.added += 1
                        gen.add(item)
                    elif reanalyze or old != (item.content_hash(), item.path):
                        report.updated += 1
                        gen.add(item)
                    else:
                        report.unchanged += 1
            removed: list[str] = []
            if prune and known:
                roots = [p.resolve() for p in paths]
                removed = [
                    doc_id
                    for doc_id, (_h, path) in known.items()
                    if doc_id not in seen
                    and path not in bad_files
                    and (_under(path, roots) or not Path(path).exists())
                ]
            report.removed = len(removed)
            if carried_from is not None:
                # Documents not read this run keep their stored text and are analyzed again.
                keep = set(known) - set(seen) - set(removed)
                if keep:
                    old_db = store.generation_dir(index_dir, carried_from) / store.DB
                    gen.carried = True
                    carried = _carry(gen.start(), old_db, keep)
                    report.updated += len(carried)
                    gen.written.extend(carried)
                removed, known = [], {}
            current = base is not None and arrays.up_to_date(store.generation_dir(index_dir, base))
            if not gen.written and not removed and current:
                report.documents = len(known)
                report.seconds = time.monotonic() - t0
                return report  # nothing changed: no new generation, no Whoosh write
            if base is not None and not current:
                # Arrays an older Kashaf wrote (readers ignore them and decode in process): a new
                # generation of the same documents gets them anew, however little else changed.
                log(f"the engine's arrays of generation {base} are from an older version: writing them anew")

            # 2. Write the new generation: each Whoosh shard in its own process.
            # A fresh generation holds exactly what is written; an update, the rest too.
            written = gen.written
            expected = len(written) if base is None else len(known) + report.added - report.removed
            con = gen.start()
            n, gdir, linked, nshards = gen.n, gen.gdir, gen.linked, gen.nshards
            log(f"writing generation {n}: {len(written)} document(s) to analyze, {len(removed)} to remove")
            changed = [*removed, *written]
            # Story groups (indexer/dedupe.py) from the signatures the shard writers computed,
            # taken while they commit.
            _write(
                gdir,
                nshards,
                base is None,
                con,
                written,
                removed,
                known,
                jobs,
                progress,
                gen.surfaces(),
                on_signatures=lambda sigs: dedupe.update(con, changed, log, sigs),
            )

            # 3. Verify, record, publish, collect garbage.
            report.seconds = time.monotonic() - t0
            report.documents = _verify(gdir, con, expected)
            store.check_links_untouched(gdir, linked)
            con.execute(
                "INSERT INTO builds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    n,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    round(report.seconds, 3),
                    report.added,
                    report.updated,
                    report.unchanged,
                    report.removed,
                    report.failed,
                    report.documents,
                ),
            )
            con.execute("INSERT OR REPLACE INTO info VALUES ('schema_version', ?)", (analysis_version(),))
            con.commit()
            con.close()
            arrays.write(gdir)  # the engine's memory-mapped arrays (indexer/arrays.py)
            store.publish(index_dir, n, {"documents": report.documents})
            store.collect_garbage(index_dir)
        except BaseException as exc:
            # Never leave a half-written generation filling the disk until the next run
            # (unless it was published already: then only garbage collection failed).
            n, gdir = gen.n, gen.gdir
            gen.close()
            if store.current_generation(index_dir) != n or n is None:
                if gdir is not None:
                    shutil.rmtree(gdir, ignore_errors=True)
                with contextlib.suppress(OSError):
                    store.collect_garbage(index_dir)
            if _disk_full(exc):
                raise DiskFull(
                    f"no space left on the device holding {index_dir} while writing a new generation: "
                    "it was removed and the published index is unchanged; free some space and run again"
                ) from exc
            raise
        report.generation = n
        report.seconds = time.monotonic() - t0
    return report


def shard_of(doc_id: str, nshards: int) -> int:
    """The shard a document lives in (stable across runs and machines).

    >>> shard_of("000_02962da82e9d9d32", 1)
    0
    """
    return zlib.crc32(doc_id.encode("utf-8")) % nshards


def _shard_count(index_dir: Path, base: int | None, jobs: int | None) -> int:
    """Kept from the previous generation; a new index gets one shard per job (at most 8:
    every shard adds segments that each query has to visit)."""
    if base is not None:
        con = store.connect_ro(store.generation_dir(index_dir, base) / store.DB)
        try:
            row = con.execute("SELECT value FROM info WHERE key = 'shards'").fetchone()
        finally:
            con.close()
        if row:
            return int(row[0])
    return min(jobs or os.cpu_count() or 1, MAX_SHARDS)


# Work of the shard writers, inherited by the forked workers (nothing big is pickled):
# (shard path, create, ids to delete, ids to write); the documents are read from the store.
_WORK: dict[int, tuple[str, bool, list[str], list[str]]] = {}
_DB: Path | None = None  # the new generation's store
_DONE = None  # multiprocessing.Value: documents added so far, for the progress bar
# multiprocessing.SimpleQueue: each shard writer's (shard, mentions, signatures), sent when its
# documents are analyzed, before its commit (the store takes them meanwhile)
_SENT = None


def _write_shard(k: int) -> tuple[int, int, list[tuple], dict[str, bytes | None]]:
    """Delete and add one shard's documents with its own Whoosh writer.

    Returns (shard, documents added, mentions, story-grouping signatures); the mentions and
    signatures are empty when they went out through ``_SENT`` before the commit.
    """
    path, create, deletes, ids = _WORK[k]
    docs = _docs_of(_DB, ids)
    ix = whoosh_index.create_in(path, schema()) if create else whoosh_index.open_dir(path, schema=schema())
    lists = Path(path).parent.parent / termstore.STAGE  # the segments' decoded lists
    writer = BulkWriter(ix, lists)
    mentions: list[tuple] = []
    signatures: dict[str, bytes | None] = {}
    try:
        for doc_id in deletes:
            writer.delete_by_term("id", doc_id)
        for d in docs:
            if writer.added >= SEGMENT_DOCS:
                # Bound the batch held in memory: commit it as one segment, start the next
                # (without Whoosh's merge, which would re-add the big segments posting by posting).
                writer.commit(merge=False)
                postings.trim()  # a renumbering past its bound, rather here than within a batch
                writer = BulkWriter(ix, lists)
            analyzed = analyze_document(d.title, d.text)
            fields = {"id": d.id, **analyzed.postings}
            if d.date:
                # Filters, the month facet and date sorting use the day where the report was
                # written (the source's offset dropped, not applied); the store keeps the offset.
                fields["date"] = day = local(d.date)
                fields["month"] = month_of(day)
            if d.source:
                fields["source"] = d.source
            writer.add_document(**fields)
            mentions.extend((d.id, *m) for m in analyzed.mentions)
            signatures[d.id] = dedupe.doc_signature(d.title, d.text, hashes=analyzed.hashes)
            if _DONE is not None:
                with _DONE.get_lock():
                    _DONE.value += 1
        added = len(signatures)
        if _SENT is not None:
            _SENT.put((k, mentions, signatures))
            mentions, signatures = [], {}
    except BaseException:
        writer.cancel()
        raise
    writer.commit(merge=not create)  # an update may fold small old segments in (Whoosh's policy)
    return k, added, mentions, signatures


def _shard_surfaces(k: int) -> set[str]:
    return postings.surfaces(t for d in _docs_of(_DB, _WORK[k][3]) for t in (d.title or "", d.text or ""))


def _prime_words(ctx, jobs: int, busy: list[int], found: set[str] | None = None) -> None:
    """Analyze every new word of the batch once, split between ``jobs`` processes, into this
    process's word table, which the shard writers then inherit (fork).

    Each shard writer would otherwise analyze all of its shard's new words itself, and most
    words occur in every shard: on ANT's 30,337 articles two shards hold 167,842 and 166,167
    distinct forms, 230,692 together. First-time analysis of a word (~0.05 ms) is a large
    part of a build's CPU; tokenizing twice costs far less.

    The words go out in a few parts per process (words of one stem together,
    ``postings.share_words``), taken as processes come free: parts of one size still differ
    in cost. This process numbers each part's terms (``learn_words``) while the others
    are analyzed. ``found``: the batch's surface forms if the reading found them already
    (:class:`_Pending`), else a pass over the shards' texts finds them here.
    """
    with ctx.Pool(jobs, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
        if found is None:
            found = set().union(*pool.map(_shard_surfaces, busy))
        words = sorted(found - postings.known_words())
        parts = postings.share_words(words, 4 * jobs)
        analyzed = pool.imap(postings.word_levels, parts)
        # What only the shard writers need is loaded meanwhile, by this process, which has
        # time to spare while the others analyze (before they fork, a core would wait).
        _warm()
        for part, levels in zip(parts, analyzed, strict=True):
            postings.learn_words(part, levels)


def _die_with_parent(parent: int) -> None:
    """Pool initializer: a worker must not outlive a killed build.

    An orphaned shard writer would go on writing into a generation directory that
    the next run removes and may create again under the same number.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
        # zlib.compress allocates ~256 KB of state per call; above glibc's mmap threshold
        # that is a fresh mmap (and page faults) every time, ~20x the cost of compressing a
        # small posting block. Keep such allocations on the heap in the workers.
        libc.mallopt(-3, 8 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


_WARM_TEXT = "قالت مصادر إن قوات النظام انسحبت من مدينة حلب وريف إدلب بعد قصف الطيران"


def _warm_words() -> None:
    """Load what analyzing a new word reads (lexicon, root patterns, the tagger's name index)
    in this process before the word analyzers fork: each would otherwise load its own copy."""
    postings.word_levels(_WARM_TEXT.split())


def _warm() -> None:
    """Load the rest of the analyzers' tables (gazetteer, tagger rules, datasketch and the
    MinHash permutations) in this process before the shard writers fork: each would
    otherwise load its own copy."""
    dedupe.doc_signature("", _WARM_TEXT, hashes=analyze_document("الرقة", _WARM_TEXT).hashes)


def _write(  # noqa: PLR0917 - one private call site
    gdir: Path,
    nshards: int,
    create: bool,
    con: sqlite3.Connection,
    ids: list[str],
    removed: list[str],
    known: dict,
    jobs: int | None,
    progress: Progress | None,
    words: set[str] | None = None,
    on_signatures: Callable[[dict[str, bytes | None]], None] | None = None,
) -> None:
    """Write the shards (in worker processes) of the documents ``ids``, whose rows are in
    the store already, and the store's mentions; ``on_signatures`` gets the documents'
    signatures (story grouping) while the writers commit. ``words``: the surface forms of
    the documents ``ids``, if the reading found them."""
    global _DONE, _DB, _SENT  # noqa: PLW0603 - shared with the forked workers
    work: dict[int, tuple[str, bool, list[str], list[str]]] = {}
    for k in range(nshards):
        path = gdir / store.WHOOSH / str(k)
        path.mkdir(exist_ok=True)
        work[k] = (str(path), create, [], [])
    for doc_id in [*removed, *(i for i in ids if i in known)]:
        work[shard_of(doc_id, nshards)][2].append(doc_id)  # removed, or the old version of an update
    for doc_id in ids:
        work[shard_of(doc_id, nshards)][3].append(doc_id)
    busy = [k for k, (_p, c, dels, ds) in work.items() if c or dels or ds]
    # Every write to the store before the writers read it (read-only, as immutable).
    _write_store(con, ids, removed, known)
    con.commit()
    _WORK.clear()
    _WORK.update(work)
    _DB = gdir / store.DB
    jobs = min(jobs or os.cpu_count() or 1, len(busy))
    ctx = multiprocessing.get_context("fork")
    _DONE = ctx.Value("l", 0)
    sent: dict[int, tuple[list[tuple], dict[str, bytes | None]]] = {}

    def take(parts) -> None:
        """The store's part of the writers' output: mentions, then story grouping. Run once
        every writer has read and analyzed its documents (it no longer reads the store)."""
        con.executemany(
            'INSERT INTO mentions (doc_id, entity_id, kind, start, "end", field) VALUES (?, ?, ?, ?, ?, ?)',
            [m for mentions, _ in parts for m in mentions],
        )
        con.commit()
        if on_signatures is not None:
            on_signatures({i: sig for _, sigs in parts for i, sig in sigs.items()})

    pool = None
    try:
        if jobs > 1 and len(ids) > 50:
            _warm_words()
            _prime_words(ctx, jobs, busy, words)  # (which runs _warm meanwhile)
            # The word table and tables loaded so far are shared with the writers as forked: kept
            # out of the collector, whose passes would write to (and so copy) their pages.
            gc.freeze()
            _SENT = ctx.SimpleQueue()
            try:
                pool = ctx.Pool(jobs, initializer=_die_with_parent, initargs=(os.getpid(),))
            finally:
                gc.unfreeze()  # (the writers have forked; this process collects as before)
            pending = pool.map_async(_write_shard, busy, chunksize=1)
        else:
            pool, pending = None, None
        if pending is None:
            results = [_write_shard(k) for k in busy]  # small jobs: no processes to start
            take([(r[2], r[3]) for r in results])
        else:
            taken = False
            while True:
                done = pending.ready()  # before reading: a writer that has returned has sent
                while not _SENT.empty():
                    k, mentions, sigs = _SENT.get()
                    sent[k] = (mentions, sigs)
                if not taken and len(sent) == len(busy):
                    # Every writer is committing: the store takes their output meanwhile.
                    take(list(sent.values()))
                    taken = True
                    sent.clear()
                if done:
                    break
                if progress:
                    progress(_DONE.value, len(ids))
                pending.wait(0.2)
            results = pending.get()
            if not taken:  # (every writer sends before it returns: cannot happen)
                raise RuntimeError("shard writers finished without sending their documents' output")
            pool.close()
            pool.join()
        if progress:
            progress(len(ids), len(ids))
    finally:
        if pool is not None:
            pool.terminate()
        _WORK.clear()
        _DONE = _DB = _SENT = None
    added = sum(r[1] for r in results)
    if added != len(ids):
        raise RuntimeError(f"shard writers added {added} documents, expected {len(ids)}")


def _write_store(con: sqlite3.Connection, ids: list[str], removed: list[str], known: dict) -> None:
    """The document store's side of the build: the rows are in already (written as they were
    read); the removed documents go, and the old mentions of every rewritten one."""
    for doc_id in [*removed, *(i for i in ids if i in known)]:
        con.execute("DELETE FROM mentions WHERE doc_id = ?", (doc_id,))
    con.executemany("DELETE FROM docs WHERE id = ?", [(i,) for i in removed])


def _verify(gdir: Path, con: sqlite3.Connection, expected: int) -> int:
    """Whoosh and SQLite hold exactly the same ``expected`` documents, or raise."""
    with store.open_searcher(store.open_shards(gdir)) as s:
        w_ids = {f["id"] for f in s.reader().all_stored_fields()}
        w_count = s.doc_count()
    s_ids = {r[0] for r in con.execute("SELECT id FROM docs")}
    if not (w_count == len(w_ids) == len(s_ids) == expected and w_ids == s_ids):
        raise RuntimeError(
            f"verification failed: whoosh {w_count} docs, sqlite {len(s_ids)}, expected {expected} "
            "(the new generation was not published; the previous one is intact)"
        )
    return expected
