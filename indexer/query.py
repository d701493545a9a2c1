"""The query language: words, ``=exact``, ``root:``/``جذر:``, ``"phrases"``, AND/OR/NOT/-,
parentheses and the filters ``place: group: source: date: from: to:``.

:func:`parse` reads leniently (an unclosed quote or parenthesis is closed at the
end, a stray ``)`` or a lone operator is dropped, each with a note) and raises
:class:`QueryError` only for what it cannot read (an unknown place, a bad date,
an over-long query). It knows nothing of Whoosh: ``indexer.search`` compiles the
tree. Words that name a known place or group (``داعش``, ``تنظيم الدولة``,
``دير الزور``) become :class:`Name` nodes holding the entity ids.

>>> q = parse('انسحاب =قوات -داعش').node
>>> q.children
(Word(text='انسحاب', level='all'), Word(text='قوات', level='exact'))
>>> q.excluded
(Name(words=(Word(text='داعش', level='all'),), ids=('isis',), kind='group'),)
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from analyzers import gazetteer
from analyzers.normalize import normalize
from analyzers.stopwords import is_stopword
from analyzers.tokenize import tokenize

MAX_QUERY_CHARS = 1000
MAX_WORDS = 64
MAX_NAME_WORDS = 8
# Interrogatives and question scaffolding: part of the language, never what is looked for.
# Question words (and a bare article, left when ``الـ`` precedes a number or a foreign
# word) are dropped from plain query words like stopwords.
QUESTION_WORDS = frozenset(
    normalize(w)
    for w in (
        "كم لماذا ماذا بماذا وماذا فماذا عماذا متى أين اين كيف هل ما من ماهو ماهي مما عما لمن بكم ال"
    ).split()
)
FIELD_ALIASES = {
    "place": "place",
    "مكان": "place",
    "group": "group",
    "جماعة": "group",
    "source": "source",
    "مصدر": "source",
    "date": "date",
    "تاريخ": "date",
    "from": "from",
    "to": "to",
    "root": "root",
    "جذر": "root",
}
_QUOTES = '"“”«»„'
_LEX = re.compile(
    rf"(?P<space>\s+)|(?P<open>\()|(?P<close>\))"
    rf"|(?P<field>(?:{'|'.join(map(re.escape, FIELD_ALIASES))}):)"
    rf"|(?P<quote>[{_QUOTES}][^{_QUOTES}]*(?:[{_QUOTES}]|$))"
    rf"|(?P<word>[^\s(){_QUOTES}]+)",
    re.IGNORECASE,
)


class QueryError(ValueError):
    """A query that cannot be read; the message says why (shown to the user as a 400)."""

    code = "invalid_query"


@dataclass(frozen=True)
class Word:
    """One query word; ``level`` is ``all`` (exact, stem or root), ``exact`` or ``root``."""

    text: str
    level: str = "all"


@dataclass(frozen=True)
class Phrase:
    """Consecutive words on their normalized forms, stopwords included."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Name:
    """Words naming known entities: they match as words, or via the entity (tags and aliases)."""

    words: tuple[Word, ...]
    ids: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class Bool:
    """``children`` joined by ``op``; documents matching any of ``excluded`` are dropped."""

    op: str
    children: tuple = ()
    excluded: tuple = ()


@dataclass
class Filters:
    """Restrictions outside scoring: entity ids (OR within a kind), sources, a date range."""

    place: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None

    def as_dict(self) -> dict:
        """The filters as JSON-ready values."""
        return {
            "place": self.place,
            "group": self.group,
            "source": self.source,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


@dataclass
class ParsedQuery:
    """The tree (``None`` when no word is left), the filters, dropped stopwords and repair notes."""

    node: Bool | Word | Phrase | Name | None
    filters: Filters
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- entities ------------------------------------------------------------------------


def _key(text: str) -> tuple[str, ...]:
    """The lookup key of a name: Arabic names by their normalized tokens, names in Latin
    letters folded case- and spelling-insensitively (``gazetteer.latin_key``)."""
    return ("latin", *gazetteer.latin_key(text)) if gazetteer.is_latin(text) else gazetteer.name_key(text)


@lru_cache(maxsize=1)
def _names() -> dict[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """``key → {kind: ids}`` over every Arabic name that needs no cue word and every English
    name and transliteration (``Raqqa``, ``Rakka``, ``ar-Raqqah``; ``HTS``, ``Hizbullah``)."""
    out: dict[tuple[str, ...], dict[str, list[str]]] = {}
    for e in gazetteer.entities().values():
        for name in (*e.names_ar, e.name_en, *e.aliases_en):
            key = _key(name)
            if not key or key == ("latin",):
                continue
            if not gazetteer.is_latin(name) and (
                " ".join(key) in e.strict_context or normalize(name) in e.strict_context
            ):
                continue
            ids = out.setdefault(key, {}).setdefault(e.kind, [])
            if e.id not in ids:
                ids.append(e.id)
    return {k: {kind: tuple(ids) for kind, ids in v.items()} for k, v in out.items()}


def lookup(text: str, kind: str | None = None) -> tuple[str, tuple[str, ...]] | None:
    """``(kind, ids)`` of the entities a name (or an id) denotes, or ``None``.

    Arabic names as the tagger reads them; English names and transliterations in any case
    and common spelling:

    >>> lookup("داعش")
    ('group', ('isis',))
    >>> lookup("sy-raqqa", "place")
    ('place', ('sy-raqqa',))
    >>> lookup("rakka"), lookup("HIZBULLAH")
    (('place', ('sy-raqqa',)), ('group', ('hezbollah',)))
    """
    table = gazetteer.entities()
    if text in table and (kind is None or table[text].kind == kind):
        return table[text].kind, (text,)
    if text.casefold() in table and (kind is None or table[text.casefold()].kind == kind):
        return table[text.casefold()].kind, (text.casefold(),)
    found = _names().get(_key(text))
    if not found:
        return None
    if kind and kind not in found:
        return None
    k = kind or ("group" if "group" in found else next(iter(found)))
    return k, _topmost(found[k])


@lru_cache(maxsize=1)
def _english_names() -> dict[str, str]:
    """Folded English name → the name as written, for did-you-mean."""
    out: dict[str, str] = {}
    for e in sorted(gazetteer.entities().values(), key=lambda e: e.id):
        for name in (e.name_en, *e.aliases_en):
            out.setdefault(" ".join(gazetteer.latin_key(name)), name)
    return out


def suggest_name(word: str) -> str | None:
    """The known English name nearest a word written in Latin letters (edit distance <= 2 on
    folded forms), or ``None``: did-you-mean for English queries.

    >>> suggest_name("Syira"), suggest_name("Hezbolah"), suggest_name("xqzv")
    ('Syria', None, None)
    """
    folded = " ".join(gazetteer.latin_key(word))
    if not folded or len(folded) < 3:
        return None
    names = _english_names()
    if folded in names:
        return None
    raw = word.casefold()
    scored = []
    for n, written in names.items():
        if abs(len(n) - len(folded)) <= 2 and _within(folded, n, 2):
            scored.append((_distance(folded, n), _distance(raw, written.casefold()), written))
    return min(scored)[2] if scored else None


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbouring letters as one edit (Syira → Syria)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _within(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of ``a`` and ``b`` is at most ``limit`` (banded, early exit)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def _topmost(ids: tuple[str, ...]) -> tuple[str, ...]:
    """Drop ids lying under another of the same name (حلب the city under حلب the governorate):
    documents roll up to ancestors, so the top one already covers them."""
    given = set(ids)
    return tuple(i for i in ids if not given.intersection(gazetteer.ancestors(i)))


def _mark_name_items(items: list[tuple[bool, object, bool]]) -> list[tuple[bool, object, bool]]:
    """Replace runs of plain words (same sign) that name an entity by one :class:`Name` unit.

    Longest match first; the name keeps the sign and the join of its first word.
    """

    def plain(k: int, neg: bool) -> bool:
        return isinstance(items[k][1], Word) and items[k][1].level == "all" and items[k][0] == neg

    out = []
    i = 0
    while i < len(items):
        neg, unit, joined = items[i]
        hit = None
        if plain(i, neg):
            n_max = 0
            while i + n_max < len(items) and n_max < MAX_NAME_WORDS and plain(i + n_max, neg):
                n_max += 1
            for n in range(n_max, 0, -1):
                run = tuple(items[k][1] for k in range(i, i + n))
                found = lookup(" ".join(w.text for w in run))
                if found:
                    hit = Name(run, found[1], found[0])
                    break
        out.append((neg, hit or unit, joined))
        i += len(hit.words) if hit else 1
    return out


# --- dates ---------------------------------------------------------------------------


def parse_date(value: str, end: bool = False) -> date:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as the first (or, with ``end``, last) day it covers.

    >>> parse_date("2017-02", end=True)
    datetime.date(2017, 2, 28)
    """
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value.strip())
    if not m:
        raise QueryError(f"date {value!r} must be YYYY, YYYY-MM or YYYY-MM-DD")
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if d:
            return date(y, int(mo), int(d))
        if mo:
            month = int(mo)
            return date(y, month, calendar.monthrange(y, month)[1] if end else 1)
        return date(y, 12, 31) if end else date(y, 1, 1)
    except ValueError:
        raise QueryError(f"{value!r} is not a valid date") from None


def apply_date(filters: Filters, kind: str, value: str) -> None:
    """Set ``from`` / ``to`` from a ``date:A..B``, ``from:A`` or ``to:B`` value."""
    if kind == "date":
        lo, sep, hi = value.partition("..")
        if lo:
            filters.date_from = parse_date(lo)
        if hi or not sep:
            filters.date_to = parse_date(hi or lo, end=True)
    elif kind == "from":
        filters.date_from = parse_date(value)
    else:
        filters.date_to = parse_date(value, end=True)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise QueryError(f"empty date range: {filters.date_from} is after {filters.date_to}")


def add_entity_filter(filters: Filters, kind: str, value: str) -> None:
    """Resolve a ``place:`` / ``group:`` value (an id or a name) into the filter."""
    found = lookup(value, kind)
    if not found:
        raise QueryError(f"unknown {kind} {value!r}: give an id or a name (see `kashaf entities`)")
    target = getattr(filters, kind)
    target.extend(i for i in found[1] if i not in target)


# --- parsing ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, op: str) -> None:
        self.tokens = self._lex(text)
        self.i = 0
        self.op = op
        self.filters = Filters()
        self.notes: list[str] = []
        self.words = 0

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        out = []
        for m in _LEX.finditer(text):
            kind = m.lastgroup
            if kind != "space":
                out.append((kind, m.group()))
        return out

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def is_op(self, name: str) -> bool:
        tok = self.peek()
        return tok is not None and tok == ("word", name)

    def parse(self):
        node = self.parse_or()
        while self.i < len(self.tokens):  # a stray ")"
            self.notes.append("ignored an unmatched ')'")
            self.i += 1
            more = self.parse_or()
            node = _join("and" if self.op == "and" else "or", [n for n in (node, more) if n])
        return node

    def parse_or(self):
        parts = [self.parse_and()]
        while self.is_op("OR"):
            self.i += 1
            parts.append(self.parse_and())
        return _join("or", parts)

    def parse_and(self):
        # Units joined by AND bind into one group; juxtaposed groups use the default op.
        items: list[tuple[bool, object, bool]] = []  # (negated, unit, joined to the previous by AND)
        joined = False
        while (tok := self.peek()) is not None and tok[0] != "close" and tok != ("word", "OR"):
            if tok == ("word", "AND"):
                self.i += 1
                joined = True
                continue
            neg, units = self.parse_unary()
            for k, unit in enumerate(units):
                items.append((neg, unit, joined or (k > 0 and neg)))
            if units:
                joined = False
        if joined:
            self.notes.append("ignored a trailing AND")
        items = _mark_name_items(items)
        groups: list[list] = []
        negs: list = []
        for neg, unit, was_joined in items:
            if neg:
                negs.append(unit)
            elif groups and (was_joined or self.op == "and"):
                groups[-1].append(unit)
            else:
                groups.append([unit])
        nodes = [_join("and", g) for g in groups]
        if not nodes:
            return Bool("and", (), tuple(negs)) if negs else None
        node = _join("or" if self.op == "or" else "and", nodes)
        if negs:
            children = node.children if isinstance(node, Bool) and not node.excluded else (node,)
            op = node.op if isinstance(node, Bool) else "and"
            node = Bool(op, children, tuple(negs))
        return node

    def parse_unary(self) -> tuple[bool, list]:
        """``(negated, units)``; units is a list so a chunk may yield several words."""
        kind, text = self.tokens[self.i]
        if text == "NOT" and kind == "word":
            self.i += 1
            if self.peek() is None or self.peek()[0] == "close":
                self.notes.append("ignored a NOT with nothing after it")
                return False, []
            _, units = self.parse_unary()
            return True, [_join("and", units)] if len(units) > 1 else units
        if text in ("AND", "OR") and kind == "word":  # e.g. "NOT OR": drop it
            self.i += 1
            self.notes.append(f"ignored a misplaced {text}")
            return False, []
        if kind == "word" and text[0] in "-=" and len(text) == 1 and self.i + 1 < len(self.tokens):
            # "- word" / "= word" written apart, or '-"phrase"' / '-(a b)'
            self.i += 1
            neg, units = self.parse_unary()
            if text == "-":
                return (not neg), [_join("and", units)] if len(units) > 1 else units
            return neg, [Word(u.text, "exact") if isinstance(u, Word) else u for u in units]
        self.i += 1
        if kind == "open":
            inner = self.parse_or()
            if self.peek() is not None and self.peek()[0] == "close":
                self.i += 1
            else:
                self.notes.append("closed an unclosed '(' at the end")
            return False, [inner] if inner is not None else []
        if kind == "close":
            return False, []
        if kind == "quote":
            return False, self.phrase(text)
        if kind == "field":
            return False, self.field(FIELD_ALIASES[text[:-1].lower()])
        neg = text.startswith("-") and len(text) > 1
        text = text[1:] if neg else text
        level = "all"
        if text.startswith("=") and len(text) > 1:
            level, text = "exact", text[1:]
        return neg, self.words_of(text, level)

    def words_of(self, text: str, level: str) -> list[Word]:
        out = []
        for t in tokenize(text):
            if self.words >= MAX_WORDS:
                self.notes.append(f"only the first {MAX_WORDS} words are searched")
                break
            self.words += 1
            out.append(Word(t.text, level))
        return out

    def phrase(self, raw: str) -> list:
        body = raw[1:]
        if body and body[-1] in _QUOTES:
            body = body[:-1]
        else:
            self.notes.append("closed an unclosed quote at the end")
        words = [w.text for w in self.words_of(body, "exact")]
        if not words:
            return []
        if len(words) == 1:
            return [Word(words[0], "exact")]
        return [Phrase(tuple(words))]

    def field(self, name: str) -> list:
        tok = self.peek()
        if tok is None or tok[0] in ("space", "open", "close", "field"):
            raise QueryError(f"{name}: needs a value (e.g. {name}:{_EXAMPLES[name]})")
        self.i += 1
        value = tok[1]
        if tok[0] == "quote":
            value = value[1:].rstrip(_QUOTES)
        if name == "root":
            return [Word(t.text, "root") for t in tokenize(value)]
        if name in ("place", "group"):
            add_entity_filter(self.filters, name, value)
        elif name == "source":
            self.filters.source.append(value)
        else:
            apply_date(self.filters, name, value)
        return []


_EXAMPLES = {
    "place": "الرقة",
    "group": "hts",
    "source": "BBC",
    "date": "2017-06..2017-10",
    "from": "2017-06",
    "to": "2017-10-31",
    "root": "سحب",
}


def _join(op: str, parts: list):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    flat = []
    for p in parts:  # a AND (b AND c) reads as a AND b AND c
        if isinstance(p, Bool) and p.op == op and not p.excluded:
            flat.extend(p.children)
        else:
            flat.append(p)
    return Bool(op, tuple(flat))


def _drop_stopwords(node, ignored: list[str]):
    """Remove stopwords and question words from plain word lists (kept in phrases and names)."""
    if isinstance(node, Word):
        if node.level != "exact" and is_query_stop(node.text):
            ignored.append(node.text)
            return None
        return node
    if isinstance(node, Bool):
        kids = [k for k in (_drop_stopwords(c, ignored) for c in node.children) if k is not None]
        excl = [k for k in (_drop_stopwords(c, ignored) for c in node.excluded) if k is not None]
        if not kids and not excl:
            return None
        if len(kids) == 1 and not excl:
            return kids[0]
        return Bool(node.op, tuple(kids), tuple(excl))
    return node


def is_query_stop(word: str) -> bool:
    return is_stopword(word) or normalize(word) in QUESTION_WORDS


def parse(text: str, op: str = "and") -> ParsedQuery:
    """Read a query; ``op`` joins words written side by side (``and`` or ``or``).

    >>> q = parse('"في الرقة" =قوات place:sy-raqqa date:2017-06..2017-10')
    >>> q.node
    Bool(op='and', children=(Phrase(words=('في', 'الرقة')), Word(text='قوات', level='exact')), excluded=())
    >>> q.filters.as_dict()["from"], q.filters.as_dict()["to"]
    ('2017-06-01', '2017-10-31')
    >>> parse("(انسحاب OR").notes
    ["closed an unclosed '(' at the end"]
    """
    if op not in ("and", "or"):
        raise QueryError(f"op must be 'and' or 'or', not {op!r}")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    p = _Parser(text, op)
    node = p.parse()
    ignored: list[str] = []
    cleaned = _drop_stopwords(node, ignored)
    if cleaned is None and ignored:
        p.notes.append('only common words: nothing to search (put them in quotes: "من هو")')
    if isinstance(cleaned, Bool) and not cleaned.children and not cleaned.excluded:
        cleaned = None
    return ParsedQuery(cleaned, p.filters, ignored, list(dict.fromkeys(p.notes)))
