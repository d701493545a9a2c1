"""Input readers: ``.txt`` articles, ``.jsonl``/``.jsonl.gz`` and ``.csv`` exports.

Every reader yields :class:`Doc` objects and :class:`Problem` reports; a bad
line or file never stops the others from being read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from indexer.boilerplate import is_boilerplate

FIELDS = ("id", "title", "date", "source", "url", "text")
SUFFIXES = (".txt", ".jsonl", ".jsonl.gz", ".csv")
# Limits on what one input may cost (docs/indexing.md, "Limits").
MAX_FILE_BYTES = 1 << 30  # bytes of one file, after decompression: more is refused, not read
MAX_TEXT_CHARS = 1_000_000  # characters of one document's text: the rest is cut off (a warning)
MAX_TITLE_CHARS = 2_000
_CHUNK = 1 << 20
# Bytes that were not UTF-8, kept by errors="surrogateescape" so that one bad line is
# found and skipped while the rest of the file is read.
_BAD_BYTES = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# How a surrogate gets into a decoded JSON line: as an escape (the line's own characters
# are valid UTF-8 once _BAD_BYTES has turned the damaged ones away). A line without one
# needs no walk of its object (a false alarm, such as an escaped backslash, only costs it).
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89abcdefABCDEF]")


@dataclass
class Doc:
    """One article as read from the input, before analysis."""

    id: str
    title: str
    text: str
    path: str  # absolute path of the source file (for --prune)
    line: int = 1
    date: datetime | None = None  # as the source wrote it: with its UTC offset, or naive
    source: str | None = None
    url: str | None = None
    meta: dict = field(default_factory=dict)
    _hash: str | None = field(default=None, init=False, repr=False, compare=False)

    def content_hash(self) -> str:
        """Hash of everything indexed or stored (not the path): equal hash → nothing to redo.

        Computed once (the reader checks that a record can be hashed; the build compares and
        stores it): a document is not changed after it is read."""
        if self._hash is None:
            date = self.date.isoformat() if self.date else None
            key = [self.id, self.title, self.text, date, self.source, self.url, self.meta]
            blob = json.dumps(key, ensure_ascii=False, sort_keys=True, default=str)
            self._hash = hashlib.sha256(blob.encode("utf-8")).hexdigest()
        return self._hash


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
    # Many NUL bytes: UTF-16 without a BOM (every other byte of ASCII/Arabic is zero-ish) or
    # binary. One stray NUL in a text file is a damaged byte, not a reason to lose the file.
    head = data[:4096]
    controls = sum(1 for b in head if b < 32 and b not in b"\t\n\r")
    if head.count(b"\x00") > len(head) // 100 or controls > len(head) // 100:
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
    """ISO 8601 date or date-time, kept in the source's own time zone (its offset, if it gave
    one); ``None`` for empty; ValueError when unparseable.

    A report dated ``2018-02-18T00:56:43+04:00`` happened on the 18th where it was written:
    it is filtered and counted on that day (:func:`local`), never moved to UTC (which would
    make it the 17th, and overflows for year 1 or 9999).

    >>> parse_date("2018-02-18T00:56:43+04:00").isoformat(), parse_date("2017-06-05")
    ('2018-02-18T00:56:43+04:00', datetime.datetime(2017, 6, 5, 0, 0))
    >>> local(parse_date("0001-01-01T00:00:00+05:00"))
    datetime.datetime(1, 1, 1, 0, 0)
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"date is not a string: {value!r}")
    return datetime.fromisoformat(value.strip())


def local(d: datetime) -> datetime:
    """The wall-clock time where the report was written (its offset dropped, not applied):
    what date filters, the month histogram and date sorting use.

    >>> local(datetime.fromisoformat("2018-02-18T00:56:43+04:00"))
    datetime.datetime(2018, 2, 18, 0, 56, 43)
    """
    return d.replace(tzinfo=None)


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path] | Problem]:
    """``(file, base)`` for every input file; ``base`` is what ``.txt`` ids are relative to.

    Folders are walked recursively in sorted order, keeping only known extensions and
    regular files; symbolic links are not followed out of the folder (a :class:`Problem`
    note says which were skipped), and linked folders are not entered. A file named
    explicitly is yielded whatever it is (:func:`read_file` checks it before opening).
    """
    for p in paths:
        if not p.is_dir():
            yield p, p.parent
            continue
        top = p.resolve()
        for dirpath, dirs, files in os.walk(p):
            dirs.sort()
            for name in sorted(files):
                f = Path(dirpath) / name
                if not name.endswith(SUFFIXES) or name.startswith("."):
                    continue
                if f.is_symlink():
                    target = f.resolve()
                    if not target.is_relative_to(top):
                        yield Problem(str(f), 1, f"symbolic link out of {p} (to {target}): skipped", "note")
                        continue
                if f.is_file():
                    yield f, p


def _open_regular(path: Path) -> int:
    """A read-only descriptor of ``path`` if it is a regular file, else ``OSError``.

    Opened without blocking (a FIFO would wait for a writer forever) and checked with
    ``fstat`` on what was opened, not on a name that could be swapped in between.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else ("a directory" if stat.S_ISDIR(mode) else "a socket or other special file")
        )
        raise NotRegular(f"not a regular file ({kind}): not read")
    os.set_blocking(fd, True)
    return fd


class NotRegular(OSError):
    """An input that is a FIFO, a device or a socket: never read."""


class TooLarge(ValueError):
    """An input over :data:`MAX_FILE_BYTES` (decompressed)."""


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> tuple[bytes | bytearray, str | None]:
    """The bytes of a regular file, gunzipped as a stream for ``.gz``, at most ``limit`` of them.

    Returns ``(data, damage)``: a damaged or truncated gzip stream keeps what was
    decompressed before the damage, and ``damage`` says what happened. A decompression
    bomb stops at ``limit`` (:class:`TooLarge`) instead of filling memory.
    """
    fd = _open_regular(path)
    with os.fdopen(fd, "rb") as f:
        if not path.name.endswith(".gz"):
            data = f.read(limit + 1)
            if len(data) > limit:
                raise TooLarge(f"larger than {limit} bytes: not read")
            return data, None
        out = bytearray()
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        damage = None
        while True:
            chunk = z.unconsumed_tail or f.read(_CHUNK)
            if not chunk:
                if not z.eof:
                    damage = "truncated gzip file"
                break
            try:
                out += z.decompress(chunk, limit + 1 - len(out))
            except zlib.error as e:
                damage = f"damaged gzip data ({e})"
                break
            if len(out) > limit:
                raise TooLarge(f"more than {limit} bytes once decompressed: not read")
            if z.eof:
                rest = z.unused_data
                if not rest.strip(b"\x00"):
                    rest = f.read(_CHUNK)
                    if not rest:
                        break
                z = zlib.decompressobj(16 + zlib.MAX_WBITS)  # another gzip member follows
                try:
                    out += z.decompress(rest, limit + 1 - len(out))
                except zlib.error:
                    break  # trailing garbage after a complete member: ignored, as gzip does
        if not out and damage:
            raise OSError(damage)
        return out, damage  # a bytearray: no second copy of up to MAX_FILE_BYTES


def read_file(path: Path, base: Path, shown: str | None = None) -> Iterator[Doc | Problem]:
    """Documents and problems of one input file (``shown`` is the name used in messages).

    Only a regular file with a known extension is opened. A bad record (malformed JSON,
    damaged bytes, nesting too deep, a lone surrogate) is one problem at its line; the rest
    of the file is still read.
    """
    shown = shown or str(path)
    _absolute.cache_clear()
    name = path.name
    if not name.endswith(SUFFIXES):
        yield Problem(shown, 1, f"unsupported file type (expected one of {', '.join(SUFFIXES)})")
        return
    try:
        data, damage = read_bytes(path)
    except (NotRegular, TooLarge) as e:
        yield Problem(shown, 1, str(e))
        return
    except OSError as e:
        yield Problem(shown, 1, f"cannot read: {e.strerror or e}")
        return
    if damage:
        # Keep every complete line before the damage; the line it cut is lost.
        cut = data.rfind(b"\n") + 1
        lost_at = data[:cut].count(b"\n") + 1
        data = data[:cut]
        yield Problem(shown, lost_at, f"{damage}: lines from here on are lost")
        if not data.strip():
            return
    if name.endswith(".txt"):
        try:
            text, note = decode(data)
        except DecodeError as e:
            yield Problem(shown, e.line, str(e))
            return
        if note:
            yield Problem(shown, 1, note, "note")
        yield from _read_txt(text.replace("\x00", ""), path, base, shown)
        return
    try:
        text, note = _decode_records(data)
    except DecodeError as e:
        yield Problem(shown, e.line, str(e))
        return
    if note:
        yield Problem(shown, 1, note, "note")
    if name.endswith(".csv"):
        rows = csv.DictReader(io.StringIO(text, newline=""))
        csv.field_size_limit(MAX_FILE_BYTES)
        try:
            for row in rows:
                if any(_BAD_BYTES.search(v) for v in (*row, *row.values()) if isinstance(v, str)):
                    yield Problem(shown, rows.line_num, "invalid UTF-8 (damaged bytes): record skipped")
                    continue
                yield from _safe_record(row, rows.line_num, path, shown)
        except csv.Error as e:
            yield Problem(shown, rows.line_num, f"malformed CSV: {e}")
        return
    # JSON Lines end at "\n" only: U+2028, U+2029 and U+0085 are legal inside JSON strings
    # (json.dumps(ensure_ascii=False) writes them), so str.splitlines() would cut records.
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        if _BAD_BYTES.search(line):
            yield Problem(shown, n, "invalid UTF-8 (damaged bytes): line skipped")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield Problem(shown, n, f"malformed JSON: {e.msg} (column {e.colno})")
            continue
        except RecursionError:
            yield Problem(shown, n, "malformed JSON: nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield Problem(shown, n, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield from _safe_record(obj, n, path, shown, _ESCAPED_SURROGATE.search(line) is not None)


def _decode_records(data: bytes) -> tuple[str, str | None]:
    r"""Decode a JSONL or CSV file so that damaged bytes stay on their own lines.

    A UTF-8 file with a few bad bytes is decoded with ``surrogateescape``: the bad
    bytes become U+DC80..U+DCFF, and the records holding them are skipped one by one.

    >>> _decode_records("سطر\n".encode() + b"\xff\n")
    ('سطر\n\udcff\n', None)
    """
    try:
        return decode(data)
    except DecodeError as e:
        if "damaged bytes" not in str(e):
            raise
    return data.decode("utf-8", errors="surrogateescape"), None


def _safe_record(
    obj: dict, line: int, path: Path, shown: str, surrogates: bool = True
) -> Iterator[Doc | Problem]:
    """:func:`_record`, with any failure of one record reported at its line (never a crash)."""
    try:
        yield from list(_record(obj, line, path, shown, surrogates))
    except (RecursionError, ValueError, TypeError, UnicodeError, OverflowError) as e:
        yield Problem(shown, line, f"cannot read this record: {type(e).__name__}: {e}")


def _clean_surrogates(value: object) -> tuple[object, bool]:
    """Replace lone surrogates (``"\\ud800"`` in JSON: not text, cannot be stored) by U+FFFD.

    >>> _clean_surrogates({"t": "a" + chr(0xD800) + "b", "k": [chr(0xDFFF)]})
    ({'t': 'a�b', 'k': ['�']}, True)
    """
    if isinstance(value, str):
        if not _SURROGATE.search(value):
            return value, False
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace"), True
    if isinstance(value, dict):
        out, changed = {}, False
        for k, v in value.items():
            k2, c1 = _clean_surrogates(k)
            v2, c2 = _clean_surrogates(v)
            out[k2] = v2
            changed |= c1 or c2
        return out, changed
    if isinstance(value, list):
        pairs = [_clean_surrogates(v) for v in value]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    return value, False


def _read_txt(text: str, path: Path, base: Path, shown: str) -> Iterator[Doc | Problem]:
    lines = [ln.strip() for ln in text.splitlines() if not is_boilerplate(ln)]
    nonempty = [i for i, ln in enumerate(lines) if ln]
    if not nonempty:
        yield Problem(shown, 1, "no text (only blank or boilerplate lines)")
        return
    title = lines[nonempty[0]][:MAX_TITLE_CHARS]
    # Keep paragraphs: collapse runs of blank lines into one.
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines[nonempty[0] + 1 :]).strip())
    rel = path.relative_to(base) if path.is_relative_to(base) else Path(path.name)
    doc_id = rel.with_suffix("").as_posix()
    if len(body) > MAX_TEXT_CHARS:
        body = body[:MAX_TEXT_CHARS]
        yield Problem(
            shown, 1, f"text longer than {MAX_TEXT_CHARS} characters: the rest is not indexed", "warning"
        )
    yield Doc(id=doc_id, title=title, text=body, path=str(path.resolve()))


@lru_cache(maxsize=16)
def _absolute(path: Path) -> str:
    """``str(path.resolve())``, once per file rather than once per record (cleared by
    :func:`read_file`: a path may point elsewhere by the next build)."""
    return str(path.resolve())


def _record(obj: dict, line: int, path: Path, shown: str, surrogates: bool = True) -> Iterator[Doc | Problem]:
    """A JSONL object or CSV row → Doc, with problems for what is missing or wrong
    (``surrogates``: whether it may hold lone surrogates, to be replaced)."""
    obj, changed = _clean_surrogates(obj) if surrogates else (obj, False)
    if changed:
        yield Problem(shown, line, "lone surrogate code point(s) (not text) replaced by U+FFFD", "warning")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        yield Problem(shown, line, "missing text" if not text else "'text' is not a non-empty string")
        return
    title = obj.get("title")
    title = title.strip() if isinstance(title, str) else ("" if title is None else str(title))
    title = title[:MAX_TITLE_CHARS]
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
        yield Problem(
            shown, line, f"text longer than {MAX_TEXT_CHARS} characters: the rest is not indexed", "warning"
        )
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
    doc = Doc(
        id=doc_id,
        title=title,
        text=text,
        path=_absolute(path),
        line=line,
        date=date,
        source=opt("source"),
        url=opt("url"),
        meta=meta,
    )
    doc.content_hash()  # what the build will compute: a record it cannot hash fails here, alone
    yield doc
