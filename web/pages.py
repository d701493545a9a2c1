"""The HTML pages (server-rendered, Arabic first, right-to-left) and their JSON/CSV twins.

Every page works without JavaScript: the whole search state (query, filters,
sort, page, interface language) lives in the URL, and each facet value is a
link that toggles its filter. ``/search.json`` and ``/documents/<id>.json`` answer
exactly what the JSON API answers, by calling the API's own views.
"""

from __future__ import annotations

import bisect
import calendar
import json
import math
import re
from datetime import date
from urllib.parse import quote, urlencode

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from analyzers import gazetteer
from analyzers.normalize import normalize
from analyzers.roots import lexicon_root
from analyzers.stem import light_stem
from analyzers.tokenize import tokenize
from indexer import dedupe
from indexer.facets import source_key
from indexer.highlight import stem_and_root
from indexer.query import QueryError, lookup, parse_date
from indexer.search import query_words
from indexer.search import similar as similar_documents
from web import api, error_response, index_state, wants_json
from web.build_map import HEIGHT, WIDTH, in_window, project, spread_labels
from web.i18n import LABELS, count_label, kind_label, lang_of, meta_label, note_text, t
from web.state import IndexNotFound

bp = Blueprint("pages", __name__, template_folder="templates")

LIST_KEYS = ("place", "group", "source")
PAGE_KEYS = api.SEARCH_PARAMS | {"lang"}
MAX_QUERY_CHARS = 1000
DEFAULT_LIMIT = 20
MARK_CHARS = 100_000  # a document page marks query words in this much of a report
MAX_LINKED_MENTIONS = 5_000  # and links this many place/group mentions
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
        "level": req.level,
        "place": list(dict.fromkeys(req.place)),
        "group": list(dict.fromkeys(req.group)),
        "source": list(dict.fromkeys(req.source)),
        "with_successors": req.with_successors,
        "with_predecessors": req.with_predecessors,
        "from": _full_date(req.date_from, end=False),
        "to": _full_date(req.date_to, end=True),
        "limit": req.limit,
        "offset": req.offset,
        "dedupe": req.dedupe,
    }


def _full_date(value: str | None, end: bool) -> str:
    """``YYYY`` / ``YYYY-MM`` as the day it starts (or ends), so the form's date inputs
    can show it; what cannot be read is left for the core to refuse."""
    if not value:
        return ""
    try:
        return parse_date(value, end=end).isoformat()
    except QueryError:
        return value


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
        level=p.get("level", "stem"),
        limit=limit,
        offset=offset,
        dedupe=p.get("dedupe", False),
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
    if p.get("dedupe"):
        out.append(("dedupe", "1"))
    defaults = (
        ("from", ""),
        ("to", ""),
        ("op", "and"),
        ("level", "stem"),
        ("sort", "relevance"),
        ("offset", 0),
    )
    for key, default in defaults:
        if p.get(key, default) != default:
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
    """URL that adds the filter ``key=value``, or removes it when it is on.

    Values of one facet combine with OR, so a place beside one of its ancestors would
    change nothing: choosing a place under a chosen one replaces it (حلب, then عفرين:
    عفرين alone, the results narrow), and choosing an ancestor replaces the places under
    it. Groups and their sub-units likewise.
    """
    if value in p[key]:
        values = [v for v in p[key] if v != value]
    elif key in ("place", "group"):
        mine = _entity_ids(key, value)
        above = {a for i in mine for a in _ancestors(i)}

        def related(v: str) -> bool:  # v lies above or below the chosen value
            theirs = _entity_ids(key, v)
            return bool(theirs & above) or any(a in mine for i in theirs for a in _ancestors(i))

        values = [v for v in p[key] if not related(v)] + [value]
    else:
        values = [*p[key], value]
    return search_url(p, **{key: values})


def _entity_ids(kind: str, value: str) -> set[str]:
    """The ids a URL value (an id or a name, as the API takes it) stands for; none if unknown."""
    found = lookup(value, kind)
    return set(found[1]) if found else set()


def _ancestors(entity_id: str) -> list[str]:
    return gazetteer.ancestors(entity_id) if entity_id in gazetteer.entities() else []


def month_range(month: str) -> tuple[str, str]:
    """First and last day of a ``YYYY-MM`` month.

    >>> month_range("2016-02")
    ('2016-02-01', '2016-02-29')
    """
    year, mon = int(month[:4]), int(month[5:7])
    return f"{month}-01", f"{month}-{calendar.monthrange(year, mon)[1]:02d}"


def doc_url(doc_id: str, p: dict) -> str:
    """A document's page carrying the whole search state (query, filters, sort, page),
    so its "back to results" link returns to the same results."""
    query = urlencode(pairs(p))
    return url_for("pages.document_page", doc_id=doc_id) + ("?" + query if query else "")


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


def full_label(entity_id: str, lang: str) -> str:
    """A filter's name that tells same-named entities apart: the name, its kind, and
    where it lies (the governorate, or the country for a governorate).

    >>> full_label("sy-raqqa-raqqa", "ar"), full_label("sy-raqqa", "ar")
    ('الرقة — مدينة أو بلدة، محافظة الرقة', 'الرقة — محافظة، سوريا')
    >>> full_label("sy-raqqa-raqqa", "en"), full_label("sy-raqqa-raqqa-district", "en")
    ('Raqqa city — town, Raqqa governorate', 'Raqqa district — Raqqa governorate')
    """
    table = gazetteer.entities()
    e = table.get(entity_id)
    if e is None:
        return entity_id
    parts = [kind_label(e.level, lang)] if e.level else []
    if e.kind == "place":
        chain = [table[a] for a in gazetteer.ancestors(entity_id) if a in table]
        gov = next((a for a in chain if a.level == "governorate"), None)
        if gov is not None:
            name = entity_label(gov.id, lang)
            parts.append(f"{name} governorate" if lang == "en" else f"محافظة {name}")
        elif chain:
            parts.append(entity_label(chain[-1].id, lang))
    elif e.parent and e.parent in table:
        parts.append(entity_label(e.parent, lang))
    head = entity_label(entity_id, lang)
    if parts and head.lower().endswith(" " + parts[0].lower()):
        parts = parts[1:]  # "Raqqa district" already says what it is
    return f"{head} — {'، '.join(parts) if lang != 'en' else ', '.join(parts)}" if parts else head


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


def open_branches(p: dict) -> set[str]:
    """Places whose tree branch is shown open: the active places and their ancestors.

    >>> sorted(open_branches({"place": ["sy-raqqa-raqqa"]}))
    ['sy', 'sy-raqqa', 'sy-raqqa-raqqa', 'sy-raqqa-raqqa-district']
    """
    out: set[str] = set()
    for pid in p["place"]:
        out.add(pid)
        if pid in gazetteer.entities():
            out.update(gazetteer.ancestors(pid))
    return out


def group_sections(items: list[dict]) -> list[tuple[str, list[dict]]]:
    """Facet groups by kind, biggest kind first."""
    by_kind: dict[str, list[dict]] = {}
    for i in items:
        by_kind.setdefault(i.get("level") or "", []).append(i)
    return sorted(by_kind.items(), key=lambda kv: -sum(i.get("count", 0) for i in kv[1]))


CHART_W, CHART_H = 340, 110  # the timeline's plot (SVG units; it scales to the sidebar)
CHART_TOP, CHART_AXIS, CHART_SIDE = 16, 34, 34  # room for count labels, date labels, y labels
MAX_BAR_LABELS = 16  # up to this many bars, every bar carries its count


def nice_step(top: int, ticks: int = 3) -> int:
    """A round step (1, 2, 5 × 10^k) for about ``ticks`` gridlines up to ``top``.

    >>> nice_step(7), nice_step(83), nice_step(1340)
    (5, 50, 500)
    """
    raw = max(1.0, top / ticks)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return int(m * mag)
    return int(10 * mag)


def bucket_label(start: str, unit: str) -> str:
    """How a bucket is named on the axis: a year, a month, or a day.

    >>> bucket_label("2018-03-05", "week"), bucket_label("2018-03-01", "month")
    ('2018-03-05', '2018-03')
    """
    return {"year": start[:4], "month": start[:7]}.get(unit, start)


def histogram(tl: dict | None, p: dict) -> dict | None:
    """The core's timeline as SVG geometry (attributes, not styles: the CSP forbids inline style).

    Time runs in the reading direction: right to left on the Arabic page (the oldest
    bucket at the right, where a line of Arabic starts), left to right in English.
    Bars are links that set the date range to their bucket (no JavaScript needed);
    the chart always spans the selected range, so choosing a bar zooms into it.
    """
    if not tl or not tl.get("buckets"):
        return None
    items = tl["buckets"]
    rtl = p["lang"] != "en"
    n = len(items)
    top = max(b["count"] for b in items)
    step = nice_step(top)
    ymax = max(step, math.ceil(top / step) * step)
    plot_w = CHART_W - CHART_SIDE
    slot = plot_w / n
    x0 = 0.0 if rtl else float(CHART_SIDE)  # the y scale sits on the start side
    base = CHART_TOP + CHART_H
    bars = []
    for i, b in enumerate(items):
        pos = i if not rtl else n - 1 - i
        x = x0 + pos * slot
        h = round(CHART_H * b["count"] / ymax, 1) if b["count"] else 0.0
        label = bucket_label(b["start"], tl["unit"])
        bars.append(
            {
                **b,
                "label": label
                if b["start"] == b["end"] or tl["unit"] != "week"
                else f"{b['start']} – {b['end']}",
                "slot_x": round(x, 1),
                "slot_w": round(slot, 1),
                "x": round(x + slot * 0.1, 1),
                "w": round(max(1.0, slot * 0.8), 1),
                "y": round(base - max(h, 1.5 if b["count"] else 0), 1),
                "h": max(h, 1.5) if b["count"] else 0,
                "cx": round(x + slot / 2, 1),
                "href": search_url(p, **{"from": b["start"], "to": b["end"]}),
                "show_count": bool(b["count"]) and (n <= MAX_BAR_LABELS or b["count"] == top),
            }
        )
    ticks = [{"y": round(base - CHART_H * v / ymax, 1), "value": v} for v in range(0, ymax + 1, step)]
    first, last = bars[0], bars[-1]
    return {
        "bars": bars,
        "ticks": ticks,
        "unit": tl["unit"],
        "from": tl["from"],
        "to": tl["to"],
        "undated": tl.get("undated", 0),
        "width": CHART_W,
        "height": base + CHART_AXIS,
        "base": base,
        "plot_x0": x0,
        "plot_x1": x0 + plot_w,
        "tick_x": (x0 + plot_w + 4) if rtl else (CHART_SIDE - 4),
        "tick_anchor": "start" if rtl else "end",
        # The end labels sit flush with the plot's edges (centred, they would be cut off).
        "first": {
            "x": first["slot_x"] + (first["slot_w"] if rtl else 0),
            "anchor": "end" if rtl else "start",
            "label": bucket_label(first["start"], tl["unit"]),
        },
        "last": {
            "x": last["slot_x"] + (0 if rtl else last["slot_w"]),
            "anchor": "start" if rtl else "end",
            "label": bucket_label(last["start"], tl["unit"]),
        }
        if n > 1
        else None,
        "all_url": search_url(p, **{"from": "", "to": ""}) if (p["from"] or p["to"]) else None,
        "before": tl.get("before", 0),
        "after": tl.get("after", 0),
        "before_url": search_url(p, to=_day_before(tl["from"])) if tl.get("before") else None,
        "after_url": search_url(p, **{"from": _day_after(tl["to"])}) if tl.get("after") else None,
    }


def _day_before(iso: str) -> str:
    return date.fromordinal(date.fromisoformat(iso).toordinal() - 1).isoformat()


def _day_after(iso: str) -> str:
    return date.fromordinal(date.fromisoformat(iso).toordinal() + 1).isoformat()


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
    # the longest names first keep their place; the others make way (Rif Dimashq, Damascus)
    out.sort(key=lambda g: (-len(g["label"]), g["y"], g["x"]))
    return spread_labels(out)


def query_chips(filters: dict, lang: str) -> list[dict]:
    """The filters written in the query (``place:sy``, ``date:2017``) as chips for the echo
    line: ``{key, label, names, joined}``, names of one chip being alternatives (OR) and
    a ``joined`` chip one that must hold too (``place:A AND place:B``)."""
    out = []
    for key in ("place", "group"):
        if filters.get(key):
            out.append({"key": key, "names": [entity_label(i, lang) for i in filters[key]], "joined": False})
    if filters.get("source"):
        out.append({"key": "source", "names": list(filters["source"]), "joined": False})
    for clause in filters.get("required") or []:
        key = clause["kind"]
        values = clause["ids"] if key == "source" else [entity_label(i, lang) for i in clause["ids"]]
        out.append({"key": key, "names": values, "joined": True})
    if filters.get("from") or filters.get("to"):
        label = f"{filters.get('from') or '…'} – {filters.get('to') or '…'}"
        out.append({"key": "date", "names": [label], "joined": False})
    for chip in out:
        chip["label"] = t("filter_" + chip["key"], lang)
    return out


def map_legend(points: list[dict]) -> list[dict]:
    """Reference circles for the map: the largest count and about a quarter of it, at the
    sizes :func:`map_points` draws them (SVG units, bottom corner over Iraq)."""
    if not points:
        return []
    top = max(pt["count"] for pt in points) or 1
    values = sorted({top, max(1, round(top / 4))}, reverse=True)
    out, x = [], 462.0
    for v in values:
        r = round(7 + 21 * math.sqrt(v / top), 1)
        out.append({"cx": x, "cy": 505 - r, "r": r, "count": v, "tx": x + r + 6, "ty": 505 - r + 6})
        x += r + 34 + 25
    return out


def active_chips(p: dict) -> list[dict]:
    """Every active filter as a removable chip, named in full (the kind and where it lies)."""
    lang = p["lang"]
    chips = []
    for key in LIST_KEYS:
        for v in p[key]:
            label = full_label(v, lang) if key != "source" else f"{t('source', lang)}: {v}"
            chips.append({"label": label, "key": key, "href": toggle_url(p, key, v)})
    if p["group"] and p["with_successors"]:
        chips.append(
            {
                "label": t("with_successors", lang),
                "key": "lineage",
                "href": search_url(p, with_successors=False),
            }
        )
    if p["from"] or p["to"]:
        start, end = p["from"] or "…", p["to"] or "…"
        label = f"{t('date_range', lang)}: {t('range_from', lang)} {start} {t('range_to', lang)} {end}"
        # Each date isolated left to right: in an Arabic line "2018-03-31" would be reordered.
        html = Markup('{}: {} <bdi dir="ltr">{}</bdi> {} <bdi dir="ltr">{}</bdi>').format(
            t("date_range", lang), t("range_from", lang), start, t("range_to", lang), end
        )
        chips.append(
            {"label": label, "html": html, "key": "date", "href": search_url(p, **{"from": "", "to": ""})}
        )
    return chips


def source_items(facet: list[dict], p: dict) -> list[dict]:
    """The source facet with links; an active source stays listed even with no match."""
    active = {source_key(v): v for v in p["source"]}
    items = [
        {"value": s["value"], "count": s["count"], "active": source_key(s["value"]) in active} for s in facet
    ]
    shown = {source_key(i["value"]) for i in items}
    items += [{"value": v, "count": 0, "active": True} for k, v in active.items() if k not in shown]
    for i in items:
        on = [v for v in p["source"] if source_key(v) == source_key(i["value"])]
        rest = [v for v in p["source"] if v not in on]
        i["href"] = search_url(p, source=rest if on else [*p["source"], i["value"]])
    return items


# ---------------------------------------------------------------- bidi

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F]")
# A run of Latin words (with the digits, spaces and punctuation between them).
_LATIN_RUN = re.compile(
    r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F0-9 .,:;'’&+/_-]*[A-Za-z\u00C0-\u024F0-9]|[A-Za-z]"
)
_TAG_OR_ENTITY = re.compile(r"(<[^>]*>|&[#A-Za-z0-9]+;)")


def text_dir(text: str) -> str:
    """The direction of a title or snippet: ``rtl`` when it holds at least as many Arabic
    letters as Latin ones, whatever its first letter.

    >>> text_dir("BBC تنشر تقريراً عن الرقة"), text_dir("Reuters: Raqqa offensive")
    ('rtl', 'ltr')
    """
    ar = len(_ARABIC.findall(text))
    la = len(_LATIN_LETTER.findall(text))
    return "rtl" if ar >= la and (ar or not la) else "ltr"


def isolate_latin(html_text: str) -> Markup:
    """Escaped HTML with each run of Latin text wrapped in ``<bdi>``, so its punctuation
    and numbers stay with it inside Arabic lines (tags and entities are left whole).

    >>> str(isolate_latin("قالت BBC News: <mark>انسحاب</mark> &amp; عودة"))
    'قالت <bdi>BBC News</bdi>: <mark>انسحاب</mark> &amp; عودة'
    """
    out = []
    for part in _TAG_OR_ENTITY.split(html_text):
        if not part or _TAG_OR_ENTITY.fullmatch(part):
            out.append(part)
        else:
            out.append(_LATIN_RUN.sub(lambda m: f"<bdi>{m.group(0)}</bdi>", part))
    return Markup("".join(out))


def bidi_text(text: str) -> Markup:
    """Plain text escaped, Latin runs isolated."""
    return isolate_latin(str(escape(text)))


# ---------------------------------------------------------------- document text


def _hit_sets(words: list[str]) -> tuple[set[str], set[str], set[str]]:
    return (
        {normalize(w) for w in words},
        {light_stem(w) for w in words} - {""},
        {lexicon_root(w) for w in words} - {""},
    )


def _hit_forms(surface: str, stems: set[str], roots: set[str]) -> bool:
    stem, rt = stem_and_root(surface)
    return stem in stems or rt in roots


def highlight(text: str, words: list[str], mentions: list[dict], p: dict) -> Markup:
    """``text`` escaped, query matches in ``<mark>``, place/group mentions linked to their filter.

    Mentions index the original text; overlapping ones keep the first. Only our own
    tags are markup: every character of the document goes through ``escape``.
    """
    exact, stems, roots = _hit_sets(words)
    # Query words are marked in the first MARK_CHARS characters (a long report's page
    # costs what a short one's does); mentions are linked all the way through.
    hits = [
        (tok.start, tok.end)
        for tok in (tokenize(text[:MARK_CHARS]) if words else ())
        if normalize(tok.text) in exact or _hit_forms(tok.text, stems, roots)
    ]
    out: list[str] = []
    pos = 0

    starts = [a for a, _b in hits]

    def plain(start: int, end: int) -> None:
        # Only the hits from ``start`` on (bisect): linear overall, not mentions × hits.
        cur = start
        for k in range(bisect.bisect_left(starts, start), len(hits)):
            a, b = hits[k]
            if a >= end:
                break
            if a >= cur and b <= end:
                out.append(escape(text[cur:a]))
                out.append(Markup("<mark>%s</mark>") % text[a:b])
                cur = b
        out.append(escape(text[cur:end]))

    links: dict[tuple[str, str], Markup] = {}  # one link per entity, however often it is named
    for m in sorted(mentions, key=lambda m: (m["start"], -m["end"]))[:MAX_LINKED_MENTIONS]:
        start, end = m["start"], m["end"]
        if start < pos or end > len(text) or end <= start:
            continue
        plain(pos, start)
        key = "place" if m["kind"] == "place" else "group"
        if (key, m["entity_id"]) not in links:
            label = entity_label(m["entity_id"], p["lang"])
            links[key, m["entity_id"]] = Markup('<a class="ent ent-%s" href="%s" title="%s">') % (
                _shade(key, m["entity_id"]),
                search_url(p, **{key: [m["entity_id"]]}),
                label,
            )
        out.append(links[key, m["entity_id"]])
        plain(start, end)
        out.append(Markup("</a>"))
        pos = end
    plain(pos, len(text))
    return Markup("").join(out)


def _shade(kind: str, entity_id: str) -> str:
    """The colour class of a mention: armed actors, organizations (actors that do not fight,
    as the facets split them) and places look different."""
    if kind == "group" and not gazetteer.is_armed(entity_id):
        return "org"
    return kind


# ---------------------------------------------------------------- views


@bp.app_context_processor
def labels():
    lang = lang_of(request.args.get("lang")) if request else "ar"
    return {
        "t": lambda key: t(key, lang),
        "lang": lang,
        "kind_label": lambda k: kind_label(k, lang),
        "count_label": lambda key, n: count_label(key, n, lang),
        "meta_label": lambda k: meta_label(k, lang),
    }


def _fallback_state(lang: str) -> dict:
    """A page state for an error page: the query as typed (bounded) and the language."""
    p = parse_params(MultiDict({"lang": lang}))
    p["q"] = (request.args.get("q") or "")[:MAX_QUERY_CHARS]
    return p


def page_error(status: int, code: str, message: str, lang: str = "ar"):
    """An error page in the page's language, with the search box and the language toggle."""
    if wants_json():  # a client that asked for JSON gets the API's error shape (docs/serving.md)
        return error_response(status, code, message)
    key = {400: "bad_request", 404: "not_found", 503: "not_ready"}.get(status, "bad_request")
    p = _fallback_state(lang)
    other = "ar" if lang == "en" else "en"
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "lang"])
    lang_url = (
        quote(request.path)
        + "?"
        + "&".join(x for x in (query, f"lang={other}" if other == "en" else "") if x)
    )
    # What went wrong in the reader's language; the technical message (English, for the API
    # and bug reports) stays folded under "details".
    explain_key = f"error_{code}" if f"error_{code}" in LABELS else f"error_{key}"
    return render_template(
        "error.html",
        status=status,
        code=code,
        message=message,
        explanation=t(explain_key, lang),
        heading=key,
        lang=lang,
        p=p,
        lang_url=lang_url.rstrip("?"),
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
    hits = [
        {
            **h,
            "href": doc_url(h["id"], p),
            "dir": text_dir(h["title"] or h["id"]),
            "title_html": bidi_text(h["title"] or h["id"]),
            "snippet_dir": text_dir(h.get("snippet") or ""),
            "snippet_html": isolate_latin(h.get("snippet") or ""),
            "source_html": bidi_text(h["source"]) if h.get("source") else None,
        }
        for h in r["hits"]
    ]
    count = max(1, math.ceil(r["total"] / p["limit"]))
    last_offset = (count - 1) * p["limit"]
    beyond = r["total"] > 0 and p["offset"] >= r["total"]
    pages = {
        "prev": search_url(p, offset=min(last_offset, max(0, p["offset"] - p["limit"])))
        if p["offset"] > 0 and not beyond
        else None,
        "next": search_url(p, offset=p["offset"] + p["limit"])
        if p["offset"] + p["limit"] < r["total"]
        else None,
        "number": p["offset"] // p["limit"] + 1,
        "count": count,
        "beyond": beyond,
        "first_url": search_url(p, offset=0),
        "last_url": search_url(p, offset=last_offset),
    }
    facets = r["facets"]
    places = facets["place"]
    points = map_points(places, p)
    return {
        "p": p,
        "r": r,
        "hits": hits,
        "pages": pages,
        "chips": active_chips(p),
        "query_chips": query_chips(r["explain"]["reading"]["filters"], p["lang"]) if r.get("explain") else [],
        "notes": [note_text(n, p["lang"]) for n in (r.get("explain") or {}).get("notes", [])],
        "entity_name": lambda e: (e.get("label_en") or e["label"]) if p["lang"] == "en" else e["label"],
        "clear_url": search_url(
            p, place=[], group=[], source=[], with_successors=False, **{"from": "", "to": ""}
        ),
        "place_tree": place_tree(places),
        "open_places": open_branches(p),
        "groups": group_sections(facets["group"]),
        "organizations": group_sections(facets.get("organization", [])),
        "sources": source_items(facets.get("source", []), p),
        "histogram": histogram(facets.get("timeline"), p),
        "map": {
            "points": points,
            "legend": map_legend(points),
            "labels": governorate_labels(p["lang"]),
            "w": WIDTH,
            "h": HEIGHT,
        },
        "lineage_url": search_url(p, with_successors=not p["with_successors"]),
        "toggle": lambda key, value: toggle_url(p, key, value),
        "label": lambda item: entity_label(item["id"], p["lang"], item),
        "suggestion_url": search_url(p, q=r["suggestion"]) if r["suggestion"] else None,
        "broaden_url": search_url(p, level="root") if r.get("broaden") else None,
        "precise_url": search_url(p, level="stem"),
        "lang_url": search_url(p, offset=p["offset"], lang="ar" if p["lang"] == "en" else "en"),
        "json_url": search_url({**p, "lang": "ar"}, "pages.search_json", offset=p["offset"]),
        "csv_url": search_url({**p, "limit": DEFAULT_LIMIT}, "pages.search_csv"),  # keeps lang=en
        "jsonl_url": search_url({**p, "limit": DEFAULT_LIMIT}, "pages.search_jsonl"),
        "feed_url": search_url({**p, "lang": p["lang"], "limit": DEFAULT_LIMIT}, "feeds.search_atom"),
        "copy_href": lambda doc_id: doc_url(doc_id, p),
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


def _export(kind: str):
    try:
        args = MultiDict(request.args)
        args.pop("lang", None)
        p = parse_params(args)  # the pages' parameters, then the API's export of every match
        req = api.SearchRequest(
            query=p["q"],
            op=p["op"],
            place=tuple(p["place"]),
            group=tuple(p["group"]),
            with_successors=p["with_successors"],
            with_predecessors=p["with_predecessors"],
            source=tuple(p["source"]),
            date_from=p["from"] or None,
            date_to=p["to"] or None,
            sort=p["sort"],
            level=p["level"],
            dedupe=p["dedupe"],
        )
        snap = index_state().snapshot()
        return (api.export_csv if kind == "csv" else api.export_jsonl)(snap, req)
    except api.BadRequest as exc:
        return error_response(400, exc.code, str(exc))
    except IndexNotFound as exc:
        return error_response(503, "index_not_ready", str(exc))


@bp.get("/search.csv")
def search_csv():
    """Every matching report (not one page) as CSV, streamed: the API's export."""
    return _export("csv")


@bp.get("/search.jsonl")
def search_jsonl():
    """Every matching report as JSON Lines, streamed: the API's export."""
    return _export("jsonl")


@bp.get("/documents/<path:doc_id>")
def document_page(doc_id: str):
    """One report: highlighted text, linked mentions, metadata, similar reports; ``.json`` twin.

    The search state the reader came with (query, filters, sort, page) stays in the URL,
    so "back to results" returns to the same page of the same results.
    """
    lang = lang_of(request.args.get("lang"))
    try:
        snap = index_state().snapshot()
        row = _doc_row(snap, doc_id)
        if row is None and doc_id.endswith(".json"):
            try:
                return document_json(doc_id[: -len(".json")])
            except api.BadRequest as exc:
                return error_response(400, exc.code, str(exc))
        if row is None:
            return page_error(404, "not_found", doc_id, lang)
        p = parse_params(request.args)
    except api.BadRequest as exc:
        return page_error(400, exc.code, str(exc), lang)
    except IndexNotFound as exc:
        return page_error(503, "index_not_ready", str(exc), lang)
    q = p["q"]
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
    fresh = {**p, "place": [], "group": [], "source": [], "from": "", "to": "", "with_successors": False}
    mentioned = [
        {
            "id": eid,
            "label": entity_label(eid, lang),
            "level": getattr(gazetteer.entities().get(eid), "level", ""),
            "kind": kind,
            "shade": _shade(kind, eid),
            "count": n,
            "href": search_url(fresh, **{kind if kind in ("place", "group") else "place": [eid]}),
        }
        for (kind, eid), n in sorted(entities.items(), key=lambda kv: -kv[1])
    ]
    other = "ar" if lang == "en" else "en"
    return render_template(
        "document.html",
        p=p,
        doc=row,
        title_dir=text_dir(row["title"] or ""),
        body_dir=text_dir((row["body"] or "")[:2000]),
        meta=json.loads(row["meta"] or "{}"),
        title_html=isolate_latin(
            str(highlight(row["title"], words, [m for m in mentions if m["field"] == "title"], fresh))
        ),
        body_html=isolate_latin(
            str(highlight(row["body"], words, [m for m in mentions if m["field"] == "body"], fresh))
        ),
        mentioned=mentioned,
        similar=similar(snap, row, p),
        group_members=[
            {**m, "href": doc_url(m["id"], p)}
            for m in dedupe.members(snap.db, dedupe.group_of(snap.db, row["id"]))
        ],
        back_url=search_url(p, offset=p["offset"]) if q or has_filters(p) else None,
        lang_url=doc_url(row["id"], {**p, "lang": other}),
        json_url=url_for("pages.document_page", doc_id=row["id"] + ".json"),
        similar_url=url_for("api.api_similar", doc_id=row["id"]),
    )


def _doc_row(snap, doc_id: str):
    return snap.db.execute(
        "SELECT id, title, body, date, source, url, meta FROM docs WHERE id = ?", (doc_id,)
    ).fetchone()


def document_json(doc_id: str):
    """Exactly what ``/api/documents/<id>`` answers."""

    return api.api_document(doc_id)


def similar(snap, row, p: dict, top: int = 5) -> list[dict]:
    """The core's similar reports (what ``/api/documents/<id>/similar`` answers), linked
    with the reader's search state."""
    return [
        {
            **s,
            "href": doc_url(s["id"], p),
            "dir": text_dir(s["title"] or ""),
            "title_html": bidi_text(s["title"] or s["id"]),
        }
        for s in similar_documents(snap, row["id"], top) or []
    ]
