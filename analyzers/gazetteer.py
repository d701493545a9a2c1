"""Places and armed-group gazetteers (analyzers/data/places.tsv, groups.tsv, entity_overrides.tsv).

Both files are plain reviewed TSV; this module loads them once, applies the
``rename`` overrides and answers hierarchy questions: a report on البوكمال also
counts for دير الزور governorate and for Syria (``ancestors``), جبهة النصرة
became جبهة فتح الشام then هيئة تحرير الشام (``successors``). See docs/entities.md.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from analyzers.normalize import normalize
from analyzers.tokenize import tokenize

PLACE_KINDS = (
    "country",
    "governorate",
    "district",
    "subdistrict",
    "region",
    "locality",
    "neighbourhood",
    "site",
)
# Kinds of actors that fight (the armed-actors facet) ...
ARMED_KINDS = (
    "state force",
    "foreign state force",
    "armed group",
    "rebel",
    "jihadist",
    "kurdish",
    "militia",
)
# ... and of those that do not (monitors, NGOs, parties and coalitions, governments and
# parliaments, UN peacekeepers, the UN's bodies and missions and the regional organisations:
# the organizations facet).
CIVIL_KINDS = ("monitor", "ngo", "political", "government", "peacekeeping", "international")
GROUP_KINDS = ARMED_KINDS + CIVIL_KINDS
OVERRIDE_ACTIONS = ("ignore", "merge", "rename")


@dataclass(frozen=True)
class Entity:
    """One place or armed group. ``kind`` is 'place' or 'group'; ``level`` its finer kind."""

    id: str
    kind: str
    level: str
    name_ar: str
    name_en: str
    parent: str | None = None
    aliases_ar: tuple[str, ...] = ()
    aliases_en: tuple[str, ...] = ()
    needs_context: frozenset[str] = frozenset()  # normalized names that need context (cue or neighbour)
    strict_context: frozenset[str] = frozenset()  # the subset that needs a cue word (written !name)
    adverb_context: frozenset[str] = frozenset()  # the subset a preposition vouches for (written ~name)
    lat: float | None = None
    lon: float | None = None
    predecessor: tuple[str, ...] = ()
    successor: tuple[str, ...] = ()
    start: str = ""
    end: str = ""
    label: str = ""  # display label (name_ar unless renamed by an override)

    @property
    def names_ar(self) -> tuple[str, ...]:
        """The Arabic name and its aliases, as written in the data."""
        return (self.name_ar, *self.aliases_ar)


@dataclass(frozen=True)
class Override:
    """One curation row: ignore a phrase, merge into another id, or rename."""

    action: str
    entity_id: str
    argument: str
    note: str


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split("|") if v.strip())


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("analyzers").joinpath(f"data/{name}").read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return [{k: (v or "").strip() for k, v in row.items()} for row in reader]


def _context(row: dict[str, str], mark: str = "") -> frozenset[str]:
    """Normalized needs_context names; with ``mark`` ('!' or '~') only those written with it."""
    names = _split(row.get("needs_context", ""))
    return frozenset(" ".join(name_key(n.lstrip("!~"))) for n in names if not mark or n.startswith(mark))


def _coord(value: str) -> float | None:
    return float(value) if value else None


def name_key(name: str) -> tuple[str, ...]:
    """A name as the tagger matches it: the tuple of its normalized tokens.

    >>> name_key("الفرقة ١٧")
    ('الفرقه', '17')
    """
    return tuple(normalize(t.text) for t in tokenize(name))


_LATIN_RE = re.compile(r"[A-Za-z]")
_ARTICLE_RE = re.compile(r"\b(?:al|el|ar|as|ad|ash|az|an|at|ath|adh|ez|es|ed|er|et|en|ul)\s+(?=\w)")
_LATIN_FOLDS = (
    (re.compile(r"[’'ʿʾʻʼ`‘]"), ""),
    (re.compile(r"[-_/.,()]+"), " "),
)
_SOUND_FOLDS = (
    ("q", "k"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("ei", "i"),
    ("ey", "i"),
    ("ay", "i"),
    ("ai", "i"),
    ("e", "i"),
    ("o", "u"),
    ("ph", "f"),
    ("dh", "z"),
    ("th", "t"),
)


def is_latin(text: str) -> bool:
    """True when ``text`` is written in Latin letters (an English name or a transliteration)."""
    return bool(_LATIN_RE.search(text))


def latin_key(name: str) -> tuple[str, ...]:
    """An English name or transliteration folded so that common spellings meet: case, accents,
    apostrophes, hyphens and the Arabic article (al-, ar-, ez- ...) are dropped, vowels and
    q/k, ou/u, e/i, o/u are folded, doubled letters collapse and a final h after a vowel goes.

    >>> latin_key("ar-Raqqah") == latin_key("Raqqa") == latin_key("RAKKA")
    True
    >>> latin_key("Deir ez-Zor") == latin_key("Deir al-Zour") == latin_key("Dayr az Zawr".replace("aw", "u"))
    True
    >>> latin_key("Hezbollah") == latin_key("Hizbullah")
    True
    """
    text = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    text = text.casefold()
    for pattern, repl in _LATIN_FOLDS:
        text = pattern.sub(repl, text)
    text = _ARTICLE_RE.sub("", " ".join(text.split()))
    return tuple(_fold_word(w) for w in text.split())


def _fold_word(word: str) -> str:
    for a, b in _SOUND_FOLDS:
        word = word.replace(a, b)
    word = re.sub(r"(.)\1+", r"\1", word)
    if len(word) > 2 and word.endswith("h") and word[-2] in "aiu":
        word = word[:-1]
    return word


@lru_cache(maxsize=1)
def overrides() -> tuple[Override, ...]:
    """The curation rows of entity_overrides.tsv, in file order."""
    return tuple(
        Override(r["action"], r["entity_id"], r["argument"], r.get("note", ""))
        for r in _rows("entity_overrides.tsv")
    )


def _shared_fields(r: dict[str, str], kind: str, renames: dict[str, str]) -> dict:
    """The Entity fields places.tsv and groups.tsv rows have in common."""
    return {
        "id": r["id"],
        "kind": kind,
        "level": r["kind"],
        "name_ar": r["name_ar"],
        "name_en": r["name_en"],
        "parent": r["parent"] or None,
        "aliases_ar": _split(r["aliases_ar"]),
        "aliases_en": _split(r["aliases_en"]),
        "needs_context": _context(r),
        "strict_context": _context(r, "!"),
        "adverb_context": _context(r, "~"),
        "label": renames.get(r["id"], r["name_ar"]),
    }


@lru_cache(maxsize=1)
def entities() -> dict[str, Entity]:
    """Every place and group by id (rename overrides applied to ``label``).

    >>> entities()["sy-deirezzor-abukamal"].name_en
    'Abu Kamal'
    """
    renames = {o.entity_id: o.argument for o in overrides() if o.action == "rename"}
    table: dict[str, Entity] = {}
    for r in _rows("places.tsv"):
        table[r["id"]] = Entity(
            **_shared_fields(r, "place", renames),
            lat=_coord(r["lat"]),
            lon=_coord(r["lon"]),
        )
    for r in _rows("groups.tsv"):
        if r["id"] in table:
            raise ValueError(f"id {r['id']} is both a place and a group")
        table[r["id"]] = Entity(
            **_shared_fields(r, "group", renames),
            predecessor=_split(r["predecessor"]),
            successor=_split(r["successor"]),
            start=r["start"],
            end=r["end"],
        )
    return table


def get(entity_id: str) -> Entity:
    """The entity with this id (KeyError when unknown)."""
    return entities()[entity_id]


def ancestors(entity_id: str) -> list[str]:
    """Parent, grandparent, ... up to the root (nearest first).

    A report on البوكمال counts for its district, دير الزور governorate and Syria:

    >>> ancestors("sy-deirezzor-abukamal")
    ['sy-deirezzor-abukamal-district', 'sy-deirezzor', 'sy']
    """
    table = entities()
    out: list[str] = []
    parent = table[entity_id].parent
    while parent and parent not in out and parent != entity_id:
        out.append(parent)
        parent = table[parent].parent if parent in table else None
    return out


@lru_cache(maxsize=1)
def _children() -> dict[str, tuple[str, ...]]:
    kids: dict[str, list[str]] = {}
    for e in entities().values():
        if e.parent:
            kids.setdefault(e.parent, []).append(e.id)
    return {k: tuple(v) for k, v in kids.items()}


def children(entity_id: str) -> tuple[str, ...]:
    """The entities whose parent is ``entity_id``.

    >>> "sy-raqqa-thawrah-district" in children("sy-raqqa")
    True
    """
    return _children().get(entity_id, ())


def descendants(entity_id: str) -> list[str]:
    """Every entity below ``entity_id`` (breadth first).

    >>> "sy-raqqa-tabqa" in descendants("sy-raqqa")   # الطبقة is in الرقة governorate
    True
    """
    out: list[str] = []
    queue = list(_children().get(entity_id, ()))
    seen = {entity_id}
    while queue:
        e = queue.pop(0)
        if e in seen:
            continue
        seen.add(e)
        out.append(e)
        queue.extend(_children().get(e, ()))
    return out


@lru_cache(maxsize=1)
def _succession() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    # Either side may record a link; both directions are derived from the union.
    after: dict[str, set[str]] = {}
    before: dict[str, set[str]] = {}
    for e in entities().values():
        for s in e.successor:
            after.setdefault(e.id, set()).add(s)
            before.setdefault(s, set()).add(e.id)
        for p in e.predecessor:
            before.setdefault(e.id, set()).add(p)
            after.setdefault(p, set()).add(e.id)
    return after, before


def _walk(start: str, links: dict[str, set[str]]) -> list[str]:
    out: list[str] = []
    frontier = sorted(links.get(start, ()))
    while frontier:
        nxt: list[str] = []
        for e in frontier:
            if e not in out and e != start:
                out.append(e)
                nxt.extend(sorted(links.get(e, ())))
        frontier = nxt
    return out


def successors(entity_id: str) -> list[str]:
    """Groups that ``entity_id`` became, transitively, nearest first.

    >>> successors("nusra")   # جبهة النصرة → جبهة فتح الشام → هيئة تحرير الشام
    ['jfs', 'hts']
    """
    return _walk(entity_id, _succession()[0])


def predecessors(entity_id: str) -> list[str]:
    """Groups that became ``entity_id``, transitively, nearest first.

    >>> predecessors("hts")
    ['jfs', 'nusra']
    """
    return _walk(entity_id, _succession()[1])


def is_armed(entity_id: str) -> bool:
    """True for a group that fights (its kind is one of ARMED_KINDS).

    >>> is_armed("houthis"), is_armed("sohr"), is_armed("sy")
    (True, False, False)
    """
    e = entities().get(entity_id)
    return e is not None and e.kind == "group" and e.level in ARMED_KINDS


# Kinds of a state's own institutions: its forces and its governments and parliaments.
STATE_KINDS = ("state force", "government")


def is_state(entity_id: str) -> bool:
    """True for a state's own force or government (kinds STATE_KINDS): a nationality adjective
    in its name names the state (الجيش اللبناني), unlike one in another actor's (حزب الله اللبناني).

    >>> is_state("lb-army"), is_state("hezbollah"), is_state("ly-gna")
    (True, False, True)
    """
    e = entities().get(entity_id)
    return e is not None and e.kind == "group" and e.level in STATE_KINDS


def country_of(entity_id: str) -> str:
    """The country a place lies in (the root of its parent chain).

    >>> country_of("ye-hodeidah-port"), country_of("ps-jericho")
    ('ye', 'ps')
    """
    chain = ancestors(entity_id)
    return chain[-1] if chain else entity_id


def is_syrian(entity_id: str) -> bool:
    """True for Syria and every place under it.

    >>> is_syrian("sy-idlib-khan-shaykhun"), is_syrian("ru-moscow")
    (True, False)
    """
    return entity_id == "sy" or "sy" in ancestors(entity_id)


@lru_cache(maxsize=1)
def name_words() -> frozenset[str]:
    """Every normalized word of every Arabic name and alias (for protecting names from stemming).

    >>> {"البوكمال", "قسد", "كوباني"} <= name_words()
    True
    """
    return frozenset(w for e in entities().values() for n in e.names_ar for w in name_key(n))


@lru_cache(maxsize=1)
def protected_names() -> frozenset[str]:
    """Single-word names to keep whole in the stem and root fields (``الرقة`` → ``رقه``, not ``رقق``).

    Words of multi-word names are left out (``قوات`` of ``قوات سوريا الديمقراطية``
    must still be rooted), and so are names that are also common words and need
    context to be read as names (``الباب``, ``حماة``), and plural nisba forms
    (``الحوثيين``, ``الحوثيون``), whose light stem ``حوثي`` already meets the singular's.

    >>> "القامشلي" in protected_names(), "قوات" in protected_names(), "الباب" in protected_names()
    (True, False, False)
    >>> "الحوثيين" in protected_names()
    False
    """
    out = set()
    for e in entities().values():
        for name in e.names_ar:
            key = name_key(name)
            if len(key) != 1 or key[0] in e.needs_context or key[0].isdigit():
                continue
            if key[0].endswith(("يين", "يون")):
                continue
            out.add(key[0])
    return frozenset(out)


def validate() -> list[str]:
    """Problems in the data files (empty list when they are consistent)."""
    table = entities()
    problems: list[str] = []
    for e in table.values():
        kinds = PLACE_KINDS if e.kind == "place" else GROUP_KINDS
        if e.level not in kinds:
            problems.append(f"{e.id}: kind {e.level!r} is not one of {kinds}")
        if e.parent and e.parent not in table:
            problems.append(f"{e.id}: parent {e.parent} does not exist")
        if e.parent and e.parent in table and table[e.parent].kind != e.kind:
            problems.append(f"{e.id}: parent {e.parent} is not a {e.kind}")
        if e.id in ancestors(e.id) or (e.parent and _cyclic(e.id)):
            problems.append(f"{e.id}: parent chain has a cycle")
        if (e.lat is None) != (e.lon is None):
            problems.append(f"{e.id}: lat and lon must be both given or both empty")
        if e.lat is not None and not (-90 <= e.lat <= 90 and -180 <= e.lon <= 180):
            problems.append(f"{e.id}: lat/lon out of range")
        for n in e.names_ar:
            if not name_key(n):
                problems.append(f"{e.id}: name {n!r} normalizes to nothing")
        keys = {" ".join(name_key(n)) for n in e.names_ar}
        for n in e.needs_context - keys:
            problems.append(f"{e.id}: needs_context {n!r} is not one of its names")
        for link in (*e.predecessor, *e.successor):
            if link not in table:
                problems.append(f"{e.id}: succession link {link} does not exist")
        for date in (e.start, e.end):
            if date and not _is_date(date):
                problems.append(f"{e.id}: date {date!r} is not YYYY or YYYY-MM")
    for o in overrides():
        if o.action not in OVERRIDE_ACTIONS:
            problems.append(f"override {o}: unknown action")
        if o.entity_id not in table:
            problems.append(f"override {o}: unknown entity")
        if o.action == "merge" and o.argument not in table:
            problems.append(f"override {o}: merge target does not exist")
    problems.extend(shared_name_problems())
    return problems


def _cyclic(entity_id: str) -> bool:
    seen = set()
    cur: str | None = entity_id
    table = entities()
    while cur:
        if cur in seen:
            return True
        seen.add(cur)
        cur = table[cur].parent if cur in table else None
    return False


def _is_date(value: str) -> bool:
    parts = value.split("-")
    return (
        len(parts) in (1, 2)
        and len(parts[0]) == 4
        and parts[0].isdigit()
        and (len(parts) == 1 or (len(parts[1]) == 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12))
    )


def shared_name_problems() -> list[str]:
    """Names used by two entities that are neither on one parent chain nor marked needs_context.

    A governorate, its district and its seat city may share a name (حلب): the tagger picks
    one by the cue word in front (محافظة، منطقة، مدينة). Otherwise every sharer off that chain (the
    default reading) must mark it needs_context: دوما is Douma in Syria unless a neighbour points to
    the West Bank village.
    """
    table = entities()
    by_name: dict[str, set[str]] = {}
    for e in table.values():
        for n in e.names_ar:
            by_name.setdefault(" ".join(name_key(n)), set()).add(e.id)
    problems = []
    for name, ids in sorted(by_name.items()):
        if len(ids) < 2:
            continue
        ordered = sorted(ids)
        # the sharers that leave the name unflagged (the default reading) must lie on one chain
        unflagged = [i for i in ordered if name not in table[i].needs_context]
        ok = all(a == b or a in ancestors(b) or b in ancestors(a) for a in unflagged for b in unflagged)
        if not ok:
            problems.append(f"name {name!r} shared by {ordered}")
    return problems
