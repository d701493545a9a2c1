"""Entity pages and their JSON: ``/entities``, ``/entities/<id>`` (+ ``.json``), ``/api/entities``
and ``/api/entities/<id>``. Thin: the records come from ``indexer.entities`` (the same as
``kashaf entities --json``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from analyzers import gazetteer
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
}
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


@bp.get("/entities")
def entities_page():
    """Every entity some report names, places and groups, linked to their pages."""
    lang = lang_of(request.args.get("lang"))
    rows = core.listing(index_state().snapshot().searcher())
    return render_template(
        "entities.html",
        rows=rows,
        lang=lang,
        tt=_t(lang),
        lang_url=url_for("entities.entities_page", **({} if lang == "en" else {"lang": "en"})),
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
