"""The index directory: immutable generations behind an atomically replaced ``CURRENT``.

Layout::

    INDEX_DIR/
      CURRENT              generation number of the published state ("7\\n")
      lock                 flock'ed by the one writer (``kashaf index``); holds its pid
      generations/7/       whoosh/<k>/ (Whoosh index shards) + docs.sqlite (document store) + COMPLETE
      generations/6/       the previous generation, kept for readers that still use it

Documents are spread over a fixed number of Whoosh indexes ("shards", by a hash
of the id) so that several processes can write at once; readers see them as one
index through a single searcher over all their segments.

A generation is never modified once ``CURRENT`` names it: a build writes a new
directory (hard links of the previous Whoosh files, which Whoosh writes once and
never rewrites, plus a copy of the SQLite file), verifies it, fsyncs it and only
then replaces ``CURRENT``. Readers use :func:`open_current` and never write.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import mmap
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.reading import MultiReader
from whoosh.searching import Searcher

CURRENT = "CURRENT"
GENERATIONS = "generations"
COMPLETE = "COMPLETE"
LOCK = "lock"
DB = "docs.sqlite"
WHOOSH = "whoosh"

DDL = """
CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    date TEXT,              -- ISO 8601 as the source gave it (its UTC offset kept), or NULL
    source TEXT,
    url TEXT,
    meta TEXT NOT NULL DEFAULT '{}',   -- JSON object: the input's other fields
    hash TEXT NOT NULL,     -- content hash: unchanged input is skipped
    path TEXT NOT NULL,     -- absolute path of the source file (for --prune)
    line INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_path ON docs(path);
CREATE TABLE IF NOT EXISTS mentions (
    doc_id TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    kind TEXT NOT NULL,     -- place | group
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    field TEXT NOT NULL     -- title | body
);
CREATE INDEX IF NOT EXISTS mentions_doc ON mentions(doc_id);
CREATE INDEX IF NOT EXISTS mentions_entity ON mentions(entity_id);
CREATE TABLE IF NOT EXISTS builds (
    generation INTEGER PRIMARY KEY,
    finished TEXT NOT NULL,
    seconds REAL NOT NULL,
    added INTEGER, updated INTEGER, unchanged INTEGER, removed INTEGER, failed INTEGER,
    documents INTEGER
);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class IndexNotFound(FileNotFoundError):
    """No published generation in the index directory."""


class IndexBusy(RuntimeError):
    """Another writer holds the lock."""


def current_generation(index_dir: Path) -> int | None:
    """The published generation number, or ``None``; one small read, cheap to poll."""
    try:
        return int((Path(index_dir) / CURRENT).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def generation_dir(index_dir: Path, n: int) -> Path:
    """Directory of generation ``n``."""
    return Path(index_dir) / GENERATIONS / str(n)


def generations(index_dir: Path) -> list[int]:
    """Numbers of every generation directory present, complete or not, ascending."""
    root = Path(index_dir) / GENERATIONS
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit())


def connect_ro(db_path: Path) -> sqlite3.Connection:
    """Read-only connection to a published (immutable) document store."""
    uri = Path(db_path).resolve().as_uri() + "?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True, check_same_thread=False)
    con.row_factory = sqlite3.Row
    return con


@dataclass
class Snapshot:
    """A consistent (Whoosh index, document store) pair of one generation."""

    index_dir: Path
    generation: int
    shards: list[whoosh_index.Index]
    db: sqlite3.Connection
    _searcher: Searcher | None = field(default=None, repr=False)
    # Data derived from this generation and kept while it is open (e.g. the export's columns).
    memo: dict = field(default_factory=dict, repr=False)
    # Set by prepare_fork(): the SQLite connection is closed and processes forked from this
    # one may keep the snapshot, each with a connection of its own (reconnect()).
    forkable: bool = field(default=False, repr=False)

    def changed(self) -> bool:
        """True when ``CURRENT`` names another generation (time to re-open)."""
        return current_generation(self.index_dir) != self.generation

    def prepare_fork(self) -> None:
        """Make the snapshot safe to inherit across ``fork()``: close the SQLite connection
        (none may cross a fork). Whoosh's files are memory-mapped (:func:`open_shards`), so
        reading them keeps no file offset that two processes would share."""
        self.searcher()
        self.db.close()
        self.forkable = True

    def reconnect(self) -> None:
        """Open this process's own connection to the document store (after a fork)."""
        self.db = connect_ro(generation_dir(self.index_dir, self.generation) / DB)

    def searcher(self) -> Searcher:
        """One shared Whoosh searcher over every shard, scored with global statistics."""
        if self._searcher is None:
            self._searcher = open_searcher(self.shards)
        return self._searcher

    def close(self) -> None:
        """Release the searcher and the database connection."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        self.db.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_current(index_dir: Path | str) -> Snapshot:
    """Open the published generation for reading.

    Retries when a writer's garbage collection removed the generation between
    reading ``CURRENT`` and opening it (it then names a newer one).
    """
    index_dir = Path(index_dir)
    for _ in range(5):
        n = current_generation(index_dir)
        if n is None:
            raise IndexNotFound(f"no index in {index_dir} (run `kashaf index` first)")
        gdir = generation_dir(index_dir, n)
        try:
            db = connect_ro(gdir / DB)
            db.execute("SELECT 1 FROM docs LIMIT 1")
            shards = open_shards(gdir)
        except (OSError, sqlite3.Error, whoosh_index.EmptyIndexError):
            if current_generation(index_dir) == n:
                raise
            continue
        return Snapshot(index_dir, n, shards, db)
    raise IndexNotFound(f"{index_dir}: CURRENT keeps changing; try again")


def shard_dirs(gdir: Path) -> list[Path]:
    """The Whoosh shard directories of a generation, in shard order."""
    return sorted((p for p in (Path(gdir) / WHOOSH).iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


class _View:
    """A read-only file over a window of a memory map: its own position, no copy of the data
    (each read copies only the bytes asked for)."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def read(self, n: int | None = -1) -> bytes:
        end = len(self.buf) if n is None or n < 0 else min(self.pos + n, len(self.buf))
        out = bytes(self.buf[self.pos : end])
        self.pos = max(self.pos, end)
        return out

    def readline(self, limit: int = -1) -> bytes:  # pickle.load reads lines too
        rest = self.buf[self.pos :]
        cut = bytes(rest[: 1 << 16]).find(b"\n") if len(rest) else -1
        n = len(rest) if cut < 0 else cut + 1
        return self.read(n if limit is None or limit < 0 else min(n, limit))

    def seek(self, pos: int, whence: int = 0) -> int:
        base = (0, self.pos, len(self.buf))[whence]
        self.pos = base + pos
        return self.pos

    def tell(self) -> int:
        return self.pos

    def close(self) -> None:
        # The map is unmapped when the last view of it is garbage (Snapshot, web/state.py).
        self.buf = memoryview(b"")


class _MappedFile(StructFile):
    """Whoosh's StructFile over a :class:`_View`. A part of it (a compound segment's
    postings, terms, columns: ``subset``) is another view of the same pages, where Whoosh's
    own ``BufferFile`` copies the part into a ``BytesIO`` — the whole index, into every
    process that opens it."""

    def subset(self, offset: int, length: int, name: str | None = None) -> _MappedFile:
        return _MappedFile(_View(self.file.buf[offset : offset + length]), name=name)

    def get(self, position: int, length: int) -> bytes:
        return bytes(self.file.buf[position : position + length])


class MmapStorage(FileStorage):
    """Whoosh's file storage with every file read through a read-only memory map.

    Whoosh reads a file by seeking and reading; over a plain file descriptor the offset
    belongs to the open file, which a forked process shares with its parent, so two
    workers reading one inherited index would move each other's offsets. A view of a map
    keeps its position in the process's own memory, and the pages are the OS page
    cache's: every worker reads the same physical pages, none holds a copy. (Whoosh's own
    compound-segment reader copies each part of a segment into memory: 260 MB per process
    for the 30,337-article index.) An open map keeps the file readable after a writer's
    garbage collection unlinks it, like a descriptor.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path, readonly=True)

    def open_file(self, name: str, **kwargs) -> StructFile:
        with open(self._fpath(name), "rb") as f:
            try:
                data = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
            except ValueError:  # an empty file cannot be mapped
                data = memoryview(b"")
        return _MappedFile(_View(data), name=name, **kwargs)


def open_shards(gdir: Path) -> list[whoosh_index.Index]:
    """Every shard of a generation, read-only, its files memory-mapped (:class:`MmapStorage`)."""
    shards = []
    for d in shard_dirs(gdir):
        shards.append(MmapStorage(str(d)).open_index())
    if not shards:
        raise whoosh_index.EmptyIndexError(f"no Whoosh shard in {gdir}")
    return shards


def open_searcher(shards: list[whoosh_index.Index]) -> Searcher:
    """One searcher over all shards: their segment readers joined like one multi-segment index,
    so BM25F statistics (document frequencies, field lengths) are global."""
    if len(shards) == 1:
        return shards[0].searcher()
    leaves = [leaf for ix in shards for leaf, _base in ix.reader().leaf_readers()]
    return Searcher(MultiReader(leaves))


@contextlib.contextmanager
def write_lock(index_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Exclusive writer lock (``flock`` on INDEX_DIR/lock), waiting up to ``wait`` seconds.

    The kernel drops the lock when the holder dies, so a killed run never leaves a stale lock.
    """
    path = Path(index_dir) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise IndexBusy(
                        f"{index_dir} is being written by another `kashaf index` (pid {holder}); "
                        f"waited {wait:g} s (use --wait SECONDS to wait longer)"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (and ``root`` itself)."""
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            _fsync_path(Path(dirpath) / f)
        _fsync_path(Path(dirpath), directory=True)


def create_db(db_path: Path) -> sqlite3.Connection:
    """A new, empty document store for a generation being built."""
    con = sqlite3.connect(db_path)
    con.executescript(DDL)
    return con


def open_build_db(db_path: Path) -> sqlite3.Connection:
    """Writable connection to an unpublished generation's store.

    No journal and no syncs: durability comes from the fsync before publishing,
    and a crash leaves an unpublished generation that is simply discarded.
    """
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.executescript(DDL)
    return con


def start_generation(
    index_dir: Path, base: int | None, floor: int = 0
) -> tuple[int, Path, dict[str, tuple[int, int, int]]]:
    """Create the next generation directory, seeded from generation ``base``.

    Returns its number, its path and ``{file: (inode, size, mtime_ns)}`` of the
    hard-linked Whoosh files, to check after the build that none was rewritten.
    Numbers above ``floor`` (the highest seen before leftovers were collected) are
    never reused, so nothing that still holds an old path can write into this one.
    """
    n = max([*generations(index_dir), current_generation(index_dir) or 0, floor]) + 1
    gdir = generation_dir(index_dir, n)
    (gdir / WHOOSH).mkdir(parents=True)
    linked: dict[str, tuple[int, int, int]] = {}
    if base is not None:
        src = generation_dir(index_dir, base)
        for shard in shard_dirs(src):
            (gdir / WHOOSH / shard.name).mkdir()
            for f in sorted(shard.iterdir()):
                # Whoosh's lock files and temp dirs belong to one writer, never to the index.
                if not f.is_file() or f.name.endswith("LOCK"):
                    continue
                name = f"{shard.name}/{f.name}"
                os.link(f, gdir / WHOOSH / name)
                st = f.stat()
                linked[name] = (st.st_ino, st.st_size, st.st_mtime_ns)
        src_db = connect_ro(src / DB)
        dst_db = sqlite3.connect(gdir / DB)
        try:
            src_db.backup(dst_db)
        finally:
            src_db.close()
            dst_db.close()
    return n, gdir, linked


def check_links_untouched(gdir: Path, linked: dict[str, tuple[int, int, int]]) -> None:
    """Raise if Whoosh rewrote a hard-linked file in place (it would alter the previous generation)."""
    for name, (ino, size, mtime) in linked.items():
        p = gdir / WHOOSH / name
        if not p.exists():
            continue  # merged away and deleted: only our link is gone
        st = p.stat()
        if st.st_ino == ino and (st.st_size, st.st_mtime_ns) != (size, mtime):
            raise RuntimeError(f"Whoosh modified {name} in place: the previous generation is damaged")


def publish(index_dir: Path, n: int, summary: dict) -> None:
    """Make generation ``n`` the current one: COMPLETE marker, fsync, atomic CURRENT swap."""
    gdir = generation_dir(index_dir, n)
    (gdir / COMPLETE).write_text(json.dumps(summary) + "\n")
    fsync_tree(gdir)
    _fsync_path(gdir.parent, directory=True)
    tmp = Path(index_dir) / f".{CURRENT}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(f"{n}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, Path(index_dir) / CURRENT)
    _fsync_path(Path(index_dir), directory=True)


def collect_garbage(index_dir: Path) -> list[int]:
    """Remove every generation except the current one and the newest complete one before it.

    Incomplete generations (a killed build) go too. Call with the write lock held.
    Readers that still have a removed generation open keep reading it (POSIX unlink).
    """
    cur = current_generation(index_dir)
    keep = set()
    if cur is not None:
        keep.add(cur)
        older = [
            g
            for g in generations(index_dir)
            if g < cur and (generation_dir(index_dir, g) / COMPLETE).exists()
        ]
        if older:
            keep.add(older[-1])
    removed = [g for g in generations(index_dir) if g not in keep]
    for g in removed:
        shutil.rmtree(generation_dir(index_dir, g), ignore_errors=True)
    for tmp in Path(index_dir).glob(f".{CURRENT}.*.tmp"):
        tmp.unlink(missing_ok=True)
    return removed


def dir_size(path: Path) -> int:
    """Bytes used by the files under ``path`` (each inode counted once)."""
    seen, total = set(), 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            st = os.stat(Path(dirpath) / f)
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total
