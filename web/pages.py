"""The HTML pages (server-rendered, Arabic first, right-to-left) and their JSON/CSV twins.

Every page works without JavaScript: the whole search state (query, filters,
sort, page, interface language) lives in the URL, and each facet value is a
link that toggles its filter. ``/search.json`` and ``/documents/<id>.json`` answer
exactly what the JSON API answers, by calling the API's own views.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import math
import re
from collections.abc import Iterator
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from analyzers import gazetteer
from analyzers.normalize import normalize
from analyzers.roots import root
from analyzers.stem import light_stem
from analyzers.tokenize import tokenize
from indexer.search import query_words
from web import api, error_response, index_state
from web.build_map import HEIGHT, WIDTH, in_window, project
from web.i18n import kind_label, lang_of, t
from web.state import IndexNotFound

bp = Blueprint("pages", __name__, template_folder="templates")

LIST_KEYS = ("place", "group", "source")
PAGE_KEYS = api.SEARCH_PARAMS | {"lang"}
MAX_QUERY_CHARS = 1000
DEFAULT_LIMIT = 20
CSV_BATCH = 200
EXAMPLES = ("انسحاب", "الرقة", "قوات النظام", "داعش حلب", "المرصد السوري")
# Map labels that would overlap a neighbour's, moved a little (SVG units).
LABEL_NUDGE = {"sy-damascus": (-15, -20), "sy-quneitra": (0, -4), "sy-daraa": (0, 10), "sy-suwayda": (22, 4)}


# ---------------------------------------------------------------- parameters


def parse_params(args: MultiDict) -> dict:
    """The page's state: the API's parameters (same validation, same errors) plus ``lang``.

    A dict because the templates and URL builders read and change it.
    """
    req = api.parse_search_args(args, allowed=PAGE_KEYS)
    return {
        "q": req.query.strip(),
        "lang": lang_of(args.get("lang")),
        "op": req.op,
        "sort": req.sort,
        "place": list(dict.fromkeys(req.place)),
        "group": list(dict.fromkeys(req.group)),
        "source": list(dict.fromkeys(req.source)),
        "with_successors": req.with_successors,
        "with_predecessors": req.with_predecessors,
        "from": req.date_from or "",
        "to": req.date_to or "",
        "limit": req.limit,
        "offset": req.offset,
    }


def has_filters(p: dict) -> bool:
    return any(p[k] for k in (*LIST_KEYS, "from", "to"))


# ---------------------------------------------------------------- the search core


def run_search(snap, p: dict, *, limit: int, offset: int, snippets: bool = True, facets: bool = True) -> dict:
    """The API's search for a page state, on the snapshot ``snap``."""
    req = api.SearchRequest(
        query=p["q"],
        op=p["op"],
        place=tuple(p["place"]),
        group=tuple(p["group"]),
        with_successors=p["with_successors"],
        with_predecessors=p.get("with_predecessors", False),
        source=tuple(p["source"]),
        date_from=p["from"] or None,
        date_to=p["to"] or None,
        sort=p["sort"],
        limit=limit,
        offset=offset,
    )
    return api.run_search(req, snippets=snippets, facets=facets, snap=snap)


# ---------------------------------------------------------------- URLs


def pairs(p: dict) -> list[tuple[str, str]]:
    """The URL parameters of a state, defaults left out so URLs stay short."""
    out: list[tuple[str, str]] = []
    if p["q"]:
        out.append(("q", p["q"]))
    for key in LIST_KEYS:
        out.extend((key, v) for v in p[key])
    if p.get("with_successors"):
        out.append(("with_successors", "true"))
    if p.get("with_predecessors"):
        out.append(("with_predecessors", "true"))
    for key, default in (("from", ""), ("to", ""), ("op", "and"), ("sort", "relevance"), ("offset", 0)):
        if p[key] != default:
            out.append((key, str(p[key])))
    if p["limit"] != DEFAULT_LIMIT:
        out.append(("limit", str(p["limit"])))
    if p["lang"] != "ar":
        out.append(("lang", p["lang"]))
    return out


def search_url(p: dict, endpoint: str = "pages.search_page", **changes) -> str:
    """URL of the state ``p`` changed by ``changes``; a filter change goes back to page one."""
    state = {**p, **changes}
    if "offset" not in changes:
        state["offset"] = 0
    query = urlencode(pairs(state))
    return url_for(endpoint) + ("?" + query if query else "")


def toggle_url(p: dict, key: str, value: str) -> str:
    """URL that adds the filter ``key=value``, or removes it when it is on."""
    values = [v for v in p[key] if v != value] if value in p[key] else [*p[key], value]
    return search_url(p, **{key: values})


def month_range(month: str) -> tuple[str, str]:
    """First and last day of a ``YYYY-MM`` month.

    >>> month_range("2016-02")
    ('2016-02-01', '2016-02-29')
    """
    year, mon = int(month[:4]), int(month[5:7])
    return f"{month}-01", f"{month}-{calendar.monthrange(year, mon)[1]:02d}"


def month_url(p: dict, month: str) -> str:
    """Filter to one month; the same link again removes it."""
    start, end = month_range(month)
    if p["from"] == start and p["to"] == end:
        return search_url(p, **{"from": "", "to": ""})
    return search_url(p, **{"from": start, "to": end})


def doc_url(doc_id: str, p: dict) -> str:
    args = {k: v for k, v in (("q", p["q"]), ("lang", p["lang"] if p["lang"] != "ar" else "")) if v}
    return url_for("pages.document_page", doc_id=doc_id, **args)


# ---------------------------------------------------------------- labels, facets, charts


def entity_label(entity_id: str, lang: str, item: dict | None = None) -> str:
    """Display name of a place or group: the facet's own label, else the gazetteer's."""
    if item:
        label = item.get("label_en") if lang == "en" else item.get("label")
        if label:
            return label
    e = gazetteer.entities().get(entity_id)
    if e is None:
        return entity_id
    return (e.name_en or e.label or e.name_ar) if lang == "en" else (e.label or e.name_ar)


def place_tree(items: list[dict]) -> list[dict]:
    """Facet places as a forest: each node ``{item, children}``; roots are those whose parent is absent."""
    nodes = {i["id"]: {"item": i, "children": []} for i in items}
    roots = []
    for i in items:
        parent = i.get("parent")
        (nodes[parent]["children"] if parent in nodes and parent != i["id"] else roots).append(nodes[i["id"]])
    for n in nodes.values():
        n["children"].sort(key=lambda c: -c["item"].get("count", 0))
    return sorted(roots, key=lambda c: -c["item"].get("count", 0))


def group_sections(items: list[dict]) -> list[tuple[str, list[dict]]]:
    """Facet groups by kind, biggest kind first."""
    by_kind: dict[str, list[dict]] = {}
    for i in items:
        by_kind.setdefault(i.get("level") or "", []).append(i)
    return sorted(by_kind.items(), key=lambda kv: -sum(i.get("count", 0) for i in kv[1]))


def month_span(months: list[str], cap: int = 240) -> list[str]:
    """Every month from the first to the last of ``months`` (gaps shown as empty bars), at most ``cap``.

    >>> month_span(["2016-11", "2017-02"])
    ['2016-11', '2016-12', '2017-01', '2017-02']
    """
    first, last = min(months), max(months)
    year, mon = int(first[:4]), int(first[5:7])
    out = []
    while len(out) < cap:
        m = f"{year:04d}-{mon:02d}"
        out.append(m)
        if m >= last:
            break
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return out


def histogram(months: list[dict], p: dict) -> dict | None:
    """Bars of the date facet as SVG geometry (attributes, not styles: the CSP forbids inline style).

    Months without reports between the first and the last keep their place as empty slots.
    """
    counts = {
        m["month"][:7]: m.get("count", 0) for m in months if re.match(r"^\d{4}-\d{2}", m.get("month") or "")
    }
    if not counts:
        return None
    span = month_span(list(counts))
    top = max(counts.values()) or 1
    slot = max(3.0, min(24.0, 300 / len(span)))
    height = 80
    bars = []
    for i, month in enumerate(span):
        count = counts.get(month, 0)
        if not count:
            continue
        h = max(2.0, round(height * count / top, 1))
        start, end = month_range(month)
        bars.append(
            {
                "x": round(i * slot, 1),
                "y": height - h,
                "w": round(slot * 0.8, 1),
                "h": h,
                "month": month,
                "count": count,
                "href": month_url(p, month),
                "active": p["from"] == start and p["to"] == end,
            }
        )
    return {
        "bars": bars,
        "width": max(300, round(len(span) * slot, 1)),
        "height": height,
        "first": span[0],
        "last": span[-1],
    }


def map_points(places: list[dict], p: dict) -> list[dict]:
    """Circles for the matching places that have coordinates on the map, biggest drawn first."""
    table = gazetteer.entities()
    found = []
    for item in places:
        e = table.get(item["id"])
        if e is None or (item.get("level") or e.level) == "country" or not in_window(e.lat, e.lon):
            continue
        found.append((item, e))
    top = max((i.get("count", 0) for i, _ in found), default=1) or 1
    points = []
    for item, e in sorted(found, key=lambda pe: -pe[0].get("count", 0)):
        x, y = project(e.lat, e.lon)
        points.append(
            {
                "x": x,
                "y": y,
                "r": round(7 + 21 * math.sqrt(item.get("count", 0) / top), 1),
                "label": entity_label(item["id"], p["lang"], item),
                "count": item.get("count", 0),
                "href": toggle_url(p, "place", item["id"]),
                "active": item["id"] in p["place"],
            }
        )
    return points


def governorate_labels(lang: str) -> list[dict]:
    """Names of Syria's governorates at their approximate centres (the map's cells are approximate too)."""
    out = []
    for e in gazetteer.entities().values():
        if e.kind == "place" and e.level == "governorate" and e.parent == "sy" and in_window(e.lat, e.lon):
            x, y = project(e.lat, e.lon)
            dx, dy = LABEL_NUDGE.get(e.id, (0, 0))
            out.append({"x": x + dx, "y": y + dy, "label": entity_label(e.id, lang)})
    return out


def active_chips(p: dict) -> list[dict]:
    """The active filters as removable chips."""
    chips = [
        {
            "label": entity_label(v, p["lang"]) if key != "source" else v,
            "key": key,
            "href": toggle_url(p, key, v),
        }
        for key in LIST_KEYS
        for v in p[key]
    ]
    if p["from"] or p["to"]:
        label = f"{p['from'] or '…'} – {p['to'] or '…'}"
        chips.append({"label": label, "key": "date", "href": search_url(p, **{"from": "", "to": ""})})
    return chips


# ---------------------------------------------------------------- document text


def _hit_sets(words: list[str]) -> tuple[set[str], set[str], set[str]]:
    return (
        {normalize(w) for w in words},
        {light_stem(w) for w in words} - {""},
        {root(w) for w in words} - {""},
    )


def highlight(text: str, words: list[str], mentions: list[dict], p: dict) -> Markup:
    """``text`` escaped, query matches in ``<mark>``, place/group mentions linked to their filter.

    Mentions index the original text; overlapping ones keep the first. Only our own
    tags are markup: every character of the document goes through ``escape``.
    """
    exact, stems, roots = _hit_sets(words)
    hits = [
        (tok.start, tok.end)
        for tok in tokenize(text)
        if words
        and (normalize(tok.text) in exact or light_stem(tok.text) in stems or root(tok.text) in roots)
    ]
    out: list[str] = []
    pos = 0

    def plain(start: int, end: int) -> None:
        cur = start
        for a, b in hits:
            if a >= cur and b <= end:
                out.append(escape(text[cur:a]))
                out.append(Markup("<mark>%s</mark>") % text[a:b])
                cur = b
        out.append(escape(text[cur:end]))

    for m in sorted(mentions, key=lambda m: (m["start"], -m["end"])):
        start, end = m["start"], m["end"]
        if start < pos or end > len(text) or end <= start:
            continue
        plain(pos, start)
        key = "place" if m["kind"] == "place" else "group"
        label = entity_label(m["entity_id"], p["lang"])
        out.append(
            Markup('<a class="ent ent-%s" href="%s" title="%s">')
            % (key, search_url(p, **{key: [m["entity_id"]]}), label)
        )
        plain(start, end)
        out.append(Markup("</a>"))
        pos = end
    plain(pos, len(text))
    return Markup("").join(out)


# ---------------------------------------------------------------- views


@bp.app_context_processor
def labels():
    lang = lang_of(request.args.get("lang")) if request else "ar"
    return {"t": lambda key: t(key, lang), "lang": lang, "kind_label": lambda k: kind_label(k, lang)}


def page_error(status: int, code: str, message: str, lang: str = "ar"):
    key = {400: "bad_request", 404: "not_found", 503: "not_ready"}.get(status, "bad_request")
    return render_template(
        "error.html", status=status, code=code, message=message, heading=key, lang=lang
    ), status


@bp.get("/")
@bp.get("/search")
def search_page():
    """The search page; with no query and no filter, the welcome page."""
    lang = lang_of(request.args.get("lang"))
    try:
        p = parse_params(request.args)
        snap = index_state().snapshot()
        if not p["q"] and not has_filters(p):
            count = snap.db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
            examples = [(ex, search_url({**p, "q": ex})) for ex in EXAMPLES]
            lang_url = search_url(p, lang="ar" if p["lang"] == "en" else "en")
            return render_template("welcome.html", p=p, doc_count=count, examples=examples, lang_url=lang_url)
        result = run_search(snap, p, limit=p["limit"], offset=p["offset"])
    except api.BadRequest as exc:
        return page_error(400, exc.code, str(exc), lang)
    except IndexNotFound as exc:
        return page_error(503, "index_not_ready", str(exc), lang)
    return render_template("search.html", **search_context(p, result))


def search_context(p: dict, r: dict) -> dict:
    hits = [{**h, "href": doc_url(h["id"], p)} for h in r["hits"]]
    pages = {
        "prev": search_url(p, offset=max(0, p["offset"] - p["limit"])) if p["offset"] > 0 else None,
        "next": search_url(p, offset=p["offset"] + p["limit"])
        if p["offset"] + p["limit"] < r["total"]
        else None,
        "number": p["offset"] // p["limit"] + 1,
        "count": max(1, math.ceil(r["total"] / p["limit"])),
    }
    places = r["facets"]["place"]
    return {
        "p": p,
        "r": r,
        "hits": hits,
        "pages": pages,
        "chips": active_chips(p),
        "clear_url": search_url(p, place=[], group=[], source=[], **{"from": "", "to": ""}),
        "place_tree": place_tree(places),
        "groups": group_sections(r["facets"]["group"]),
        "organizations": group_sections(r["facets"].get("organization", [])),
        "histogram": histogram(r["facets"]["date"], p),
        "map": {
            "points": map_points(places, p),
            "labels": governorate_labels(p["lang"]),
            "w": WIDTH,
            "h": HEIGHT,
        },
        "toggle": lambda key, value: toggle_url(p, key, value),
        "label": lambda item: entity_label(item["id"], p["lang"], item),
        "suggestion_url": search_url(p, q=r["suggestion"]) if r["suggestion"] else None,
        "lang_url": search_url(p, offset=p["offset"], lang="ar" if p["lang"] == "en" else "en"),
        "json_url": search_url({**p, "lang": "ar"}, "pages.search_json", offset=p["offset"]),
        "csv_url": search_url({**p, "lang": "ar", "limit": DEFAULT_LIMIT}, "pages.search_csv"),
    }


@bp.get("/search.json")
def search_json():
    """Exactly what ``/api/search`` answers for the same parameters."""

    try:
        return api.api_search()
    except api.BadRequest as exc:
        return error_response(400, exc.code, str(exc))
    except IndexNotFound as exc:
        return error_response(503, "index_not_ready", str(exc))


@bp.get("/search.csv")
def search_csv():
    """Every matching report (not one page) as CSV, streamed; UTF-8 with BOM for spreadsheet apps."""
    try:
        p = parse_params(request.args)
        snap = index_state().snapshot()
        first = run_search(snap, p, limit=CSV_BATCH, offset=0, snippets=False, facets=False)
    except api.BadRequest as exc:
        return error_response(400, exc.code, str(exc))
    except IndexNotFound as exc:
        return error_response(503, "index_not_ready", str(exc))

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(("id", "title", "date", "source", "url", "score"))
        yield "\ufeff" + _drain(buf)
        batch, offset = first, 0
        while batch["hits"]:
            for h in batch["hits"]:
                writer.writerow([_cell(h.get(k)) for k in ("id", "title", "date", "source", "url", "score")])
            yield _drain(buf)
            offset += CSV_BATCH
            if offset >= batch["total"]:
                break
            batch = run_search(snap, p, limit=CSV_BATCH, offset=offset, snippets=False, facets=False)

    headers = {"Content-Disposition": 'attachment; filename="kashaf-search.csv"'}
    return Response(stream_with_context(rows()), mimetype="text/csv", headers=headers)


def _drain(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@bp.get("/documents/<path:doc_id>")
def document_page(doc_id: str):
    """One report: highlighted text, linked mentions, metadata, similar reports; ``.json`` twin."""
    lang = lang_of(request.args.get("lang"))
    try:
        snap = index_state().snapshot()
        row = _doc_row(snap, doc_id)
        if row is None and doc_id.endswith(".json"):
            return document_json(doc_id[: -len(".json")])
        if row is None:
            return page_error(404, "not_found", doc_id, lang)
        q = request.args.get("q", "")[:MAX_QUERY_CHARS]
        p = {**parse_params(MultiDict({"lang": lang})), "q": q}
    except IndexNotFound as exc:
        return page_error(503, "index_not_ready", str(exc), lang)
    words = query_words(q) if q else []
    mentions = [
        dict(m)
        for m in snap.db.execute(
            'SELECT entity_id, kind, field, start, "end" FROM mentions '
            "WHERE doc_id = ? ORDER BY field, start",
            (row["id"],),
        )
    ]
    entities: dict[tuple[str, str], int] = {}
    for m in mentions:
        entities[(m["kind"], m["entity_id"])] = entities.get((m["kind"], m["entity_id"]), 0) + 1
    mentioned = [
        {
            "label": entity_label(eid, lang),
            "level": getattr(gazetteer.entities().get(eid), "level", ""),
            "kind": kind,
            "count": n,
            "href": search_url(p, **{kind if kind in ("place", "group") else "place": [eid]}),
        }
        for (kind, eid), n in sorted(entities.items(), key=lambda kv: -kv[1])
    ]
    return render_template(
        "document.html",
        p=p,
        doc=row,
        meta=json.loads(row["meta"] or "{}"),
        title_html=highlight(row["title"], words, [m for m in mentions if m["field"] == "title"], p),
        body_html=highlight(row["body"], words, [m for m in mentions if m["field"] == "body"], p),
        mentioned=mentioned,
        similar=similar(snap, row, p),
        back_url=search_url(p) if q else None,
        lang_url=url_for(
            "pages.document_page",
            doc_id=row["id"],
            **({"q": q} if q else {}),
            **({} if lang == "en" else {"lang": "en"}),
        ),
        json_url=url_for("pages.document_page", doc_id=row["id"] + ".json"),
    )


def _doc_row(snap, doc_id: str):
    return snap.db.execute(
        "SELECT id, title, body, date, source, url, meta FROM docs WHERE id = ?", (doc_id,)
    ).fetchone()


def document_json(doc_id: str):
    """Exactly what ``/api/documents/<id>`` answers."""

    return api.api_document(doc_id)


def similar(snap, row, p: dict, top: int = 5) -> list[dict]:
    """Reports that share this one's key terms (Whoosh more-like-this on the body's light stems)."""
    searcher = snap.searcher()
    docnum = searcher.document_number(id=row["id"])
    if docnum is None:
        return []
    out = []
    for hit in searcher.more_like(docnum, "body_stem", text=row["body"], top=top, numterms=15):
        other = snap.db.execute(
            "SELECT id, title, date, source FROM docs WHERE id = ?", (hit["id"],)
        ).fetchone()
        if other is not None:
            out.append({**dict(other), "href": doc_url(other["id"], p)})
    return out
