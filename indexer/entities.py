"""Places and armed groups mentioned in a document (``analyzers.tagger``), for facets and filters."""

from __future__ import annotations

from typing import NamedTuple

from analyzers.gazetteer import ancestors
from analyzers.tagger import tag


class Mention(NamedTuple):
    """One entity mention: character span in ``field`` ("title" or "body")."""

    entity_id: str
    kind: str  # "place" or "group"
    start: int
    end: int
    field: str


def entities_for(title: str, body: str) -> tuple[list[str], list[str], list[Mention]]:
    """``(place_ids, group_ids, mentions)`` for a document.

    Each mentioned entity also counts for its ancestors, so a report on البوكمال
    is found under دير الزور governorate and under Syria, and a unit under its
    force. Runs in the analysis worker processes; pure.

    >>> places, groups, mentions = entities_for("", "انسحبت قوات النظام من البوكمال")
    >>> "sy" in places and "sy-deirezzor" in places
    True
    >>> [m.field for m in mentions][:1]
    ['body']
    """
    mentions: list[Mention] = []
    places: set[str] = set()
    groups: set[str] = set()
    for field, text in (("title", title), ("body", body)):
        if not text:
            continue
        for m in tag(text):
            mentions.append(Mention(m.entity_id, m.kind, m.start, m.end, field))
            found = places if m.kind == "place" else groups
            found.add(m.entity_id)
            found.update(ancestors(m.entity_id))
    return sorted(places), sorted(groups), mentions
