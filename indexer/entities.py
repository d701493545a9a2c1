"""Places and armed groups mentioned in a document (``analyzers.tagger``), for facets and filters."""

from __future__ import annotations

from typing import NamedTuple

from analyzers import gazetteer
from analyzers.gazetteer import ancestors
from analyzers.nisba import country_references
from analyzers.tagger import tag


class Mention(NamedTuple):
    """One entity mention: character span in ``field`` ("title" or "body")."""

    entity_id: str
    kind: str  # "place" or "group"
    start: int
    end: int
    field: str


def entities_for(
    title: str, body: str, tokenized: dict[str, tuple] | None = None
) -> tuple[list[str], list[str], list[Mention]]:
    """``(place_ids, group_ids, mentions)`` for a document.

    Each mentioned entity also counts for its ancestors, so a report on البوكمال
    is found under دير الزور governorate and under Syria, and a unit under its
    force. Runs in the analysis worker processes; pure. ``tokenized`` may give each
    field's ``(tokens, normalized forms)``, or ``(tokens, normalized forms, name forms)``,
    when the caller has them (``analyze_doc``).

    >>> places, groups, mentions = entities_for("", "انسحبت قوات النظام من البوكمال")
    >>> "sy" in places and "sy-deirezzor" in places
    True
    >>> [m.field for m in mentions][:1]
    ['body']
    >>> entities_for("", "أعلنت الحكومة اليمنية")[0]
    ['ye']
    """
    mentions: list[Mention] = []
    places: set[str] = set()
    groups: set[str] = set()
    for field, text in (("title", title), ("body", body)):
        if not text:
            continue
        actors = []
        for m in tag(text, *(tokenized or {}).get(field, (None, None))):
            mentions.append(Mention(m.entity_id, m.kind, m.start, m.end, field))
            found = places if m.kind == "place" else groups
            found.add(m.entity_id)
            found.update(ancestors(m.entity_id))
            if m.kind == "group":
                actors.append((m.start, m.end, gazetteer.is_state(m.entity_id)))
        # الحكومة اليمنية، الجيش اللبناني: the report is on the country even if it names no place
        # there (a place for filters and facets, not a mention: nothing is highlighted,
        # place_named is unchanged); حزب الله اللبناني names no country
        places.update(country_references(text, actors))
    return sorted(places), sorted(groups), mentions


# --- entity records (kashaf entities, /api/entities, /entities/<id>) --------------------


def search_url(entity_id: str, month: str | None = None) -> str:
    """The search page filtered to an entity (and a month): ``/search?group=hts&from=2017-07&to=2017-07``.

    >>> search_url("sy-raqqa", "2017-08")
    '/search?place=sy-raqqa&from=2017-08&to=2017-08'
    """
    from urllib.parse import urlencode

    e = gazetteer.get(entity_id)
    params = [(e.kind, entity_id)]
    if month:
        params += [("from", month), ("to", month)]
    return "/search?" + urlencode(params)


def _ref(entity_id: str) -> dict:
    e = gazetteer.get(entity_id)
    out = {"id": e.id, "label": e.label, "label_en": e.name_en, "level": e.level}
    if e.kind == "group":
        out["start"], out["end"] = e.start or None, e.end or None
    return out


def summary(entity_id: str, count: int) -> dict:
    """What ``kashaf entities --json`` and ``/api/entities`` list for one entity."""
    e = gazetteer.get(entity_id)
    return {
        "id": e.id,
        "kind": e.kind,
        "level": e.level,
        "label": e.label,
        "label_en": e.name_en,
        "name_ar": e.name_ar,
        "name_en": e.name_en,
        "aliases_ar": list(e.aliases_ar),
        "aliases_en": list(e.aliases_en),
        "parent": e.parent,
        "armed": gazetteer.is_armed(e.id) if e.kind == "group" else None,
        "count": count,
        "url": f"/entities/{e.id}",
        "search_url": search_url(e.id),
    }


def describe(entity_id: str, doc_count: int, months: list[tuple[str, int]]) -> dict:
    """The full record of one entity: its :func:`summary` plus hierarchy (places: parent and
    children; groups: parent unit, sub-units, predecessors and successors with their dates,
    its own start and end), coordinates, and reports per month, each with its search link.

    >>> r = describe("hts", 3, [("2017-07", 3)])
    >>> [p["id"] for p in r["predecessors"]], r["months"][0]["search_url"]
    (['jfs', 'nusra'], '/search?group=hts&from=2017-07&to=2017-07')
    """
    e = gazetteer.get(entity_id)
    out = summary(entity_id, doc_count)
    kids = sorted(gazetteer.children(entity_id), key=lambda i: (gazetteer.get(i).level, i))
    out.update(
        {
            "parent": _ref(e.parent) if e.parent else None,
            "ancestors": [_ref(a) for a in gazetteer.ancestors(entity_id)],
            "children": [_ref(c) for c in kids],
            "lat": e.lat,
            "lon": e.lon,
            "start": e.start or None,
            "end": e.end or None,
            "predecessors": [_ref(p) for p in gazetteer.predecessors(entity_id)],
            "successors": [_ref(s) for s in gazetteer.successors(entity_id)],
            "months": [{"month": m, "count": n, "search_url": search_url(entity_id, m)} for m, n in months],
        }
    )
    if e.kind == "place":
        for key in ("start", "end", "predecessors", "successors", "armed"):
            out.pop(key)
    else:
        out.pop("lat")
        out.pop("lon")
    return out


def resolve(name_or_id: str) -> str | None:
    """The entity id that an id, an Arabic name or an English name denotes (``None`` when unknown
    or when the name is shared by entities that are not one chain).

    >>> resolve("hts"), resolve("Raqqa"), resolve("الرقة"), resolve("nowhere")
    ('hts', 'sy-raqqa', 'sy-raqqa', None)
    """
    from indexer.query import lookup

    if name_or_id in gazetteer.entities():
        return name_or_id
    found = lookup(name_or_id)
    return found[1][0] if found and len(found[1]) == 1 else None


def listing(searcher, kind: str | None = None, show_all: bool = False) -> list[dict]:
    """Every known entity (of ``kind``) with its document count: the :func:`summary` rows of
    ``kashaf entities --json`` and ``/api/entities``, places then groups, most reported first."""
    from indexer.facets import postings

    table = postings(searcher)
    rows = []
    for e in gazetteer.entities().values():
        if kind and e.kind != kind:
            continue
        n = len(table[e.kind].get(e.id, ()))
        if n or show_all:
            rows.append(summary(e.id, n))
    rows.sort(key=lambda r: (r["kind"], -r["count"], r["id"]))
    return rows


def record(searcher, entity_id: str) -> dict:
    """:func:`describe` of one entity with its counts in the index behind ``searcher``."""
    from indexer.facets import entity_months

    count, months = entity_months(searcher, entity_id)
    return describe(entity_id, count, months)
