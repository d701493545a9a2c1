"""Input readers: ``.txt`` articles, ``.jsonl``/``.jsonl.gz`` and ``.csv`` exports.

Every reader yields :class:`Doc` objects and :class:`Problem` reports; a bad
line or file never stops the others from being read.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from indexer.boilerplate import is_boilerplate

FIELDS = ("id", "title", "date", "source", "url", "text")
SUFFIXES = (".txt", ".jsonl", ".jsonl.gz", ".csv")


@dataclass
class Doc:
    """One article as read from the input, before analysis."""

    id: str
    title: str
    text: str
    path: str  # absolute path of the source file (for --prune)
    line: int = 1
    date: datetime | None = None  # naive UTC
    source: str | None = None
    url: str | None = None
    meta: dict = field(default_factory=dict)

    def content_hash(self) -> str:
        """Hash of everything indexed or stored (not the path): equal hash → nothing to redo."""
        date = self.date.isoformat() if self.date else None
        key = [self.id, self.title, self.text, date, self.source, self.url, self.meta]
        blob = json.dumps(key, ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """An input problem, printed as ``file:line: reason``.

    ``level``: "error" (the document or file was not indexed), "warning" (indexed,
    but a field was dropped) or "note" (a guess was made: encoding, generated id).
    Errors and warnings make ``kashaf index`` exit non-zero; notes do not.
    """

    path: str
    line: int
    reason: str
    level: str = "error"

    @property
    def fatal(self) -> bool:
        """An error or a warning: something in the input is wrong."""
        return self.level != "note"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class DecodeError(ValueError):
    """The bytes are not text in any encoding we try; ``line`` is where it went wrong."""

    def __init__(self, reason: str, line: int = 1) -> None:
        super().__init__(reason)
        self.line = line


def _plausible(text: str) -> bool:
    """Mostly letters, digits, spaces and punctuation: not a binary file decoded by force."""
    sample = text[:20000]
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\n\r") or c in "\x7f\ufffd")
    return bad <= len(sample) // 100


def decode(data: bytes) -> tuple[str, str | None]:
    """Decode file bytes: BOM, UTF-8, UTF-16, then Windows-1256 (old Arabic sites).

    Returns the text and a note when it was not plain UTF-8.

    >>> decode("الرقة".encode("cp1256"))
    ('الرقة', 'not UTF-8: decoded as Windows-1256')
    >>> decode("\\ufeffالرقة".encode("utf-16-le"))[0]
    'الرقة'
    """
    if not data.strip():
        raise DecodeError("empty file")
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as e:
                raise DecodeError(f"invalid {enc} after its byte-order mark") from e
            return text.lstrip("\ufeff"), (None if enc == "utf-8-sig" else "decoded as UTF-16 (BOM)")
    # NUL bytes: UTF-16 without a BOM (every other byte of ASCII/Arabic is zero-ish) or binary.
    if b"\x00" in data[:4096]:
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            if _plausible(text):
                return text, f"decoded as {enc.upper()} (no BOM)"
        raise DecodeError("binary file (not text)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        first_bad = data[: e.start].count(b"\n") + 1
    else:
        if not _plausible(text):
            raise DecodeError("binary file (not text)")
        return text, None
    mostly_utf8 = data.decode("utf-8", errors="replace")
    # Windows-1256 Arabic almost never forms valid UTF-8 Arabic sequences, so many of
    # those mean a UTF-8 file with a few damaged bytes.
    if len(re.findall(r"[\u0600-\u06ff]", mostly_utf8)) > 2 * mostly_utf8.count("\ufffd"):
        # A few bad bytes in a UTF-8 file: Windows-1256 would garble the rest of it.
        raise DecodeError("invalid UTF-8 (a few damaged bytes in a UTF-8 file)", first_bad)
    text = data.decode("cp1256", errors="replace")
    if not _plausible(text):
        raise DecodeError("binary file or unknown encoding (tried UTF-8, UTF-16, Windows-1256)", first_bad)
    return text, "not UTF-8: decoded as Windows-1256"


def parse_date(value: object) -> datetime | None:
    """ISO 8601 date or date-time as naive UTC; ``None`` for empty; ValueError when unparseable.

    >>> parse_date("2018-03-01T10:00:00+02:00"), parse_date("2017-06-05")
    (datetime.datetime(2018, 3, 1, 8, 0), datetime.datetime(2017, 6, 5, 0, 0))
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"date is not a string: {value!r}")
    d = datetime.fromisoformat(value.strip())
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return d


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """``(file, base)`` for every input file; ``base`` is what ``.txt`` ids are relative to.

    Folders are walked recursively in sorted order, keeping only known extensions;
    a file named explicitly is yielded whatever its extension (the reader complains).
    """
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.name.endswith(SUFFIXES) and not f.name.startswith("."):
                    yield f, p
        else:
            yield p, p.parent


def read_file(path: Path, base: Path, shown: str | None = None) -> Iterator[Doc | Problem]:
    """Documents and problems of one input file (``shown`` is the name used in messages)."""
    shown = shown or str(path)
    name = path.name
    try:
        data = path.read_bytes()
        if name.endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        yield Problem(shown, 1, f"cannot read: {e}")
        return
    if not name.endswith(SUFFIXES):
        yield Problem(shown, 1, f"unsupported file type (expected one of {', '.join(SUFFIXES)})")
        return
    try:
        text, note = decode(data)
    except DecodeError as e:
        yield Problem(shown, e.line, str(e))
        return
    if note:
        yield Problem(shown, 1, note, "note")
    if name.endswith(".txt"):
        yield from _read_txt(text, path, base, shown)
    elif name.endswith(".csv"):
        rows = csv.DictReader(io.StringIO(text, newline=""))
        csv.field_size_limit(1 << 30)
        try:
            for row in rows:
                yield from _record(row, rows.line_num, path, shown)
        except csv.Error as e:
            yield Problem(shown, rows.line_num, f"malformed CSV: {e}")
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                yield Problem(shown, n, f"malformed JSON: {e.msg} (column {e.colno})")
                continue
            if not isinstance(obj, dict):
                yield Problem(shown, n, f"expected a JSON object, got {type(obj).__name__}")
                continue
            yield from _record(obj, n, path, shown)


def _read_txt(text: str, path: Path, base: Path, shown: str) -> Iterator[Doc | Problem]:
    lines = [ln.strip() for ln in text.splitlines() if not is_boilerplate(ln)]
    nonempty = [i for i, ln in enumerate(lines) if ln]
    if not nonempty:
        yield Problem(shown, 1, "no text (only blank or boilerplate lines)")
        return
    title = lines[nonempty[0]]
    # Keep paragraphs: collapse runs of blank lines into one.
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines[nonempty[0] + 1 :]).strip())
    rel = path.relative_to(base) if path.is_relative_to(base) else Path(path.name)
    doc_id = rel.with_suffix("").as_posix()
    yield Doc(id=doc_id, title=title, text=body, path=str(path.resolve()))


def _record(obj: dict, line: int, path: Path, shown: str) -> Iterator[Doc | Problem]:
    """A JSONL object or CSV row → Doc, with problems for what is missing or wrong."""
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        yield Problem(shown, line, "missing text" if not text else "'text' is not a non-empty string")
        return
    title = obj.get("title")
    title = title.strip() if isinstance(title, str) else ("" if title is None else str(title))
    raw_id = obj.get("id")
    doc_id = str(raw_id).strip() if raw_id not in (None, "") else ""
    if not doc_id:
        doc_id = "h" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]
        yield Problem(shown, line, f"no id: using content hash {doc_id}", "note")
    try:
        date = parse_date(obj.get("date"))
    except ValueError:
        date = None
        yield Problem(
            shown,
            line,
            f"unparseable date {obj.get('date')!r}: kept the document without a date",
            "warning",
        )

    def opt(key: str) -> str | None:
        v = obj.get(key)
        return str(v).strip() or None if v not in (None, "") else None

    meta = {k: v for k, v in obj.items() if k not in FIELDS and k is not None}
    yield Doc(
        id=doc_id,
        title=title,
        text=text,
        path=str(path.resolve()),
        line=line,
        date=date,
        source=opt("source"),
        url=opt("url"),
        meta=meta,
    )
