"""``kashaf stats``: what an index holds and how it was last built."""

from __future__ import annotations

from indexer import store
from indexer.schema import TEXT_FIELDS


def index_stats(snap: store.Snapshot) -> dict:
    """Documents, distinct terms per text field, bytes on disk and the last build's record."""
    reader = snap.searcher().reader()
    terms = {f: sum(1 for _ in reader.lexicon(f)) for f in TEXT_FIELDS}
    row = snap.db.execute("SELECT * FROM builds ORDER BY generation DESC LIMIT 1").fetchone()
    return {
        "index": str(snap.index_dir),
        "generation": snap.generation,
        "documents": snap.db.execute("SELECT count(*) FROM docs").fetchone()[0],
        "terms": terms,
        "size_bytes": store.dir_size(store.generation_dir(snap.index_dir, snap.generation)),
        "last_build": dict(row) if row else None,
    }
