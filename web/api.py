"""The JSON API over the search core: ``/api/search``, ``/api/documents/<id>``,
``POST /api/batch`` and ``/api/openapi.json`` (the contract, web/openapi.py).

The HTML pages reuse :func:`parse_search_args` and :func:`run_search` for their JSON
twins, so both read parameters and answer the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from flask import Blueprint, jsonify, request
from werkzeug.datastructures import MultiDict

from analyzers import gazetteer
from indexer.query import MAX_QUERY_CHARS, QueryError
from indexer.search import batch as run_batch
from indexer.search import search
from indexer.store import Snapshot
from web import error_response, index_state
from web.state import IndexNotFound

bp = Blueprint("api", __name__)

SEARCH_PARAMS = frozenset(
    {
        "q",
        "op",
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
)
REPEATABLE = frozenset({"place", "group", "source"})
MAX_LIMIT = 100
MAX_OFFSET = 100_000
MAX_BATCH = 100
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
    limit: int = 20
    offset: int = 0
    extra: dict = field(default_factory=dict)


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("invalid_parameter", f"{name} must be a whole number, not {raw!r}") from None
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
    wp = (args.get("with_predecessors") or "").lower()
    if wp not in TRUE + FALSE:
        raise BadRequest("invalid_parameter", "with_predecessors must be true or false")
    return SearchRequest(
        query=q,
        op=_choice(args, "op", "and", ("and", "or")),
        place=tuple(v for v in args.getlist("place") if v),
        group=tuple(v for v in args.getlist("group") if v),
        with_successors=ws in TRUE,
        with_predecessors=wp in TRUE,
        source=tuple(v for v in args.getlist("source") if v),
        date_from=args.get("from") or None,
        date_to=args.get("to") or None,
        sort=_choice(args, "sort", "relevance", ("relevance", "date")),
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
        return search(snap or index_state().snapshot(), snippets=snippets, facets=facets, **params)
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
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest("invalid_parameter", f"limit must be a whole number between 1 and {MAX_LIMIT}")
    return out, op, limit


@bp.post("/batch")
def api_batch():
    """Many queries with one searcher: ranked ids and scores per query (no snippets or facets)."""
    if request.args:
        raise BadRequest("unknown_parameter", f"unknown parameter(s): {', '.join(sorted(request.args))}")
    body = request.get_json(silent=True)
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
