"""The OpenAPI 3.1 description of the JSON API (served at ``/api/openapi.json``).

Schemas are plain JSON Schema (2020-12), so tests validate real responses
against them with ``jsonschema``.
"""

from __future__ import annotations

from functools import lru_cache

from indexer.query import MAX_QUERY_CHARS
from web.api import EXPORT_COLUMNS, MAX_BATCH, MAX_LIMIT, MAX_OFFSET

_STR_OR_NULL = {"type": ["string", "null"]}
_LEVEL = {"enum": ["exact", "stem", "root", "entity"]}


def _param(name: str, schema: dict, description: str, explode: bool = False) -> dict:
    p = {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    if explode:
        p.update(style="form", explode=True)
    return p


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


SCHEMAS: dict = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "Hit": {
        "type": "object",
        "required": ["id", "title", "date", "source", "url", "score", "snippet", "matched"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "date": _STR_OR_NULL,
            "source": _STR_OR_NULL,
            "url": _STR_OR_NULL,
            "score": {"type": "number"},
            "snippet": {"type": "string", "description": "HTML-escaped text; matches in <mark>"},
            "matched": {"type": "array", "items": _LEVEL, "description": "levels at which query words occur"},
            "group": {"type": "string", "description": "story group id (copies of one story share it)"},
            "copies": {
                "type": "array",
                "description": "with dedupe=1: the group's other matching reports, oldest first",
                "items": {"$ref": "#/components/schemas/Copy"},
            },
        },
    },
    "Copy": {
        "type": "object",
        "required": ["id", "title", "date", "source", "url"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "date": _STR_OR_NULL,
            "source": _STR_OR_NULL,
            "url": _STR_OR_NULL,
        },
    },
    "EntityFacet": {
        "type": "object",
        "required": ["id", "label", "label_en", "level", "parent", "count"],
        "properties": {
            "id": {"type": "string"},
            "label": {"type": "string"},
            "label_en": _STR_OR_NULL,
            "level": _STR_OR_NULL,
            "parent": _STR_OR_NULL,
            "count": {"type": "integer", "minimum": 1},
        },
    },
    "EntityRef": {
        "type": "object",
        "required": ["id", "label", "label_en", "level"],
        "properties": {
            "id": {"type": "string"},
            "label": {"type": "string"},
            "label_en": _STR_OR_NULL,
            "level": {"type": "string"},
            "start": _STR_OR_NULL,
            "end": _STR_OR_NULL,
        },
    },
    "EntitySummary": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "level",
            "label",
            "label_en",
            "name_ar",
            "name_en",
            "aliases_ar",
            "aliases_en",
            "parent",
            "armed",
            "count",
            "url",
            "search_url",
        ],
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": ["place", "group"]},
            "level": {"type": "string", "description": "place level or group kind"},
            "label": {"type": "string"},
            "label_en": _STR_OR_NULL,
            "name_ar": {"type": "string"},
            "name_en": {"type": "string"},
            "aliases_ar": {"type": "array", "items": {"type": "string"}},
            "aliases_en": {"type": "array", "items": {"type": "string"}},
            "parent": _STR_OR_NULL,
            "armed": {"type": ["boolean", "null"], "description": "groups: whether it fights; places: null"},
            "count": {"type": "integer", "minimum": 0},
            "url": {"type": "string"},
            "search_url": {"type": "string"},
        },
    },
    "EntityList": {
        "type": "object",
        "required": ["entities"],
        "properties": {
            "entities": {"type": "array", "items": {"$ref": "#/components/schemas/EntitySummary"}}
        },
    },
    "Entity": {
        "type": "object",
        "required": ["id", "kind", "level", "label", "name_ar", "name_en", "ancestors", "children", "months"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": ["place", "group"]},
            "parent": {"oneOf": [{"$ref": "#/components/schemas/EntityRef"}, {"type": "null"}]},
            "ancestors": {"type": "array", "items": {"$ref": "#/components/schemas/EntityRef"}},
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/EntityRef"}},
            "predecessors": {"type": "array", "items": {"$ref": "#/components/schemas/EntityRef"}},
            "successors": {"type": "array", "items": {"$ref": "#/components/schemas/EntityRef"}},
            "lat": {"type": ["number", "null"]},
            "lon": {"type": ["number", "null"]},
            "start": _STR_OR_NULL,
            "end": _STR_OR_NULL,
            "months": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["month", "count", "search_url"],
                    "properties": {
                        "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                        "count": {"type": "integer", "minimum": 1},
                        "search_url": {"type": "string"},
                    },
                },
            },
        },
    },
    "Facets": {
        "type": "object",
        "properties": {
            "place": {"type": "array", "items": {"$ref": "#/components/schemas/EntityFacet"}},
            "group": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/EntityFacet"},
                "description": "armed actors (groups, state and foreign forces)",
            },
            "organization": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/EntityFacet"},
                "description": "groups that do not fight: monitors, NGOs, political bodies, governments",
            },
            "source": {
                "type": "array",
                "description": "sources, case-insensitively (shown in their most common spelling)",
                "items": {
                    "type": "object",
                    "required": ["value", "count"],
                    "properties": {"value": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
                },
            },
            "date": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["month", "count"],
                    "properties": {
                        "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                        "count": {"type": "integer", "minimum": 1},
                    },
                },
            },
            "timeline": {"anyOf": [{"$ref": "#/components/schemas/Timeline"}, {"type": "null"}]},
        },
    },
    "Timeline": {
        "type": "object",
        "description": "matches by date over the selected range (from/to, else the matches' first and "
        "last date); the unit adapts to the range; empty buckets are kept",
        "required": ["unit", "from", "to", "undated", "before", "after", "buckets"],
        "properties": {
            "unit": {"enum": ["day", "week", "month", "year", None]},
            "from": _STR_OR_NULL,
            "to": _STR_OR_NULL,
            "undated": {"type": "integer", "minimum": 0},
            "before": {"type": "integer", "minimum": 0, "description": "stray early dates left out"},
            "after": {"type": "integer", "minimum": 0, "description": "stray late dates left out"},
            "buckets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["start", "end", "count"],
                    "properties": {
                        "start": {"type": "string", "format": "date"},
                        "end": {"type": "string", "format": "date"},
                        "count": {"type": "integer", "minimum": 0},
                    },
                },
            },
        },
    },
    "Similar": {
        "type": "object",
        "required": ["id", "similar"],
        "properties": {
            "id": {"type": "string"},
            "similar": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "title", "date", "source", "url", "score"],
                    "properties": {
                        "id": {"type": "string"},
                        "title": {"type": "string"},
                        "date": _STR_OR_NULL,
                        "source": _STR_OR_NULL,
                        "url": _STR_OR_NULL,
                        "score": {"type": "number"},
                    },
                },
            },
        },
    },
    "ExplainWord": {
        "type": "object",
        "required": ["word", "level", "exact", "stem", "root", "excluded"],
        "properties": {
            "word": {"type": "string"},
            "level": {"enum": ["all", "exact", "root", "prefix"]},
            "scope": {"enum": ["any", "title"]},
            "exact": _STR_OR_NULL,
            "stem": _STR_OR_NULL,
            "root": _STR_OR_NULL,
            "excluded": {"type": "boolean"},
            "name": {"type": "string"},
            "entities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "kind", "label"],
                    "properties": {
                        "id": {"type": "string"},
                        "kind": {"enum": ["place", "group"]},
                        "label": {"type": "string"},
                        "label_en": _STR_OR_NULL,
                    },
                },
            },
        },
    },
    "Explain": {
        "type": "object",
        "required": ["op", "read_as", "words", "phrases", "excluded", "ignored", "filters", "sort", "notes"],
        "properties": {
            "op": {"enum": ["and", "or"]},
            "read_as": {"type": "string"},
            "words": {"type": "array", "items": {"$ref": "#/components/schemas/ExplainWord"}},
            "phrases": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["phrase", "normalized", "excluded"],
                    "properties": {
                        "phrase": {"type": "string"},
                        "normalized": {"type": "array", "items": {"type": "string"}},
                        "excluded": {"type": "boolean"},
                    },
                },
            },
            "excluded": {"type": "array", "items": {"type": "string"}},
            "ignored": {"type": "array", "items": {"type": "string"}},
            "filters": {
                "type": "object",
                "required": ["place", "group", "source", "from", "to", "with_successors"],
                "properties": {
                    "place": {"type": "array", "items": {"type": "string"}},
                    "group": {"type": "array", "items": {"type": "string"}},
                    "source": {"type": "array", "items": {"type": "string"}},
                    "from": _STR_OR_NULL,
                    "to": _STR_OR_NULL,
                    "required": {"$ref": "#/components/schemas/RequiredClauses"},
                    "with_successors": {"type": "boolean"},
                    "with_predecessors": {"type": "boolean"},
                },
            },
            "sort": {"enum": ["relevance", "newest", "oldest", "date"]},
            "notes": {"type": "array", "items": {"type": "string"}},
            "prefixes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["prefix", "terms", "seen", "complete"],
                    "properties": {
                        "prefix": {"type": "string"},
                        "terms": {"type": "array", "items": {"type": "string"}},
                        "seen": {"type": "integer"},
                        "complete": {"type": "boolean"},
                    },
                },
            },
            "reading": {
                "type": "object",
                "description": "The query as read: the tree (nodes typed word, prefix, phrase, name, "
                "and, or; and/or nodes have children and excluded) and the query's own filters.",
                "required": ["node", "filters"],
                "properties": {
                    "node": {"oneOf": [{"type": "object"}, {"type": "null"}]},
                    "filters": {"type": "object"},
                },
            },
        },
    },
    "RequiredClauses": {
        "type": "array",
        "description": "Further filter clauses that must hold too (place:A AND place:B, or URL "
        "filters beside the query's own).",
        "items": {
            "type": "object",
            "required": ["kind", "ids"],
            "properties": {
                "kind": {"enum": ["place", "group", "source"]},
                "ids": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["query", "level", "total", "hits", "facets", "explain", "suggestion", "broaden"],
        "properties": {
            "query": {"type": "string"},
            "level": {"enum": ["stem", "root"]},
            "total": {"type": "integer", "minimum": 0},
            "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {"$ref": "#/components/schemas/Facets"},
            "explain": {"$ref": "#/components/schemas/Explain"},
            "suggestion": {
                "type": ["string", "null"],
                "description": "a query that finds something, when none did",
            },
            "broaden": {
                "type": ["object", "null"],
                "description": "with level=stem: how many more documents level=root would match",
                "required": ["level", "more"],
                "properties": {"level": {"const": "root"}, "more": {"type": "integer", "minimum": 1}},
            },
            "partial": {
                "const": True,
                "description": "set when part of a cluster did not answer: total, facets are lower bounds",
            },
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Mention": {
        "type": "object",
        "required": ["entity_id", "kind", "field", "start", "end", "label", "label_en"],
        "properties": {
            "entity_id": {"type": "string"},
            "kind": {"enum": ["place", "group"]},
            "field": {"enum": ["title", "body"]},
            "start": {"type": "integer", "minimum": 0},
            "end": {"type": "integer", "minimum": 0},
            "label": _STR_OR_NULL,
            "label_en": _STR_OR_NULL,
        },
    },
    "Document": {
        "type": "object",
        "required": ["id", "title", "text", "date", "source", "url", "meta", "mentions"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "text": {"type": "string"},
            "date": _STR_OR_NULL,
            "source": _STR_OR_NULL,
            "url": _STR_OR_NULL,
            "meta": {"type": "object"},
            "mentions": {"type": "array", "items": {"$ref": "#/components/schemas/Mention"}},
            "group": {"type": "string", "description": "story group id"},
            "group_members": {
                "type": "array",
                "description": "every report of the story group (this one included), oldest first",
                "items": {"$ref": "#/components/schemas/Copy"},
            },
        },
    },
    "BatchRequest": {
        "type": "object",
        "required": ["queries"],
        "additionalProperties": False,
        "properties": {
            "queries": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "items": {
                    "type": "object",
                    "required": ["q"],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": ["string", "integer"]},
                        "q": {"type": "string", "maxLength": MAX_QUERY_CHARS},
                    },
                },
            },
            "op": {"enum": ["and", "or"], "default": "and"},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10},
        },
    },
    "BatchResponse": {
        "type": "object",
        "required": ["op", "limit", "results"],
        "properties": {
            "op": {"enum": ["and", "or"]},
            "limit": {"type": "integer"},
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "hits"],
                    "properties": {
                        "id": {"type": "string"},
                        "hits": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["id", "rank", "score"],
                                "properties": {
                                    "id": {"type": "string"},
                                    "rank": {"type": "integer", "minimum": 1},
                                    "score": {"type": "number"},
                                },
                            },
                        },
                        "error": {"$ref": "#/components/schemas/Error/properties/error"},
                    },
                },
            },
        },
    },
}


# Answers any operation can give besides its own: the server refuses an over-long request
# line (414) and any route answers 503 before the first index exists; a bad parameter is 400.
COMMON_ERRORS = {
    "400": "a parameter that cannot be read",
    "414": "request line over 8190 bytes (answered by the server)",
    "503": "no index yet",
}


@lru_cache(maxsize=1)
def spec() -> dict:
    """The OpenAPI description, every operation documenting the common errors too."""
    out = _spec()
    for path, ops in out["paths"].items():
        if path == "/api/openapi.json":
            continue
        for op in ops.values():
            for status, text in COMMON_ERRORS.items():
                op["responses"].setdefault(status, _error(text))
    return out


def _export_op(kind: str, mime: str, summary: str, search_params: list[dict]) -> dict:
    """One export operation: the search parameters but paging, every match as ``mime``."""
    return {
        "get": {
            "summary": summary,
            "operationId": f"export_{kind}",
            "parameters": [p for p in search_params if p["name"] not in ("limit", "offset")],
            "responses": {
                "200": {"description": EXPORT_COLUMNS, "content": {mime: {}}},
                "400": _error("bad parameter or unreadable query"),
            },
        }
    }


def _spec() -> dict:
    """The OpenAPI document."""
    # Empty means no bound (the search form sends empty fields); year 0000 does not exist.
    year = "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
    date = {
        "type": "string",
        "pattern": f"^$|^{year}(-(0?[1-9]|1[0-2])(-(0?[1-9]|[12][0-9]|3[01]))?)?$",
    }
    search_params = [
        _param("q", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "the query (see docs/search.md)"),
        _param("op", {"enum": ["and", "or", ""], "default": "and"}, "and: every word must match; or: any"),
        _param(
            "place",
            {"type": "array", "items": {"type": "string"}},
            "place id or name (repeatable; any; includes sub-places)",
            True,
        ),
        _param(
            "group",
            {"type": "array", "items": {"type": "string"}},
            "group id or name (repeatable; includes sub-units)",
            True,
        ),
        _param(
            "with_successors",
            {"enum": ["true", "false", "1", "0", "yes", "no", "on", "off", ""], "default": "false"},
            "group filters also take the groups' successors",
        ),
        _param(
            "with_predecessors",
            {"enum": ["true", "false", "1", "0", "yes", "no", "on", "off", ""], "default": "false"},
            "group filters also take the groups' predecessors (hts: jfs, nusra)",
        ),
        _param(
            "source",
            {"type": "array", "items": {"type": "string"}},
            "source name, any case (repeatable; any)",
            True,
        ),
        _param("from", date, "first day: YYYY, YYYY-MM or YYYY-MM-DD"),
        _param("to", date, "last day: YYYY, YYYY-MM or YYYY-MM-DD (the whole period)"),
        _param(
            "level",
            {"enum": ["stem", "root", ""], "default": "stem"},
            "stem: words match at their exact and light-stem forms (names as names); "
            "root: also at their root (broader, less precise)",
        ),
        _param(
            "dedupe",
            {"enum": ["true", "false", "1", "0", "yes", "no", "on", "off", ""], "default": "false"},
            "one entry per story group (copies in hits[].copies); total and facets count groups",
        ),
        _param(
            "sort",
            {"enum": ["relevance", "newest", "oldest", "date", ""], "default": "relevance"},
            "newest (date is the same) or oldest first; undated reports last",
        ),
        _param(
            "limit",
            {
                "anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, {"const": ""}],
                "default": 20,
            },
            "hits per page (ASCII digits)",
        ),
        _param(
            "offset",
            {
                "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}, {"const": ""}],
                "default": 0,
            },
            "hits to skip (ASCII digits)",
        ),
    ]
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Kashaf API",
            "version": "1",
            "description": (
                "Search Arabic war reporting. Unknown parameters are rejected (400); "
                "an empty value means the parameter's default."
            ),
        },
        "paths": {
            "/api/search": {
                "get": {
                    "summary": "Search (the same object as `kashaf search --json`)",
                    "operationId": "search",
                    "parameters": search_params,
                    "responses": {
                        "200": _json(
                            "SearchResponse", "ranked hits, facets over all matches, how the query was read"
                        ),
                        "400": _error("bad parameter or unreadable query"),
                        "414": _error("request line over 8190 bytes (answered by the server)"),
                        "503": _error("no index yet"),
                    },
                }
            },
            "/api/documents/{id}": {
                "get": {
                    "summary": "One document with its metadata and entity mentions",
                    "operationId": "document",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _json("Document", "the document"),
                        "400": _error("a query parameter (this endpoint takes none)"),
                        "414": _error("request line over 8190 bytes (answered by the server)"),
                        "404": _error("no document with this id"),
                        "503": _error("no index yet"),
                    },
                }
            },
            "/api/documents/{id}/similar": {
                "get": {
                    "summary": "Reports that share this one's key terms (more-like-this on light stems)",
                    "operationId": "similar",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        _param(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
                            "how many",
                        ),
                    ],
                    "responses": {
                        "200": _json("Similar", "the most similar reports, best first"),
                        "400": _error("bad parameter"),
                        "404": _error("no document with this id"),
                        "503": _error("no index yet"),
                    },
                }
            },
            "/api/search.csv": _export_op(
                "csv",
                "text/csv",
                "Every match (not one page) as CSV, streamed (UTF-8 with BOM)",
                search_params,
            ),
            "/api/search.jsonl": _export_op(
                "jsonl",
                "application/x-ndjson",
                "Every match as JSON Lines, streamed (one object per report)",
                search_params,
            ),
            "/api/batch": {
                "post": {
                    "summary": f"Run up to {MAX_BATCH} queries with one searcher",
                    "operationId": "batch",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}
                        },
                    },
                    "responses": {
                        "200": _json(
                            "BatchResponse", "ranked ids per query; an unreadable query carries an error"
                        ),
                        "400": _error("malformed body"),
                        "413": _error("body over 1 MiB"),
                        "503": _error("no index yet"),
                    },
                }
            },
            "/api/entities": {
                "get": {
                    "summary": "Every place and group some document names, with its document count",
                    "operationId": "entities",
                    "parameters": [
                        _param("kind", {"enum": ["place", "group"]}, "only places or only groups"),
                        _param(
                            "all", {"type": "boolean", "default": False}, "also entities no document names"
                        ),
                    ],
                    "responses": {
                        "200": _json("EntityList", "the entities (as `kashaf entities --json`)"),
                        "400": _error("bad parameter"),
                        "503": _error("no index yet"),
                    },
                }
            },
            "/api/entities/{id}": {
                "get": {
                    "summary": "One place or group: names, kind, hierarchy, lineage, reports per month",
                    "operationId": "entity",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "an id, or an Arabic or English name (answers its id)",
                        }
                    ],
                    "responses": {
                        "200": _json("Entity", "the entity (as `kashaf entities ID --json`)"),
                        "404": _error("no place or group by that id or name"),
                        "503": _error("no index yet"),
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This description",
                    "operationId": "openapi",
                    "responses": {
                        "200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}
                    },
                }
            },
        },
        "components": {"schemas": SCHEMAS},
    }
