"""Per-generation arrays of the ranking engine, written at build time, memory-mapped when read.

Field lengths (a byte per document and scored field), dates, the live-document mask,
each document's story group (indexer/dedupe.py) and the facet postings (place, group,
month, source: document numbers end to end, with each term's offset) are what every
query needs over the whole collection. Computed in each process they cost each gunicorn
worker its own copy (tens of MB at a million documents; the story groups' ~140 MB of
freed small objects besides) and the first query of a worker the time to decode them.
So the build writes them once, beside the generation's Whoosh shards
(``generations/<n>/engine/``), before it publishes, and readers ``numpy.load`` them with
``mmap_mode="r"``: every worker maps the same pages of the OS page cache, and a fresh
worker reads only the pages it touches.

The files describe the exact segments they were computed from (``meta.json``); a reader
whose segments differ (or an index built before this existed) computes the arrays in
process, as before. A generation is never modified once published, so the files are
never rewritten either.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from indexer import termstore

ENGINE = "engine"
# 3: every list of the scored fields decoded, with a term table (indexer/termstore.py);
# 4: the exact levels' positions beside them
VERSION = 4
FACET_FIELDS = ("place", "group", "month", "source")


def _segment_ids(reader) -> list[str]:
    """Each leaf's segment id ("" for an empty shard's reader, which has no segment)."""
    out = []
    for leaf, _base in reader.leaf_readers():
        segment = leaf.segment() if hasattr(leaf, "segment") else None
        out.append(segment.segment_id() if segment is not None else "")
    return out


def write(gdir: Path | str) -> Path:
    """Compute the engine's arrays of generation directory ``gdir`` and write them to
    ``gdir/engine/`` (a build calls this after writing the shards, before publishing).

    Vectorized: posting blocks and columns are decoded whole (indexer/ranking.py), so a
    million documents take seconds. Returns the directory written.
    """
    from indexer import dedupe, store
    from indexer.facets import read_table
    from indexer.ranking import Corpus

    gdir = Path(gdir)
    out = gdir / ENGINE
    tmp = gdir / (ENGINE + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with store.open_searcher(store.open_shards(gdir)) as s:
        reader = s.reader()
        c = Corpus(reader, mapped=False)
        scored = sorted(f for f in s.schema.names() if s.schema[f].scorable)
        for fname in scored:
            np.save(tmp / f"len_{fname}.npy", c.length_bytes(fname))
        np.save(tmp / "dates.npy", c.dates())
        np.save(tmp / "dated.npy", c.dated())
        np.save(tmp / "live.npy", c.live)
        facets = []
        for fname in FACET_FIELDS:
            if fname not in s.schema:
                continue
            names, ids, offsets = read_table(reader, c, fname)
            np.save(tmp / f"facet_{fname}_ids.npy", ids)
            np.save(tmp / f"facet_{fname}_offsets.npy", offsets)
            starts, terms = by_document(ids, offsets, c.n)
            np.save(tmp / f"facet_{fname}_docstarts.npy", starts)
            np.save(tmp / f"facet_{fname}_docterms.npy", terms)
            (tmp / f"facet_{fname}_names.json").write_text(json.dumps(names, ensure_ascii=False), "utf-8")
            facets.append(fname)
        db = store.connect_ro(gdir / store.DB)
        db.row_factory = None  # plain tuples: a row per document
        try:
            np.save(tmp / "groups.npy", dedupe.group_codes(reader, db))
        finally:
            db.close()
        meta = {
            "version": VERSION,
            "documents": c.n,
            "live": reader.doc_count(),
            "segments": _segment_ids(reader),
            "lengths": scored,
            "facets": facets,
            # Added later, without a new version (older readers ignore the files): fields whose
            # values per document were written too (see by_document).
            "by_doc": facets,
            "groups": True,  # groups.npy: each document's story group (indexer/dedupe.py)
        }
        meta["postings"] = write_postings(reader, gdir, tmp / POSTINGS)
    (tmp / "meta.json").write_text(json.dumps(meta), "utf-8")
    for f in tmp.rglob("*"):
        if f.is_file():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
    if out.exists():  # written again (by hand): replace the whole directory
        shutil.rmtree(out)
    tmp.replace(out)
    return out


POSTINGS = "postings"  # engine/postings/<segment id>/: the segment's lists, decoded (indexer/termstore.py)


def write_postings(reader, gdir: Path, out: Path) -> list[str]:
    """Every segment's lists of the scored fields, decoded, to ``out/<segment id>/``, and the
    generation's term table over them to ``out/../terms/`` (indexer/termstore.py).

    A segment's lists come from where its shard writer staged them (``<gdir>/lists/``),
    else hard-linked from an earlier generation that has them (an update leaves most
    segments as they were), else decoded from Whoosh's blocks here. Staged lists of
    segments the writers' merges removed are deleted. Returns the segment ids written.
    """
    out.mkdir()
    stage = gdir / termstore.STAGE
    earlier = sorted(gdir.parent.iterdir(), reverse=True) if gdir.parent.exists() else []
    done, folders = [], []
    for leaf, _base in reader.leaf_readers():
        segment = leaf.segment() if hasattr(leaf, "segment") else None
        if segment is None:
            folders.append(None)
            continue
        sid = segment.segment_id()
        dest = out / sid
        previous = (g / ENGINE / POSTINGS / sid for g in earlier if g != gdir)
        if not termstore.link_or_move(stage / sid, previous, dest):
            termstore.decode_segment(leaf, dest)
        done.append(sid)
        folders.append(dest)
    shutil.rmtree(stage, ignore_errors=True)
    termstore.write_table(folders, out.parent / termstore.TABLE)
    return done


def by_document(ids: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A facet's postings (``ids`` laid end to end, each term from ``offsets``) turned
    around: ``(starts, terms)``, document ``d``'s term numbers being
    ``terms[starts[d]:starts[d + 1]]`` (ascending). A small matched set is counted from it
    (its documents' values) rather than by a gather over every posting.

    >>> starts, terms = by_document(np.array([0, 2, 1, 2]), np.array([0, 2]), 3)
    >>> starts.tolist(), terms.tolist()
    ([0, 1, 2, 4], [0, 1, 0, 1])
    """
    sizes = np.diff(np.append(offsets, len(ids))) if len(offsets) else np.zeros(0, dtype=np.int64)
    term_of = np.repeat(np.arange(len(offsets), dtype=np.int32), sizes)
    order = np.argsort(ids, kind="stable")  # by document; a document's terms stay in term order
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ids, minlength=n)[:n], out=starts[1:])
    return starts, term_of[order]


def _gdir_of(reader) -> Path | None:
    """The generation directory a reader's segments live in (``generations/<n>/whoosh/<k>``)."""
    for leaf, _base in reader.leaf_readers():
        st = getattr(leaf, "_storage", None)  # FileStorage, or an OverlayStorage over a compound file
        folder = getattr(st, "folder", None) or getattr(getattr(st, "b", None), "folder", None)
        if folder:
            return Path(folder).parent.parent
    return None


class Mapped:
    """The arrays written by :func:`write` for one reader, memory-mapped; ``None`` from
    :func:`load` when there are none (or they were written for other segments)."""

    def __init__(self, folder: Path, meta: dict) -> None:
        self.folder = folder
        self.meta = meta

    def array(self, name: str) -> np.ndarray:
        return termstore.mapped_array(self.folder / f"{name}.npy")

    def length_bytes(self, fieldname: str) -> np.ndarray | None:
        return self.array(f"len_{fieldname}") if fieldname in self.meta["lengths"] else None

    def groups(self) -> np.ndarray | None:
        """Each document number's story group code (``None`` for arrays written before it)."""
        return self.array("groups") if self.meta.get("groups") else None

    def terms(self) -> termstore.TermTable:
        """The generation's term table and decoded lists (:func:`write_postings`), mapped."""
        sids = self.meta["segments"]  # in leaf order; "" for a shard without a segment
        folders = [self.folder / POSTINGS / sid if sid else None for sid in sids]
        return termstore.TermTable(self.folder / termstore.TABLE, folders)

    def facet(
        self, fieldname: str
    ) -> tuple[list[str], np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None] | None:
        """``(names, ids, offsets, (starts, terms))`` of a facet field (see :func:`by_document`;
        ``None`` in place of the pair for arrays written before it)."""
        if fieldname not in self.meta["facets"]:
            return None
        names = json.loads((self.folder / f"facet_{fieldname}_names.json").read_text("utf-8"))
        by_doc = (
            (self.array(f"facet_{fieldname}_docstarts"), self.array(f"facet_{fieldname}_docterms"))
            if fieldname in self.meta.get("by_doc", ())
            else None
        )
        return names, self.array(f"facet_{fieldname}_ids"), self.array(f"facet_{fieldname}_offsets"), by_doc


def up_to_date(gdir: Path) -> bool:
    """Whether a generation's arrays were written by this version (readers ignore others)
    and hold everything it writes."""
    try:
        meta = json.loads((Path(gdir) / ENGINE / "meta.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    # Story groups were added without a new version: arrays without them are written anew
    # too (else each process computes the codes, ~6 s and ~140 MB of its heap at 1M).
    return meta.get("version") == VERSION and bool(meta.get("groups"))


def load(reader) -> Mapped | None:
    """The memory-mapped arrays of the generation ``reader`` reads, if written for its segments."""
    gdir = _gdir_of(reader)
    if gdir is None:
        return None
    folder = gdir / ENGINE
    try:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if (
        meta.get("version") != VERSION
        or meta.get("documents") != reader.doc_count_all()
        or meta.get("live") != reader.doc_count()
        or meta.get("segments") != _segment_ids(reader)
    ):
        return None
    return Mapped(folder, meta)
