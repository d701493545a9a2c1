"""Hook for the entities issue: places and armed groups mentioned in a document.

``analyzers.tagger`` is wired in here later; until then nothing is tagged.
"""

from __future__ import annotations

from typing import NamedTuple


class Mention(NamedTuple):
    """One entity mention: character span in ``field`` ("title" or "body")."""

    entity_id: str
    kind: str  # "place" or "group"
    start: int
    end: int
    field: str


def entities_for(title: str, body: str) -> tuple[list[str], list[str], list[Mention]]:
    """``(place_ids, group_ids, mentions)`` for a document; empty until the tagger lands.

    Called in the analysis worker processes, so it may be slow-ish but must be pure.

    >>> entities_for("الرقة", "انسحبت قوات النظام")
    ([], [], [])
    """
    return [], [], []
