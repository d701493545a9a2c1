"""Saved searches: named searches stored beside the index, with what each has already reported.

They live in ``INDEX_DIR/saved.sqlite``, outside ``generations/``: a build replaces
generations, never this file. A saved search is the query string of a search page
(``q=قصف&place=sy-idlib&dedupe=1``); any URL of the search page can be saved as it is.

Tables (SQLite in WAL mode, ``synchronous=FULL``: a committed row survives a crash):

- ``searches(name, params, created)``;
- ``seen(name, key)``: the documents a search has reported (or matched when it was saved);
  for a search with ``dedupe=1``, every matching copy of a reported story;
- ``outbox(seq, name, key, event)``: events ``kashaf watch`` has planned and not yet seen
  delivered (the write-ahead state, see :mod:`indexer.watch`).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

DB = "saved.sqlite"
LOCK = "saved.lock"
# Parameters of the search page a saved search keeps; the others only change how a page shows.
KEEP = ("q", "op", "place", "group", "with_successors", "source", "from", "to", "dedupe")
IGNORED = ("lang", "sort", "limit", "offset")
REPEATABLE = ("place", "group", "source")
TRUE = ("1", "true", "yes", "on")

DDL = """
CREATE TABLE IF NOT EXISTS searches (name TEXT PRIMARY KEY, params TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (name TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (name, key));
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    event TEXT NOT NULL,
    UNIQUE (name, key)
);
"""


class SavedSearchError(ValueError):
    """A saved search that cannot be stored (bad name, parameters or query)."""


def connect(index_dir: Path | str) -> sqlite3.Connection:
    """The saved-search store of an index directory (created when missing)."""
    path = Path(index_dir)
    path.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path / DB, isolation_level=None, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.executescript(DDL)
    return con


def normalize_params(text: str) -> str:
    """The saved form of a search: its URL (or query string) with only the kept parameters.

    >>> normalize_params("/search?q=%D9%82%D8%B5%D9%81&place=sy-idlib&lang=en&offset=20")
    'q=%D9%82%D8%B5%D9%81&place=sy-idlib'
    """
    query = urlsplit(text).query if ("?" in text or "://" in text) else text
    pairs = parse_qsl(query, keep_blank_values=False)
    unknown = sorted({k for k, _ in pairs} - set(KEEP) - set(IGNORED))
    if unknown:
        raise SavedSearchError(f"unknown search parameter(s): {', '.join(unknown)}")
    kept = [(k, v) for k, v in pairs if k in KEEP]
    for k in {k for k, _ in kept if k not in REPEATABLE}:
        if sum(1 for key, _ in kept if key == k) > 1:
            raise SavedSearchError(f"parameter given more than once: {k}")
    if not kept:
        raise SavedSearchError("a saved search needs a query or a filter")
    return urlencode(kept)


def search_kwargs(params: str) -> dict:
    """Arguments of :func:`indexer.search.search` for a saved query string.

    >>> kw = search_kwargs("q=%D9%82%D8%B5%D9%81&place=sy-idlib&dedupe=1")
    >>> kw["query"], kw["place"], kw["dedupe"], kw["date_from"]
    ('قصف', ['sy-idlib'], True, None)
    """
    pairs = parse_qsl(params)
    one = dict(pairs)
    return {
        "query": one.get("q", ""),
        "op": one.get("op", "and"),
        "place": [v for k, v in pairs if k == "place"],
        "group": [v for k, v in pairs if k == "group"],
        "source": [v for k, v in pairs if k == "source"],
        "with_successors": one.get("with_successors", "").lower() in TRUE,
        "date_from": one.get("from") or None,
        "date_to": one.get("to") or None,
        "dedupe": one.get("dedupe", "").lower() in TRUE,
    }


def add(con: sqlite3.Connection, name: str, params: str, baseline: list[str]) -> None:
    """Store a search; ``baseline`` (what it matches now) counts as already reported."""
    if not name or len(name) > 200 or any(c in name for c in "\n\r\t"):
        raise SavedSearchError("a name is 1–200 characters on one line")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    con.execute("BEGIN IMMEDIATE")
    try:
        if con.execute("SELECT 1 FROM searches WHERE name = ?", (name,)).fetchone():
            raise SavedSearchError(f"a saved search named {name!r} exists (remove it first)")
        con.execute("INSERT INTO searches VALUES (?, ?, ?)", (name, params, now))
        con.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", [(name, k) for k in baseline])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def remove(con: sqlite3.Connection, name: str) -> bool:
    """Forget a search and its state; False when there was none."""
    con.execute("BEGIN IMMEDIATE")
    n = con.execute("DELETE FROM searches WHERE name = ?", (name,)).rowcount
    con.execute("DELETE FROM seen WHERE name = ?", (name,))
    con.execute("DELETE FROM outbox WHERE name = ?", (name,))
    con.execute("COMMIT")
    return bool(n)


def listing(con: sqlite3.Connection) -> list[dict]:
    """Every saved search: ``{name, params, url, created, reported, pending}``."""
    rows = con.execute(
        "SELECT s.name, s.params, s.created, "
        "(SELECT COUNT(*) FROM seen WHERE name = s.name), (SELECT COUNT(*) FROM outbox WHERE name = s.name) "
        "FROM searches s ORDER BY s.name"
    ).fetchall()
    return [
        {"name": n, "params": p, "url": f"/search?{p}", "created": c, "known": k, "pending": o}
        for n, p, c, k, o in rows
    ]


def event_payload(event: str) -> dict:
    """An outbox event as a dict."""
    return json.loads(event)
