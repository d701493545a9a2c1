"""The JSON API over the search core: ``/api/search``, ``/api/documents/<id>``,
``/api/documents/<id>/similar``, the streamed exports ``/api/search.csv`` and
``/api/search.jsonl``, ``POST /api/batch`` and ``/api/openapi.json`` (the contract,
web/openapi.py).

The HTML pages reuse :func:`parse_search_args` and :func:`run_search` for their JSON
twins, so both read parameters and answer the same way.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request, stream_with_context
from werkzeug.datastructures import MultiDict

from analyzers import gazetteer
from indexer import dedupe, export
from indexer.engines import from_env
from indexer.query import MAX_QUERY_CHARS, QueryError
from indexer.search import MATCH_LEVELS, SORTS, search
from indexer.search import batch as run_batch
from indexer.search import options as search_options
from indexer.search import similar as similar_documents
from indexer.store import Snapshot
from web import caches, error_response, heartbeat, index_state, state
from web.state import IndexNotFound

bp = Blueprint("api", __name__)

SEARCH_PARAMS = frozenset(
    {
        "q",
        "op",
        "level",
        "place",
        "group",
        "with_successors",
        "with_predecessors",
        "source",
        "from",
        "to",
        "sort",
        "limit",
        "offset",
    }
) | {"dedupe"}  # dedupe: one entry per story group (indexer/dedupe.py)
REPEATABLE = frozenset({"place", "group", "source"})
MAX_LIMIT = 100
MAX_OFFSET = 100_000
MAX_BATCH = 100
MAX_SIMILAR = 50
EXPORT_FIELDS = (
    "id",
    "title",
    "date",
    "source",
    "url",
    "score",
    "matched",
    "snippet",
    "place_ids",
    "place_labels",
    "group_ids",
    "group_labels",
    "organization_ids",
    "organization_labels",
    "group",
    "place_labels_en",
    "group_labels_en",
    "organization_labels_en",
)
EXPORT_COLUMNS = (
    "every match in rank order: " + ", ".join(EXPORT_FIELDS) + ", then meta.<key> for each stored "
    "metadata field; places, armed groups and organizations (actors that do not fight, as in the facets) "
    "are those the report names (ids, Arabic labels and English names, ' | ' between them in CSV, "
    "objects {id, label, label_en, level} in JSONL); "
    "matched lists the levels (exact stem root entity); the snippet is "
    "plain text; the file is named after the query and the day"
)
BATCH_KEYS = frozenset({"queries", "op", "limit"})
BATCH_QUERY_KEYS = frozenset({"id", "q"})
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class BadRequest(ValueError):
    """A parameter problem, reported as 400 with its code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest):
    return error_response(400, exc.code, str(exc))


@bp.errorhandler(QueryError)
def bad_query(exc: QueryError):
    return error_response(400, exc.code, str(exc))


@bp.errorhandler(IndexNotFound)
def no_index(exc: IndexNotFound):
    return error_response(503, "index_not_ready", str(exc))


@dataclass(frozen=True)
class SearchRequest:
    """Validated search parameters (the names of ``indexer.search.search``)."""

    query: str = ""
    op: str = "and"
    place: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    with_successors: bool = False
    with_predecessors: bool = False
    source: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    sort: str = "relevance"
    level: str = "stem"
    limit: int = 20
    offset: int = 0
    dedupe: bool = False
    extra: dict = field(default_factory=dict)


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: int() would also take "٥", "+5", " 5" and "5_0".
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise BadRequest("invalid_parameter", f"{name} must be a whole number, not {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest("invalid_parameter", f"{name} must be between {low} and {high}")
    return value


def _choice(args: MultiDict, name: str, default: str, choices: tuple[str, ...]) -> str:
    value = args.get(name) or default
    if value not in choices:
        raise BadRequest("invalid_parameter", f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def parse_search_args(args: MultiDict, allowed: frozenset[str] = SEARCH_PARAMS) -> SearchRequest:
    """Validate query-string parameters; unknown ones are rejected, not ignored.

    ``allowed`` lets a caller (the HTML pages) accept its own extra keys (e.g. ``lang``).
    """
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise BadRequest("unknown_parameter", f"unknown parameter(s): {', '.join(unknown)}")
    repeated = sorted(k for k in args if k not in REPEATABLE and len(args.getlist(k)) > 1)
    if repeated:
        raise BadRequest("invalid_parameter", f"parameter(s) given more than once: {', '.join(repeated)}")
    q = args.get("q", "")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest("query_too_long", f"q is limited to {MAX_QUERY_CHARS} characters, not {len(q)}")
    ws = (args.get("with_successors") or "").lower()
    if ws not in TRUE + FALSE:
        raise BadRequest("invalid_parameter", "with_successors must be true or false")
    dd = (args.get("dedupe") or "").lower()
    if dd not in TRUE + FALSE:
        raise BadRequest("invalid_parameter", "dedupe must be true or false (1 or 0)")
    wp = (args.get("with_predecessors") or "").lower()
    if wp not in TRUE + FALSE:
        raise BadRequest("invalid_parameter", "with_predecessors must be true or false")
    return SearchRequest(
        dedupe=dd in TRUE,
        query=q,
        op=_choice(args, "op", "and", ("and", "or")),
        place=tuple(v for v in args.getlist("place") if v),
        group=tuple(v for v in args.getlist("group") if v),
        with_successors=ws in TRUE,
        with_predecessors=wp in TRUE,
        source=tuple(v for v in args.getlist("source") if v),
        date_from=args.get("from") or None,
        date_to=args.get("to") or None,
        sort=_choice(args, "sort", "relevance", SORTS),
        level=_choice(args, "level", "stem", MATCH_LEVELS),
        limit=_int(args, "limit", 20, 1, MAX_LIMIT),
        offset=_int(args, "offset", 0, 0, MAX_OFFSET),
        extra={k: args.get(k) for k in args if k not in SEARCH_PARAMS},
    )


def run_search(
    req: SearchRequest, *, snippets: bool = True, facets: bool = True, snap: Snapshot | None = None
) -> dict:
    """The search object for a validated request; an unreadable query raises
    :class:`BadRequest` (code ``invalid_query``), like a bad parameter.

    ``snap`` pins one index state across calls (the CSV export pages through it).
    """
    params = asdict(req)
    params.pop("extra")
    try:
        return search(
            snap or index_state().snapshot(), snippets=snippets, facets=facets, engine=from_env(), **params
        )
    except QueryError as exc:
        raise BadRequest(exc.code, str(exc)) from None


@bp.get("/search")
def api_search():
    """Search: the same object as ``kashaf search --json``."""
    return jsonify(run_search(parse_search_args(request.args)))


def entity_label(entity_id: str) -> tuple[str | None, str | None]:
    """``(Arabic label, English name)`` of an entity id, ``None`` when unknown."""
    e = gazetteer.entities().get(entity_id)
    return (e.label, e.name_en) if e else (None, None)


@bp.get("/documents/<path:doc_id>/similar")
def api_similar(doc_id: str):
    """Reports similar to one document (the document page's list, as JSON)."""
    unknown = sorted(set(request.args) - {"limit"})
    if unknown:
        raise BadRequest("unknown_parameter", f"unknown parameter(s): {', '.join(unknown)}")
    limit = _int(request.args, "limit", 5, 1, MAX_SIMILAR)
    snap = index_state().snapshot()
    found = similar_documents(snap, doc_id, limit)
    if found is None:
        # An id that itself ends in "/similar" is a document, not this endpoint.
        return api_document(doc_id + "/similar")
    return jsonify({"id": doc_id, "similar": found})


@bp.get("/documents/<path:doc_id>")
def api_document(doc_id: str):
    """One document in full: text, metadata and entity mentions (with labels)."""
    if request.args:
        raise BadRequest("unknown_parameter", f"unknown parameter(s): {', '.join(sorted(request.args))}")
    snap = index_state().snapshot()
    row = snap.db.execute(
        "SELECT id, title, body, date, source, url, meta FROM docs WHERE id = ?", (doc_id,)
    ).fetchone()
    if row is None:
        return error_response(404, "not_found", f"no document with id {doc_id!r}")
    mentions = []
    for m in snap.db.execute(
        'SELECT entity_id, kind, field, start, "end" FROM mentions WHERE doc_id = ? ORDER BY field, start',
        (doc_id,),
    ):
        label, label_en = entity_label(m["entity_id"])
        mentions.append({**dict(m), "label": label, "label_en": label_en})
    return jsonify(
        {
            "id": row["id"],
            "title": row["title"],
            "text": row["body"],
            "date": row["date"],
            "source": row["source"],
            "url": row["url"],
            "meta": json.loads(row["meta"] or "{}"),
            "mentions": mentions,
            **dedupe.document_group(snap.db, row["id"]),
        }
    )


def parse_batch(body: object) -> tuple[list[tuple[str, str]], str, int]:
    """Validate a ``POST /api/batch`` body into ``(queries, op, limit)``."""
    if not isinstance(body, dict):
        raise BadRequest("invalid_body", 'the body must be a JSON object: {"queries": [{"id", "q"}, ...]}')
    unknown = sorted(set(body) - BATCH_KEYS)
    if unknown:
        raise BadRequest("unknown_parameter", f"unknown field(s): {', '.join(unknown)}")
    queries = body.get("queries")
    if not isinstance(queries, list) or not queries:
        raise BadRequest("invalid_body", 'queries must be a non-empty list of {"id", "q"} objects')
    if len(queries) > MAX_BATCH:
        raise BadRequest("batch_too_large", f"at most {MAX_BATCH} queries per batch, not {len(queries)}")
    out = []
    for n, item in enumerate(queries):
        if not isinstance(item, dict) or set(item) - BATCH_QUERY_KEYS or "q" not in item:
            raise BadRequest("invalid_body", f'queries[{n}] must be an object with "id" and "q" only')
        q, qid = item["q"], item.get("id", str(n))
        if not isinstance(q, str) or not isinstance(qid, str | int) or isinstance(qid, bool):
            raise BadRequest("invalid_body", f"queries[{n}]: q must be a string and id a string or number")
        if len(q) > MAX_QUERY_CHARS:
            raise BadRequest("query_too_long", f"queries[{n}].q is limited to {MAX_QUERY_CHARS} characters")
        out.append((str(qid), q))
    op = body.get("op", "and")
    if op not in ("and", "or"):
        raise BadRequest("invalid_parameter", "op must be 'and' or 'or'")
    limit = body.get("limit", 10)
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)  # JSON has one number type: 37.0 is the integer 37 (JSON Schema agrees)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest("invalid_parameter", f"limit must be a whole number between 1 and {MAX_LIMIT}")
    return out, op, limit


@bp.post("/batch")
def api_batch():
    """Many queries with one searcher: ranked ids and scores per query (no snippets or facets)."""
    if request.args:
        raise BadRequest("unknown_parameter", f"unknown parameter(s): {', '.join(sorted(request.args))}")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise BadRequest("invalid_body", "the body is nested too deeply to be read") from None
    queries, op, limit = parse_batch(body)
    errors: dict[str, str] = {}
    found = run_batch(index_state().snapshot(), queries, op=op, limit=limit, errors=errors)
    results = []
    for qid, _q in queries:
        entry: dict = {
            "id": qid,
            "hits": [{"id": d, "rank": r, "score": round(s, 4)} for r, (d, s) in enumerate(found[qid], 1)],
        }
        if qid in errors:
            entry["error"] = {"code": QueryError.code, "message": errors[qid]}
        results.append(entry)
    return jsonify({"op": op, "limit": limit, "results": results})


@bp.get("/openapi.json")
def api_openapi():
    """The OpenAPI 3.1 description of this API."""
    from web.openapi import spec

    return jsonify(spec())


# ---------------------------------------------------------------- exports


def export_name(query: str, ext: str, today: date | None = None) -> tuple[str, str]:
    """``(ASCII fallback, UTF-8 name)`` of an export file: the query's words and the day.

    >>> export_name("قوات النظام / الرقة", "csv", date(2026, 12, 1))
    ('kashaf-search-2026-12-01.csv', 'kashaf-قوات-النظام-الرقة-2026-12-01.csv')
    """
    day = (today or date.today()).isoformat()
    words = re.findall(r"\w+", query)
    slug = "-".join(words)[:60].strip("-") or "search"
    ascii_slug = "-".join(w for w in words if w.isascii())[:60].strip("-") or "search"
    return f"kashaf-{ascii_slug}-{day}.{ext}", f"kashaf-{slug}-{day}.{ext}"


def _disposition(query: str, ext: str) -> str:
    fallback, name = export_name(query, ext)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def _meta_keys(snap: Snapshot) -> list[str]:
    """The stored metadata keys of the whole index (CSV columns), read once per generation."""
    found = snap.memo.get("meta_keys")
    if found is None:
        found = snap.memo["meta_keys"] = [
            r[0]
            for r in snap.db.execute(
                "SELECT DISTINCT j.key FROM docs, json_each(CASE WHEN json_valid(docs.meta) "
                "THEN docs.meta ELSE '{}' END) AS j ORDER BY j.key"
            )
        ]
    return found


state.WARM_HOOKS.append(_meta_keys)  # gunicorn's master reads the columns once for every worker


def _export_rows(snap: Snapshot, req: SearchRequest) -> tuple[list[str], Callable]:
    """The stored metadata keys and ``chunks(fmt)``: an iterator over every match, a batch of
    records (dicts) at a time, each batch written by ``fmt`` (to CSV or JSON Lines bytes).

    The query is evaluated once for the whole set (indexer/export.py), here, so that a bad
    query is a 400 before anything is sent; the rows are those of the search, in its order,
    with no cap. Each batch of :data:`indexer.export.BATCH` rows is one chunk of the
    response: one turn of the worker's lock and one write to the socket (web/worker.py).
    """
    meta_keys = _meta_keys(snap)
    params = asdict(req)
    for key in ("extra", "query", "op", "limit", "offset"):
        params.pop(key)
    try:
        result = export.ranked(snap, req.query, req.op, search_options(**params))
    except QueryError as exc:
        raise BadRequest(exc.code, str(exc)) from None
    grouped = dedupe.has_groups(snap.db)
    batches = -(-result.total // export.BATCH)

    def chunks(fmt: Callable[[list[dict]], bytes]) -> Iterator[bytes]:
        # (entity id, mention kind) -> (record key, {id, label, label_en, level}): facets' split
        # of groups (only actors that fight; the others are organizations), once per entity.
        info: dict[tuple[str, str], tuple[str, dict]] = {}

        def work(i: int) -> bytes:
            lo = i * export.BATCH
            hits = export.batch_hits(snap, result, lo, lo + export.BATCH, grouped=grouped, plain=True)
            return fmt([_record(h, info) for h in hits])

        for chunk in map(work, range(batches)):
            heartbeat.beat()  # a long export is working, not stuck
            caches.trim()  # and reads many new words: the memos stay within the worker's plan
            yield chunk

    return meta_keys, chunks


def _record(h: dict, info: dict) -> dict:
    """An export record of a hit of :func:`indexer.export.batch_hits`."""
    rec = {k: h[k] for k in ("id", "title", "date", "source", "url", "score", "matched", "group")}
    rec["snippet"] = h["snippet"] or ""
    ents: dict[str, list[dict]] = {"places": [], "groups": [], "organizations": []}
    for key in h["mentions"]:
        found = info.get(key) or info.setdefault(key, _entity(*key))
        seen = ents.get(found[0])
        if seen is not None and found[1] not in seen:  # each entity once
            seen.append(found[1])
    rec.update(ents)
    rec["meta"] = h["meta"]
    return rec


def _entity(entity_id: str, mention_kind: str) -> tuple[str, dict]:
    kind = mention_kind
    if kind == "group" and not gazetteer.is_armed(entity_id):
        kind = "organization"  # as the facets split them: only actors that fight are groups
    return kind + "s", _label(entity_id)


def _label(entity_id: str) -> dict:
    label, label_en = entity_label(entity_id)
    level = getattr(gazetteer.entities().get(entity_id), "level", "")
    return {"id": entity_id, "label": label or entity_id, "label_en": label_en, "level": level}


def _export_request() -> tuple[Snapshot, SearchRequest]:
    args = MultiDict(request.args)
    for key in ("limit", "offset", "lang"):  # the whole result set, whatever page it came from
        args.pop(key, None)
    return index_state().snapshot(), parse_search_args(args)


_FORMULA = frozenset({"", "=", "+", "-", "@", "\t", "\r"})  # and "": csv_cell() of "" is ""


def csv_cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe (OWASP).

    >>> csv_cell("=1+1"), csv_cell("-3.5"), csv_cell(None)
    ("'=1+1", '-3.5', '')
    """
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def export_csv(snap: Snapshot, req: SearchRequest) -> Response:
    """Every match as CSV (UTF-8 with BOM for spreadsheet apps), streamed batch by batch."""
    meta_keys, chunks = _export_rows(snap, req)

    def fmt(records: list[dict]) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf)
        for rec in records:
            row = [rec["id"], rec["title"], rec["date"], rec["source"], rec["url"], rec["score"]]
            row += [" ".join(rec["matched"]), rec["snippet"]]
            for kind in ("places", "groups", "organizations"):
                row += [" | ".join([e["id"] for e in rec[kind]]), " | ".join([e["label"] for e in rec[kind]])]
            row.append(rec["group"])
            for kind in ("places", "groups", "organizations"):
                row.append(" | ".join([e["label_en"] or e["id"] for e in rec[kind]]))
            row += [_meta_text(rec["meta"].get(k)) for k in meta_keys]
            # csv_cell() only where it may change the cell: most cells are text starting safely.
            writer.writerow([v if v.__class__ is str and v[:1] not in _FORMULA else csv_cell(v) for v in row])
        return buf.getvalue().encode()

    def lines() -> Iterator[bytes]:
        buf = io.StringIO()
        csv.writer(buf).writerow([*EXPORT_FIELDS, *(f"meta.{k}" for k in meta_keys)])
        yield ("\ufeff" + buf.getvalue()).encode()
        yield from chunks(fmt)

    headers = {"Content-Disposition": _disposition(req.query, "csv")}
    return Response(stream_with_context(lines()), mimetype="text/csv", headers=headers)


def export_jsonl(snap: Snapshot, req: SearchRequest) -> Response:
    """Every match as one JSON object per line (UTF-8, not escaped), streamed."""
    _keys, chunks = _export_rows(snap, req)

    def fmt(records: list[dict]) -> bytes:
        return "".join([json.dumps(rec, ensure_ascii=False) + "\n" for rec in records]).encode()

    headers = {"Content-Disposition": _disposition(req.query, "jsonl")}
    return Response(stream_with_context(chunks(fmt)), mimetype="application/x-ndjson", headers=headers)


def _meta_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@bp.get("/search.csv")
def api_search_csv():
    """Every match as CSV (see :data:`EXPORT_COLUMNS`)."""
    return export_csv(*_export_request())


@bp.get("/search.jsonl")
def api_search_jsonl():
    """Every match as JSON Lines."""
    return export_jsonl(*_export_request())
