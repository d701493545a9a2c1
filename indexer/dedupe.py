"""Near-duplicate groups: copies of one story (a wire dispatch re-published by many outlets).

At index time every report gets a MinHash signature (``datasketch``) of its body's
word shingles, taken on normalized forms so that diacritics, hamza shapes and
tatweel do not make two copies differ. Signatures are cut into LSH bands
(``datasketch``'s optimal banding for the threshold); the bands live in the
generation's SQLite store, so a new report is compared only with the reports that
share a band and joins the group of its most similar one — no rebuild, and nothing
is held in memory between builds. A report whose best candidate's estimated Jaccard
similarity is below :data:`THRESHOLD` founds a new group; a group's id is the id of
the report that founded it (the earliest one indexed).

At search time :func:`groups` gives every document number its group as an integer
array (one per open index, like the ranking engine's columns), so ``dedupe=1`` can
collapse a matched mask to one representative per group (:func:`representatives`)
and count facets by groups (:func:`facet_counts`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from functools import lru_cache

import numpy as np
from whoosh.searching import Searcher

from analyzers.normalize import normalize
from analyzers.tokenize import TOKEN_RE

NUM_PERM = 128
THRESHOLD = 0.5  # estimated Jaccard similarity of shingle sets to count as one story
SHINGLE = 4  # words per shingle
MIN_WORDS = 8  # shorter bodies (and titles) never join a group: too little text to tell copies apart
# Candidates from shared bands are checked against THRESHOLD anyway: weigh missed pairs 4× false candidates.
# datasketch's optimal banding for these (``_optimal_param(THRESHOLD, NUM_PERM, 0.2, 0.8)``,
# which ``tests/test_dedupe.py`` checks), written out: datasketch's package imports scipy
# (0.27 s and ~43 MB) into every process that imports it, and this module is imported by
# every web worker and CLI run. datasketch is imported on first signing (:func:`_sketch`),
# by a build before its shard writers fork.
BANDS, ROWS = 30, 4
ENABLED = True  # benchmarks switch it off to time a build without it
KEY_CHUNK = 65_536  # signatures whose band keys are computed at once (~130 MB of scratch)

DDL = """
CREATE TABLE IF NOT EXISTS dedupe (
    doc_id TEXT PRIMARY KEY,
    grp TEXT NOT NULL,      -- group id: the id of the report that founded the group
    sig BLOB                -- MinHash signature, NUM_PERM uint32; NULL: too short to compare
);
CREATE INDEX IF NOT EXISTS dedupe_grp ON dedupe(grp);
CREATE TABLE IF NOT EXISTS dedupe_bands (
    key INTEGER NOT NULL,   -- band_keys() of the document's signature
    doc_id TEXT NOT NULL,
    PRIMARY KEY (key, doc_id)
) WITHOUT ROWID;
"""
# The bands are one B-tree ordered by key (what grouping looks up), without a rowid table
# and an index on each column beside it: 36 instead of 85 MB for ANT's 30,337 documents,
# 1.29 instead of 2.86 GB at a million. A document's rows are found again from its signature (its
# keys), so no index by document is kept. Stores made before (a rowid table, two indexes)
# are converted on their next build (``ensure``).

_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd: a word's place in its shingle changes the sum


def text_words(text: str) -> list[str]:
    """The normalized words of ``text``, as the exact level indexes them (the analyzers'
    tokens, each normalized): what a signature is taken on.

    >>> text_words("قصفت الطائراتُ مدينة إدلب")
    ['قصفت', 'الطاءرات', 'مدينه', 'ادلب']
    """
    return list(map(normalize, TOKEN_RE.findall(text)))


def story_words(title_words: Sequence, body_words: Sequence) -> Sequence:
    """The words a report's signature is taken on: the body carries the story (a re-titled
    copy must still match); a report with fewer than :data:`MIN_WORDS` body words adds its title.

    >>> len(story_words(["عنوان"], ["قصف"] * 8)), len(story_words(["عنوان"], ["قصف"]))
    (8, 2)
    """
    return body_words if len(body_words) >= MIN_WORDS else np.concatenate((title_words, body_words))


def word_hashes(words: Sequence[str]) -> np.ndarray:
    """Each word's CRC-32 (of its UTF-8), what shingles are made of; the indexer's word table
    keeps them (``indexer.postings``).

    >>> int(word_hashes(["قصف"])[0]) == zlib.crc32("قصف".encode())
    True
    """
    return np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint32, count=len(words))


def shingle_hashes(words: Sequence[str], k: int = SHINGLE) -> np.ndarray:
    """One 32-bit hash per ``k``-word shingle of ``words`` (repeats included: a MinHash takes
    the minimum over them, which repeats do not change): each word's CRC-32 once, then
    every window of ``k`` of them combined with numpy, instead of a joined string per shingle.

    >>> h = shingle_hashes(["قصف", "حلب", "قصف", "حلب"], 2)
    >>> len(h), bool(h[0] == h[2]), bool(h[0] == h[1])
    (3, True, False)
    """
    return _shingles(word_hashes(words), k)


def _shingles(hashes: np.ndarray, k: int = SHINGLE) -> np.ndarray:
    """:func:`shingle_hashes` of the words whose :func:`word_hashes` are ``hashes``."""
    n = len(hashes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    w = hashes.astype(np.uint64)
    h = w[:n].copy()
    for j in range(1, k):
        h = h * _MIX + w[j : j + n]  # wraps modulo 2**64, as meant
    return (h >> np.uint64(32)) ^ (h & np.uint64(0xFFFFFFFF))


def signature_of(words: Sequence[str]) -> np.ndarray | None:
    """The MinHash signature (``NUM_PERM`` uint32) of normalized ``words``, ``None`` when
    there are fewer than :data:`MIN_WORDS`."""
    if len(words) < MIN_WORDS:
        return None
    return _minhash(shingle_hashes(words))


def _minhash(shingles: np.ndarray) -> np.ndarray:
    """``update_batch`` of a fresh datasketch MinHash (:func:`_permutations`) with the shingle
    hashes, as uint32. Its CPU path, with the hashes handed over as one array: ``update_batch``
    calls ``hashfunc`` on each value in Python, which cost half of signing a report (49 µs →
    26 µs for 240 shingles). ``tests/test_dedupe.py`` checks the values equal datasketch's."""
    a, b, init, dtype, width, fmix = _sketch()
    if not len(shingles):
        return init.astype(np.uint32)
    hv = fmix(shingles.astype(dtype).reshape(-1, 1), width)  # 32-bit values (``_shingles``)
    return np.minimum(init, (hv * a + b).min(axis=0)).astype(np.uint32)


@lru_cache(maxsize=1)
def _sketch() -> tuple[np.ndarray, np.ndarray, np.ndarray, type, int, Callable]:
    """The permutations ``(a, b)`` of the signatures' MinHash, its initial values, the dtype and
    width of its scheme (affine32 in datasketch 2), and datasketch's finalizer of the hashes."""
    from datasketch import MinHash
    from datasketch.minhash import _SCHEME_WIDTHS, _fmix

    perms, scheme = _permutations()
    m = MinHash(num_perm=NUM_PERM, hashfunc=int, permutations=perms, scheme=scheme)
    a, b = m.permutations
    return a, b, m.hashvalues.copy(), m.hashvalues.dtype.type, _SCHEME_WIDTHS[scheme], _fmix


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of ``text``'s words (:func:`signature_of`).

    >>> a = signature("أعلنت وزارة الدفاع الروسية اليوم أن طائراتها قصفت مواقع في ريف إدلب الجنوبي")
    >>> b = signature("اعلنت وزارة الدفاع الروسية اليوم ان طائراتها قصفت مواقع في ريف ادلب الجنوبي")
    >>> bool((a == b).all())
    True
    """
    return signature_of(text_words(text))


@lru_cache(maxsize=1)
def _permutations():
    # The same permutations for every signature (datasketch draws them from seed 1), made once:
    # drawing them costs more than hashing a report's shingles.
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM)
    return m.permutations, m.scheme


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures (share of equal slots)."""
    return float(np.count_nonzero(a == b)) / len(a)


def band_keys(sigs: np.ndarray) -> np.ndarray:
    """One signed 64-bit key per LSH band of each signature (rows of ``sigs``): the band's
    number and its rows hashed together (a splitmix64 finalizer), every band of every row at once.

    >>> a = signature("أعلنت وزارة الدفاع الروسية اليوم أن طائراتها قصفت مواقع في ريف إدلب الجنوبي")
    >>> b = a.copy(); b[0] += 1  # the first band differs, the others agree
    >>> k = band_keys(np.stack([a, b]))
    >>> k.shape == (2, BANDS), bool(k[0, 0] != k[1, 0]), bool((k[0, 1:] == k[1, 1:]).all())
    (True, True, True)
    """
    rows = np.ascontiguousarray(sigs[:, : BANDS * ROWS], dtype=np.uint64).reshape(len(sigs), BANDS, ROWS)
    h = np.broadcast_to(np.arange(1, BANDS + 1, dtype=np.uint64) * _MIX, rows.shape[:2]).copy()
    for r in range(ROWS):  # multiplications wrap modulo 2**64, as meant
        h ^= rows[:, :, r]
        h *= _MIX
        h ^= h >> np.uint64(31)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h.view(np.int64)


def doc_signature(
    title: str,
    body: str,
    words: tuple[Sequence[str], Sequence[str]] | None = None,
    hashes: tuple[np.ndarray, np.ndarray] | None = None,
) -> bytes | None:
    """The signature :func:`update` gives a document, as bytes (``None``: too short; or
    grouping is switched off), for the build's worker processes to compute. ``words``: the
    title's and body's normalized words when the caller has them (``analyze_document``),
    and ``hashes`` their :func:`word_hashes`.

    >>> doc_signature("", "قصف") is None
    True
    """
    if not ENABLED:
        return None
    sig = report_signature(title, body, words, hashes)
    return None if sig is None else sig.tobytes()


def report_signature(
    title: str,
    body: str,
    words: tuple[Sequence[str], Sequence[str]] | None = None,
    hashes: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray | None:
    """A report's signature: the MinHash (as :func:`signature_of`) of its :func:`story_words`
    (``None`` when fewer than :data:`MIN_WORDS`). ``hashes``: the title's and body's
    :func:`word_hashes` when the caller has them (the indexer's word table keeps them), else
    made from ``words``, the normalized words, else from the texts."""
    if hashes is None:
        if words is None:
            words = (text_words(title or ""), text_words(body or ""))
        hashes = (word_hashes(words[0]), word_hashes(words[1]))
    story = story_words(*hashes)
    return _minhash(_shingles(story)) if len(story) >= MIN_WORDS else None


def ensure(con: sqlite3.Connection) -> None:
    """Create the tables (an index built before grouping existed gets them on its next build),
    and convert a bands table of the earlier layout (:func:`_rebuild_bands`)."""
    con.executescript(DDL)
    row = con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'dedupe_bands'"
    ).fetchone()
    if row and "WITHOUT ROWID" not in row[0].upper():
        _rebuild_bands(con)


def _rebuild_bands(con: sqlite3.Connection) -> None:
    """The bands table made anew in this layout from the stored signatures: every row is
    then what :func:`band_keys` gives (which deleting a document's rows by its keys relies
    on), whatever an earlier version wrote; then the store is vacuumed, or the pages of the
    old table and its two indexes would stay in the file as free pages (1.6 GB at a million
    documents). Once per index, on its first build after the change: 59 s and 30 s for the
    vacuum at a million documents. The signatures are read ``KEY_CHUNK`` at a time."""
    con.execute("DROP TABLE dedupe_bands")  # its two indexes go with it
    con.executescript(DDL)
    rows = con.execute("SELECT doc_id, sig FROM dedupe WHERE sig IS NOT NULL ORDER BY doc_id")
    while part := rows.fetchmany(KEY_CHUNK):
        _insert_bands(con, [d for d, _ in part], band_keys(_signatures(s for _, s in part)))
    con.commit()
    try:
        con.execute("VACUUM")
    except sqlite3.OperationalError:
        # (VACUUM writes a copy of the store to SQLite's temporary directory first, which may
        # lack the room.) The store is whole without it: SQLite reuses the free pages.
        pass


def _insert_bands(con: sqlite3.Connection, ids: Sequence[str], keys: np.ndarray) -> None:
    """Insert the band rows of documents ``ids`` (``keys``: their :func:`band_keys`), sorted
    by key and then id, the table's own order: the B-tree is then filled from left to right
    instead of at random places (SQLite compares text as UTF-8 bytes, which order as Python
    orders the strings). The rows go to SQLite ``_BAND_ROWS`` at a time: as Python lists,
    a million documents' 30 million rows would take gigabytes."""
    if not len(ids):
        return
    rank = np.empty(len(ids), dtype=np.int32)
    rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids), dtype=np.int32)
    width = keys.shape[1]
    flat = keys.ravel()
    order = np.lexsort((np.repeat(rank, width), flat))  # by key, then id
    for s in range(0, len(order), _BAND_ROWS):
        o = order[s : s + _BAND_ROWS]
        con.executemany(
            # OR IGNORE: two bands of one document with one 64-bit key (a hash collision) are one row
            "INSERT OR IGNORE INTO dedupe_bands VALUES (?, ?)",
            zip(flat[o].tolist(), map(ids.__getitem__, (o // width).tolist()), strict=True),
        )


_BAND_ROWS = 1 << 20


def _forget(con: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Delete the grouping rows of documents ``ids``: their band rows, whose keys come from
    their stored signatures (a document without one has no bands), then their own rows."""
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        found = con.execute(
            f"SELECT doc_id, sig FROM dedupe WHERE sig IS NOT NULL AND doc_id IN ({marks})", part
        ).fetchall()
        if found:
            keys = band_keys(_signatures(s for _, s in found))
            con.executemany(
                "DELETE FROM dedupe_bands WHERE key = ? AND doc_id = ?",
                ((k, doc_id) for (doc_id, _), row in zip(found, keys.tolist(), strict=True) for k in row),
            )
        con.execute(f"DELETE FROM dedupe WHERE doc_id IN ({marks})", part)


def _signatures(blobs: Iterable[bytes]) -> np.ndarray:
    """Stored signatures (``dedupe.sig``) as the rows of one uint32 array."""
    return np.frombuffer(b"".join(blobs), dtype=np.uint32).reshape(-1, NUM_PERM)


def update(
    con: sqlite3.Connection,
    changed: Iterable[str],
    log: Callable[[str], None] | None = None,
    signatures: dict[str, bytes | None] | None = None,
) -> dict:
    """Regroup after a build wrote ``changed`` (added, updated or removed ids) into ``con``.

    Rows of changed and removed documents are dropped; then every document without a row
    (the changed ones, and all of an index built before grouping) is signed and joins the
    group of its most similar earlier report, in date order. Returns counts and seconds.
    ``signatures`` (``doc_signature`` of a document, computed by the build's analysis
    workers) saves signing those documents here.
    """
    t0, c0 = time.monotonic(), time.process_time()
    ensure(con)
    if not ENABLED:
        return {"signed": 0, "joined": 0, "seconds": 0.0, "cpu": 0.0}
    _forget(con, list(dict.fromkeys(changed)))
    # Ids only, in date order: texts are read below only for the documents the build's
    # workers did not sign (a million bodies at once would be gigabytes).
    todo = [
        r[0]
        for r in con.execute(
            "SELECT id FROM docs WHERE id NOT IN (SELECT doc_id FROM dedupe) ORDER BY date IS NULL, date, id"
        )
    ]
    signatures = signatures or {}
    sigs = np.zeros((len(todo), NUM_PERM), dtype=np.uint32)
    signed = np.zeros(len(todo), dtype=bool)
    unsigned = []
    for i, doc_id in enumerate(todo):
        if doc_id not in signatures:
            unsigned.append(i)
        elif (sig := signatures[doc_id]) is not None:
            sigs[i] = np.frombuffer(sig, dtype=np.uint32)
            signed[i] = True
    for c in range(0, len(unsigned), 500):
        part = unsigned[c : c + 500]
        marks = ",".join("?" * len(part))
        texts = {
            r[0]: (r[1], r[2])
            for r in con.execute(
                f"SELECT id, title, body FROM docs WHERE id IN ({marks})", [todo[i] for i in part]
            )
        }
        for i in part:
            title, body = texts[todo[i]]
            sig = report_signature(title, body)
            if sig is not None:
                sigs[i] = sig
                signed[i] = True
    rows = np.flatnonzero(signed)
    keys = np.empty((len(rows), BANDS), dtype=np.int64)
    for c in range(0, len(rows), KEY_CHUNK):  # a chunk's 64-bit copy, not a million documents'
        keys[c : c + KEY_CHUNK] = band_keys(sigs[rows[c : c + KEY_CHUNK]])
    grp, joined = _group(con, todo, sigs, rows, keys)
    _insert_bands(con, [todo[i] for i in rows.tolist()], keys)
    con.executemany(
        "INSERT INTO dedupe VALUES (?, ?, ?)",
        ((doc_id, grp[i], sigs[i].tobytes() if signed[i] else None) for i, doc_id in enumerate(todo)),
    )
    seconds = time.monotonic() - t0
    if log and todo:
        log(f"grouped {len(todo)} document(s): {joined} joined an existing story, in {seconds:.1f} s")
    return {"signed": len(todo), "joined": joined, "seconds": seconds, "cpu": time.process_time() - c0}


def _group(
    con: sqlite3.Connection, todo: list[str], sigs: np.ndarray, rows: np.ndarray, keys: np.ndarray
) -> tuple[list[str], int]:
    """The group of each document of ``todo`` (ids in date order) and how many joined one.

    A document joins the group of its most similar earlier report among those sharing an
    LSH band with it (similarity at least :data:`THRESHOLD`; ties: the smaller id), else
    founds its own. ``sigs``: the signatures of ``todo``; ``rows``: the positions of the
    signed ones, ``keys`` their band keys. Earlier reports: those of ``todo`` before it, and
    every report grouped by an earlier build.

    Candidates come from one sort of all band keys (about 30 bytes per band and document)
    instead of a dict of each band's members (~3 KB per document, gigabytes at a million);
    they are the same: for a document, the members of each of its bands that precede it.
    """
    grp = list(todo)
    n = len(rows)
    if not n:
        return grp, 0
    # Reports grouped by earlier builds that share a band with this batch come first.
    old_key: list[int] = []
    old_doc: list[str] = []
    if con.execute("SELECT 1 FROM dedupe_bands LIMIT 1").fetchone():
        wanted = np.unique(keys).tolist()
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            for key, other in con.execute(
                f"SELECT key, doc_id FROM dedupe_bands WHERE key IN ({marks})", part
            ):
                old_key.append(key)
                old_doc.append(other)
    old_ids = list(dict.fromkeys(old_doc))
    old_pos = {d: j for j, d in enumerate(old_ids)}
    m = len(old_ids)
    old_grp = [""] * m
    old_sig = np.zeros((m, NUM_PERM), dtype=np.uint32)
    for i in range(0, m, 500):
        part = old_ids[i : i + 500]
        marks = ",".join("?" * len(part))
        for other, other_grp, other_sig in con.execute(
            f"SELECT doc_id, grp, sig FROM dedupe WHERE doc_id IN ({marks})", part
        ):
            j = old_pos[other]
            old_grp[j] = other_grp
            old_sig[j] = np.frombuffer(other_sig, dtype=np.uint32)
    # One numbering: the old reports 0..m-1, then m + each document's position in ``todo``.
    member = np.concatenate(
        [
            np.fromiter((old_pos[d] for d in old_doc), dtype=np.int32, count=len(old_doc)),
            np.repeat((rows + m).astype(np.int32), BANDS),
        ]
    )
    del old_doc, old_pos
    flat = np.concatenate([np.array(old_key, dtype=np.int64), keys.ravel()])
    # Stable: within a key, the old reports, then the batch in date order (earlier first).
    order = np.argsort(flat, kind="stable")
    skey = flat[order]
    del flat
    smember = member[order]
    del member
    starts = np.ones(len(skey), dtype=bool)
    starts[1:] = skey[1:] != skey[:-1]
    del skey
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(starts)), 0))
    del starts
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    del order
    hi = inverse[len(old_key) :].reshape(n, BANDS)  # each band of each batch document, sorted position
    del inverse
    lo = run_start[hi]  # ... and where its band's members start: those in [lo, hi) precede it
    del run_start
    need = -(-THRESHOLD * NUM_PERM // 1)  # equal slots for similarity >= THRESHOLD
    ids = old_ids + todo
    groups = old_grp + grp  # grp[i] is final once document i is passed
    joined = 0
    rows_list = rows.tolist()
    for b in np.flatnonzero((hi > lo).any(axis=1)).tolist():
        spans = [smember[s:e] for s, e in zip(lo[b].tolist(), hi[b].tolist(), strict=True) if e > s]
        cands = np.unique(np.concatenate(spans)) if len(spans) > 1 else np.sort(spans[0])
        i = rows_list[b]
        k = int(np.searchsorted(cands, m))  # cands[:k] are old reports, the rest of this batch
        same = np.concatenate(
            [
                np.count_nonzero(old_sig[cands[:k]] == sigs[i], axis=1),
                np.count_nonzero(sigs[cands[k:] - m] == sigs[i], axis=1),
            ]
        )
        top = int(same.max())
        if top < need:
            continue
        best = cands[same == top].tolist()
        c = best[0] if len(best) == 1 else min(best, key=ids.__getitem__)
        groups[m + i] = groups[c]
        joined += 1
    return groups[m:], joined


def has_groups(db: sqlite3.Connection) -> bool:
    """Whether this store was grouped (built by a version that groups)."""
    return bool(db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dedupe'").fetchone())


def group_of(db: sqlite3.Connection, doc_id: str) -> str:
    """A document's group id (its own id when it has none)."""
    if not has_groups(db):
        return doc_id
    row = db.execute("SELECT grp FROM dedupe WHERE doc_id = ?", (doc_id,)).fetchone()
    return row[0] if row else doc_id


def members(db: sqlite3.Connection, grp: str) -> list[dict]:
    """Every report of a group, oldest first: ``{id, title, date, source, url}``."""
    if not has_groups(db):
        return []
    rows = db.execute(
        "SELECT d.id, d.title, d.date, d.source, d.url FROM dedupe g JOIN docs d ON d.id = g.doc_id "
        "WHERE g.grp = ? ORDER BY d.date IS NULL, d.date, d.id",
        (grp,),
    ).fetchall()
    return [dict(zip(("id", "title", "date", "source", "url"), r, strict=True)) for r in rows]


def document_group(db: sqlite3.Connection, doc_id: str) -> dict:
    """``{"group", "group_members"}`` for a document's JSON (members oldest first, itself included)."""
    grp = group_of(db, doc_id)
    found = members(db, grp)
    if not found:  # an index built before grouping: the report alone
        row = db.execute("SELECT id, title, date, source, url FROM docs WHERE id = ?", (doc_id,)).fetchone()
        found = [dict(zip(("id", "title", "date", "source", "url"), row, strict=True))] if row else []
    return {"group": grp, "group_members": found}


# --- search time ------------------------------------------------------------------------

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class Groups:
    """Per open index: each document number's group as an integer code (equal codes: one story)."""

    def __init__(self, code: np.ndarray) -> None:
        self.code = code


def group_codes(reader, db: sqlite3.Connection) -> np.ndarray:
    """Each document number's group as an integer: documents of one story share a code,
    every other document has one of its own (a deleted one too: ``n + docnum``).

    The build writes it with the engine's arrays (indexer/arrays.py), so a search maps it;
    an index without them computes it here: a million documents take ~6 s and leave
    ~140 MB of freed small objects in the process (the dict of a million ids).
    """
    grp_of = dict(db.execute("SELECT doc_id, grp FROM dedupe")) if has_groups(db) else {}
    n = reader.doc_count_all()
    code = np.arange(n, dtype=np.int64) + n
    names: dict[str, int] = {}
    for docnum, fields in reader.iter_docs():
        doc_id = fields["id"]
        code[docnum] = names.setdefault(grp_of.get(doc_id, doc_id), len(names))
    return code


def groups(searcher: Searcher, db: sqlite3.Connection) -> Groups:
    """The :class:`Groups` of a searcher's index (cached while its reader lives): the build's
    mapped array, else computed (:func:`group_codes`)."""
    from indexer.ranking import corpus

    reader = searcher.reader()
    with _lock:
        found = _cache.get(reader)
        if found is not None:
            return found
    mapped = corpus(searcher).mapped
    code = mapped.groups() if mapped is not None else None
    found = Groups(group_codes(reader, db) if code is None else code)
    with _lock:
        _cache[reader] = found
    return found


def representatives(
    g: Groups, mask: np.ndarray, score: np.ndarray, dates: np.ndarray | None = None
) -> np.ndarray:
    """``mask`` with only each group's first document in the result order (by score, or by
    date newest first then score; ties by document number), as :func:`indexer.ranking.top`."""
    cand = np.flatnonzero(mask)
    out = np.zeros_like(mask)
    if not len(cand):
        return out
    # Dates as floats: sort keys may hold int64's minimum (undated, oldest first), whose
    # negation overflows.
    keys = (cand, -score[cand]) if dates is None else (cand, -score[cand], -dates[cand].astype(np.float64))
    order = cand[np.lexsort(keys)]
    _, first = np.unique(g.code[order], return_index=True)
    out[order[first]] = True
    return out


def facet_counts(  # noqa: PLR0917 - mirrors indexer.facets.facet_counts
    searcher: Searcher,
    g: Groups,
    mask: np.ndarray,
    shown: np.ndarray | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict:
    """Like :func:`indexer.facets.facet_counts`, but counting groups: a story counts once for a
    place, group, source or month when any of its matching copies has it; the timeline counts
    each story once, at the date of its representative (``shown``, the one the results list)."""
    from indexer import facets

    table = facets.postings(searcher)

    def count(ids: np.ndarray) -> int:
        hit = ids[mask[ids]]
        return len(np.unique(g.code[hit])) if len(hit) else 0

    out: dict = {}
    for fname in ("place", "group"):
        rows = [(-n, term) for term, ids in table[fname].items() if (n := count(ids))]
        out[fname] = [facets._entity_row(term, -neg) for neg, term in sorted(rows)]
    facets.split_organizations(out)
    out["date"] = [
        {"month": term, "count": n} for term, ids in sorted(table["month"].items()) if (n := count(ids))
    ]
    out["source"] = facets.source_counts(searcher, mask, count)
    out["timeline"] = facets.timeline(searcher, mask if shown is None else shown, date_from, date_to)
    return out


def annotate(snap, searcher: Searcher, hits: list[dict], mask: np.ndarray | None) -> None:
    """Add ``group`` to every hit; with the matched ``mask`` (dedupe on), also ``copies``: the
    group's other matching reports ``{id, title, date, source, url}``, oldest first."""
    if not hits:
        return
    grouped = has_groups(snap.db)
    for h in hits:
        h["group"] = group_of(snap.db, h["id"]) if grouped else h["id"]
        if mask is None:
            continue
        copies = []
        for m in members(snap.db, h["group"]) if grouped else []:
            if m["id"] == h["id"]:
                continue
            docnum = searcher.document_number(id=m["id"])
            if docnum is not None and mask[docnum]:
                copies.append(m)
        h["copies"] = copies
