"""Entity pages and their JSON: ``/entities``, ``/entities/<id>`` (+ ``.json``), ``/api/entities``
and ``/api/entities/<id>``. Thin: the records come from ``indexer.entities`` (the same as
``kashaf entities --json``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from analyzers import gazetteer
from analyzers.nisba import nisba_forms
from indexer import entities as core
from web import error_response, index_state
from web.i18n import lang_of

bp = Blueprint("entities", __name__)

# Labels of these pages (Arabic, English); kept here so the shared catalogue is untouched.
LABELS = {
    "entities": ("الأماكن والجهات", "Places and groups"),
    "kind_place": ("مكان", "Place"),
    "kind_group": ("جهة", "Group"),
    "names": ("الأسماء", "Names"),
    "parent": ("يتبع", "Part of"),
    "children": ("يضم", "Contains"),
    "predecessors": ("سبقه", "Predecessors"),
    "successors": ("خلفه", "Successors"),
    "active": ("النشاط", "Active"),
    "reports": ("التقارير", "Reports"),
    "by_month": ("التقارير حسب الشهر", "Reports by month"),
    "all_reports": ("كل التقارير", "All reports"),
    "armed": ("جهة مسلحة", "armed actor"),
    "not_armed": ("جهة غير مسلحة", "not an armed actor"),
    "json": ("JSON", "JSON"),
    "language": ("English", "العربية"),
    "not_found": ("لا يوجد مكان أو جهة بهذا الاسم", "No place or group by that name"),
    "about": ("صفحة المكان أو الجهة", "About this place or group"),
    "places": ("الأماكن", "Places"),
    "armed_actors": ("الجهات المسلحة", "Armed actors"),
    "organizations": ("جهات غير مسلحة", "Organizations that do not fight"),
    "other_countries": ("دول أخرى", "Other countries"),
    "groups_all": ("الجهات", "Groups"),
    "show": ("عرض", "Show"),
    "every_kind": ("الكل", "All"),
    "only_named": ("ما تذكره التقارير فقط", "Only those the reports name"),
    "with_unnamed": ("مع ما لا تذكره التقارير", "Also those no report names"),
    "entities_count": ("عدد", "entries"),
}
# The page's sections, as the search page's facets: places (by country), the actors that fight
# (the facet "armed groups") and those that do not (the facet "organizations"), each by kind.
SECTIONS = ("places", "armed_actors", "organizations")
KINDS = ("place", "group")


def _t(lang: str):
    return lambda key: LABELS[key][lang == "en"]


def _bad_kind(kind: str | None):
    if kind not in (None, "", *KINDS):
        return error_response(400, "invalid_parameter", "kind must be place or group")
    return None


def _unknown(args, allowed: set[str]):
    extra = sorted(set(args) - allowed)
    if extra:
        return error_response(400, "unknown_parameter", f"unknown parameter(s): {', '.join(extra)}")
    return None


@bp.app_template_global()
def entity_href(entity_id: str, lang: str = "ar") -> str:
    """The page of ``entity_id`` in the page's language: the search facets and the document's
    list of mentions link to it beside their filter link (``/entities/sy-raqqa?lang=en``)."""
    return url_for("entities.entity_page", name=entity_id, **({"lang": "en"} if lang == "en" else {}))


@bp.app_template_global()
def entity_about(lang: str = "ar") -> str:
    """The label of that link (its title and, with the entity's name, its accessible name)."""
    return LABELS["about"][lang == "en"]


@bp.get("/api/entities")
def api_entities():
    """Every place and group with its document count (``kind``, ``all`` as in the CLI)."""
    bad = _unknown(request.args, {"kind", "all"}) or _bad_kind(request.args.get("kind"))
    if bad:
        return bad
    show_all = (request.args.get("all") or "").lower() in ("1", "true", "yes")
    rows = core.listing(index_state().snapshot().searcher(), request.args.get("kind") or None, show_all)
    return jsonify({"entities": rows})


@bp.get("/api/entities/<path:name>")
def api_entity(name: str):
    """One entity's record; an Arabic or English name is answered with its id's record."""
    bad = _unknown(request.args, set())
    if bad:
        return bad
    entity_id = core.resolve(name)
    if entity_id is None:
        return error_response(404, "not_found", f"unknown place or group {name!r}")
    return jsonify(core.record(index_state().snapshot().searcher(), entity_id))


def sections(rows: list[dict], lang: str) -> list[dict]:
    """The listing's rows in the search page's facet sections: ``{id, title, count, groups:
    [{key, title, count, rows}]}`` — places by country (the covered countries first, then the
    others in one group), armed actors and organizations by kind; biggest groups first.

    >>> rows = [{"id": "sy-raqqa", "kind": "place", "level": "governorate", "count": 3},
    ...         {"id": "sohr", "kind": "group", "level": "monitor", "armed": False, "count": 2},
    ...         {"id": "ru-moscow", "kind": "place", "level": "locality", "count": 1}]
    >>> [(s["id"], [g["key"] for g in s["groups"]]) for s in sections(rows, "en")]
    [('places', ['sy', 'other']), ('armed_actors', []), ('organizations', ['monitor'])]
    """
    from web.i18n import kind_label

    tt = _t(lang)  # this page's labels (the shared catalogue's t() is untouched)
    covered = set(nisba_forms().values())  # the countries of the region's wars (nisba.tsv)
    out: dict[str, dict[str, list[dict]]] = {key: {} for key in SECTIONS}
    for r in rows:
        if r["kind"] == "place":
            country = gazetteer.country_of(r["id"])
            key = country if country in covered else "other"
            section = "places"
        else:
            key = r.get("level") or ""
            section = "armed_actors" if r.get("armed") else "organizations"
        out[section].setdefault(key, []).append(r)
    result = []
    for section in SECTIONS:
        groups = []
        for key, items in out[section].items():
            if section == "places":
                title = tt("other_countries") if key == "other" else _name(key, lang)
            else:
                title = kind_label(key, lang)
            groups.append({"key": key, "title": title, "count": len(items), "rows": items})
        # places: the countries by their reports, "other countries" last; kinds by their reports
        groups.sort(key=lambda g: (g["key"] == "other", -sum(r["count"] for r in g["rows"]), g["key"]))
        result.append(
            {"id": section, "title": tt(section), "count": sum(g["count"] for g in groups), "groups": groups}
        )
    return result


def _name(entity_id: str, lang: str) -> str:
    e = gazetteer.get(entity_id)
    return e.name_en if lang == "en" and e.name_en else e.label


def _listing_args():
    """``(kind, all)`` of the listing pages, or the 400 response for a bad argument."""
    bad = _unknown(request.args, {"kind", "all", "lang"}) or _bad_kind(request.args.get("kind"))
    if bad:
        return None, None, bad
    show_all = (request.args.get("all") or "").lower() in ("1", "true", "yes")
    return request.args.get("kind") or None, show_all, None


@bp.get("/entities.json")
def entities_json():
    """The page's JSON twin: the same rows (``kind``, ``all``) and its sections by their ids."""
    kind, show_all, bad = _listing_args()
    if bad:
        return bad
    lang = lang_of(request.args.get("lang"))
    rows = core.listing(index_state().snapshot().searcher(), kind, show_all)
    return jsonify(
        {
            "entities": rows,
            "sections": [
                {
                    "id": s["id"],
                    "title": s["title"],
                    "groups": [
                        {"key": g["key"], "title": g["title"], "ids": [r["id"] for r in g["rows"]]}
                        for g in s["groups"]
                    ],
                }
                for s in sections(rows, lang)
            ],
        }
    )


@bp.get("/entities")
def entities_page():
    """Every entity some report names, in the facets' sections (places by country, armed actors
    and organizations by kind), linked to their pages; ``kind`` and ``all`` as in the API."""
    kind, show_all, bad = _listing_args()
    if bad:
        return bad
    lang = lang_of(request.args.get("lang"))
    rows = core.listing(index_state().snapshot().searcher(), kind, show_all)

    def here(**changes) -> str:
        """This page with some of its arguments changed (None drops one)."""
        args = {"kind": kind, "all": "true" if show_all else None, "lang": "en" if lang == "en" else None}
        args.update(changes)
        return url_for("entities.entities_page", **{k: v for k, v in args.items() if v})

    json_args = {k: v for k, v in (("kind", kind), ("all", "true" if show_all else None)) if v}
    return render_template(
        "entities.html",
        sections=sections(rows, lang),
        kind=kind,
        show_all=show_all,
        here=here,
        lang=lang,
        tt=_t(lang),
        lang_url=here(lang=None if lang == "en" else "en"),
        json_url=url_for("entities.entities_json", **json_args, **({"lang": "en"} if lang == "en" else {})),
        suffix="?lang=en" if lang == "en" else "",
    )


@bp.get("/entities/<path:name>")
def entity_page(name: str):
    """One entity: names, kind, hierarchy or lineage, reports per month linked to the search."""
    lang = lang_of(request.args.get("lang"))
    if name.endswith(".json") and core.resolve(name) is None:
        return api_entity(name[: -len(".json")])
    entity_id = core.resolve(name)
    if entity_id is None:
        return render_template("entity_missing.html", name=name, lang=lang, tt=_t(lang)), 404
    if entity_id != name:
        return redirect(url_for("entities.entity_page", name=entity_id, **request.args))
    rec = core.record(index_state().snapshot().searcher(), entity_id)
    suffix = "&lang=en" if lang == "en" else ""
    peak = max((m["count"] for m in rec["months"]), default=0)
    return render_template(
        "entity.html",
        e=rec,
        lang=lang,
        tt=_t(lang),
        name=(lambda r: r["label_en"] if lang == "en" and r.get("label_en") else r["label"]),
        page=(lambda i: url_for("entities.entity_page", name=i) + ("?lang=en" if lang == "en" else "")),
        suffix=suffix,
        peak=peak,
        kind_level=gazetteer.get(entity_id).level,
        lang_url=url_for("entities.entity_page", name=entity_id, **({} if lang == "en" else {"lang": "en"})),
        json_url=url_for("entities.entity_page", name=entity_id + ".json"),
    )
