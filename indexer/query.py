"""The query language: words, ``=exact``, ``root:``/``جذر:``, ``title:``/``عنوان:``, ``prefix*``,
``"phrases"``, AND/OR/NOT/- (also ``and or not`` and Arabic ``أو``), parentheses and the
filters ``place: group: source: date: from: to:``.

:func:`parse` reads leniently (an unclosed quote or parenthesis is closed at the
end, a stray ``)`` or a lone operator is dropped, each with a note) and raises
:class:`QueryError` only for what it cannot read (an unknown place, a bad date,
an over-long query). Nothing it leaves out is left out silently: stopwords go to
``ignored``, dropped operators and syntax it does not support to ``notes``. It knows
nothing of Whoosh: ``indexer.search`` compiles the tree. Words that name a known place
or group (``داعش``, ``تنظيم الدولة``, ``دير الزور``) become :class:`Name` nodes holding
the entity ids.

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
MIN_PREFIX_CHARS = 2  # انسحب* yes, ا* no: a one-letter prefix is most of the vocabulary
# The parser descends once per "(" and per prefix operator (NOT, a lone "-"/"="), so
# their nesting is bounded before parsing: Python's stack is not an input limit.
MAX_DEPTH = 20
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
    "title": "title",
    "عنوان": "title",
}
FILTER_KINDS = ("place", "group")
# Operator words, any case, and the Arabic أو ("or"), as the canonical operator.
OPERATORS = {"and": "AND", "or": "OR", "not": "NOT", normalize("أو"): "OR"}
# Characters of other query languages that the tokenizer would drop without a word.
_SYNTAX = set("*?~^!{}[]|&\\/+")
_UNKNOWN_FIELD = re.compile(r"([A-Za-z_]{2,}):(.+)")
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
    """One query word; ``level`` is ``all`` (exact, stem or root), ``exact``, ``root`` or
    ``prefix`` (exact forms starting with ``text``); ``scope`` is ``any`` (title and body)
    or ``title``."""

    text: str
    level: str = "all"
    scope: str = "any"

    def __repr__(self) -> str:
        scope = f", scope={self.scope!r}" if self.scope != "any" else ""
        return f"Word(text={self.text!r}, level={self.level!r}{scope})"


@dataclass(frozen=True)
class Phrase:
    """Consecutive words on their normalized forms, stopwords included (``scope`` as for Word)."""

    words: tuple[str, ...]
    scope: str = "any"

    def __repr__(self) -> str:
        scope = f", scope={self.scope!r}" if self.scope != "any" else ""
        return f"Phrase(words={self.words!r}{scope})"


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
    """Restrictions outside scoring: entity ids (OR within a kind), sources, a date range.

    ``required`` holds further ``(kind, ids)`` clauses that must hold too: ``place:A AND
    place:B`` is ``place=[A]`` and ``required=[("place", [B])]`` (reports about both).
    """

    place: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    required: list[tuple[str, list[str]]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The filters as JSON-ready values."""
        return {
            "place": self.place,
            "group": self.group,
            "source": self.source,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "required": [{"kind": kind, "ids": list(ids)} for kind, ids in self.required],
        }

    def any(self) -> bool:
        """Whether anything restricts the documents."""
        return bool(
            self.place or self.group or self.source or self.date_from or self.date_to or self.required
        )


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
        unit = items[k][1]
        return isinstance(unit, Word) and unit.level == "all" and unit.scope == "any" and items[k][0] == neg

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


def add_entity_filter(filters: Filters, kind: str, value: str, required: bool = False) -> None:
    """Resolve a ``place:`` / ``group:`` value (an id or a name) into the filter: one more
    value of the kind's OR list, or (``required``) a clause of its own that must hold too."""
    found = lookup(value, kind)
    if not found:
        raise QueryError(f"unknown {kind} {value!r}: give an id or a name (see `kashaf entities`)")
    if required and getattr(filters, kind):
        filters.required.append((kind, list(found[1])))
        return
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
        self.conjoin = False  # the filter being read follows "AND" after one of its kind

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str, str]]:
        """``(kind, text)`` tokens; operator words become ``("op", "AND" | "OR" | "NOT")``
        with what was written kept in ``raw``."""
        out = []
        for m in _LEX.finditer(text):
            kind = m.lastgroup
            if kind == "space":
                continue
            word = m.group()
            if kind == "word" and normalize(word) in OPERATORS:
                out.append(("op", OPERATORS[normalize(word)], word))
            else:
                out.append((kind, word, word))
        return out

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i][:2] if self.i < len(self.tokens) else None

    def raw(self) -> str:
        return self.tokens[self.i][2]

    def is_op(self, name: str) -> bool:
        return self.peek() == ("op", name)

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
            written = self.raw()
            self.i += 1
            start = self.i
            parts.append(self.parse_and())
            if self.i == start:  # "a OR" or "a OR )": nothing on its right
                self.notes.append(f"ignored a trailing {written}")
        return _join("or", parts)

    def parse_and(self):
        # Units joined by AND bind into one group; juxtaposed groups use the default op.
        items: list[tuple[bool, object, bool]] = []  # (negated, unit, joined to the previous by AND)
        joined = False
        last_filter = None  # kind of the filter read just before, for "place:A AND place:B"
        while (tok := self.peek()) is not None and tok[0] != "close" and tok != ("op", "OR"):
            if tok == ("op", "AND"):
                self.i += 1
                joined = True
                continue
            kind = FIELD_ALIASES[tok[1][:-1].lower()] if tok[0] == "field" else None
            self.conjoin = joined and kind in FILTER_KINDS and kind == last_filter
            neg, units = self.parse_unary()
            self.conjoin = False
            if kind in (*FILTER_KINDS, "source", "date", "from", "to"):
                # A filter holds for the whole query: an AND beside it joins nothing.
                last_filter, joined = kind, False
                continue
            last_filter = None
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
        kind, text = self.peek()
        if (kind, text) == ("op", "NOT"):
            self.i += 1
            if self.peek() is None or self.peek()[0] == "close":
                self.notes.append(f"ignored a {self.tokens[self.i - 1][2]} with nothing after it")
                return False, []
            _, units = self.parse_unary()
            return True, [_join("and", units)] if len(units) > 1 else units
        if kind == "op":  # e.g. "NOT OR": drop it
            self.notes.append(f"ignored a misplaced {self.raw()}")
            self.i += 1
            return False, []
        if kind == "word" and text[0] in "-=" and len(text) == 1 and self.i + 1 < len(self.tokens):
            # "- word" / "= word" written apart, or '-"phrase"' / '-(a b)'
            self.i += 1
            neg, units = self.parse_unary()
            if text == "-":
                return (not neg), [_join("and", units)] if len(units) > 1 else units
            return neg, [Word(u.text, "exact", u.scope) if isinstance(u, Word) else u for u in units]
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
            name = FIELD_ALIASES[text[:-1].lower()]
            if name == "title":
                return self.title()
            return False, self.field(name)
        neg = text.startswith("-") and len(text) > 1
        text = text[1:] if neg else text
        level = "all"
        if text.startswith("=") and len(text) > 1:
            level, text = "exact", text[1:]
        if text.startswith("+") and len(text) > 1:
            self.notes.append(f"ignored the '+' of {text!r}: {self._plus_note()}")
            text = text[1:]
        if m := _UNKNOWN_FIELD.fullmatch(text):
            if m.group(1).lower() in FIELD_ALIASES:  # "-place:sy": the lexer saw one word
                self.notes.append(f"ignored {'-' * neg + text!r}: a filter cannot be excluded")
                return False, []
            self.notes.append(
                f"unknown field {m.group(1)!r}: {text!r} searched as words "
                f"(fields: {', '.join(sorted(set(FIELD_ALIASES.values())))})"
            )
        return neg, self.words_of(text, level)

    def _plus_note(self) -> str:
        if self.op == "and":
            return "every word is required already"
        return "write AND to require a word"

    def title(self) -> tuple[bool, list]:
        """``title:word``, ``title:"a phrase"``, ``title:=word``, ``title:(a OR b)``: the same
        units, matched in titles only."""
        tok = self.peek()
        if tok is None or tok[0] in ("close", "field", "op"):
            raise QueryError(f"title: needs a value (e.g. title:{_EXAMPLES['title']})")
        neg, units = self.parse_unary()
        return neg, [_in_title(u) for u in units]

    def words_of(self, text: str, level: str) -> list[Word]:
        trailing = text.endswith("*") and len(text.rstrip("*")) > 0
        prefix = trailing and level == "all"
        if trailing and not prefix:
            kind = "an exact (=)" if level == "exact" else "a root:"
            self.notes.append(f"ignored the '*' of {text!r}: {kind} word has no prefix search")
        tokens = tokenize(text)
        dropped = sorted(set(text.rstrip("*") if trailing else text) & _SYNTAX)
        if dropped:
            shown = " ".join(repr(c) for c in dropped)
            hint = " (a * goes at the end of a word: انسحب*)" if "*" in dropped else ""
            self.notes.append(f"ignored {shown} in {text!r}: not part of the query language{hint}")
        out = []
        for k, t in enumerate(tokens):
            if self.words >= MAX_WORDS:
                self.notes.append(f"only the first {MAX_WORDS} words are searched")
                break
            self.words += 1
            lv = level
            if prefix and k == len(tokens) - 1:
                if len(normalize(t.text)) >= MIN_PREFIX_CHARS:
                    lv = "prefix"
                else:
                    self.notes.append(
                        f"{t.text}*: a prefix needs at least {MIN_PREFIX_CHARS} letters; searched as a word"
                    )
            out.append(Word(t.text, lv))
        return out

    def phrase(self, raw: str) -> list:
        body = raw[1:]
        if body and body[-1] in _QUOTES:
            body = body[:-1]
        else:
            self.notes.append("closed an unclosed quote at the end")
        if "*" in body:
            self.notes.append(f"ignored the '*' in \"{body}\": a phrase has no prefix search")
            body = body.replace("*", " ")
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
            return self.words_of(value, "root")
        if name in FILTER_KINDS:
            add_entity_filter(self.filters, name, value, required=self.conjoin)
        elif name == "source":
            self.filters.source.append(value)
        else:
            apply_date(self.filters, name, value)
        return []


def _in_title(unit):
    """A unit restricted to titles (names lose their entity: a tag is not a title word)."""
    if isinstance(unit, Word):
        return Word(unit.text, unit.level, "title")
    if isinstance(unit, Phrase):
        return Phrase(unit.words, "title")
    if isinstance(unit, Name):
        return _join("and", [_in_title(w) for w in unit.words])
    if isinstance(unit, Bool):
        return Bool(unit.op, tuple(map(_in_title, unit.children)), tuple(map(_in_title, unit.excluded)))
    return unit


_EXAMPLES = {
    "place": "الرقة",
    "group": "hts",
    "source": "BBC",
    "date": "2017-06..2017-10",
    "from": "2017-06",
    "to": "2017-10-31",
    "root": "سحب",
    "title": "انسحاب",
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
        if node.level in ("all", "root") and is_query_stop(node.text):
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


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` before any recursive descent.

    Counts open parentheses (outside quotes) plus a run of prefix operators
    before them; a ``)`` closes one level. Linear in the query's length.

    >>> _check_depth("((قصف OR غارة) NOT (حلب))")
    >>> _check_depth("(" * 25 + "قصف")
    Traceback (most recent call last):
      ...
    indexer.query.QueryError: the query nests 25 levels deep (parentheses and NOT); the limit is 20
    """
    depth = deepest = prefix = 0
    opened: list[int] = []  # levels each open "(" added (itself and the operators before it)
    for m in _LEX.finditer(text):
        kind, tok = m.lastgroup, m.group()
        if kind == "space":
            continue
        if kind == "word" and tok in ("NOT", "-", "="):
            prefix += 1
        elif kind == "open":
            opened.append(prefix + 1)
            depth += prefix + 1
            prefix = 0
        elif kind == "close":
            depth -= opened.pop() if opened else 0
            prefix = 0
        else:
            prefix = 0
        deepest = max(deepest, depth + prefix)
    if deepest > MAX_DEPTH:
        raise QueryError(
            f"the query nests {deepest} levels deep (parentheses and NOT); the limit is {MAX_DEPTH}"
        )


def parse(text: str, op: str = "and") -> ParsedQuery:
    """Read a query; ``op`` joins words written side by side (``and`` or ``or``).

    >>> q = parse('"في الرقة" =قوات place:sy-raqqa date:2017-06..2017-10')
    >>> q.node
    Bool(op='and', children=(Phrase(words=('في', 'الرقة')), Word(text='قوات', level='exact')), excluded=())
    >>> q.filters.as_dict()["from"], q.filters.as_dict()["to"]
    ('2017-06-01', '2017-10-31')
    >>> parse("(انسحاب OR").notes
    ['ignored a trailing OR', "closed an unclosed '(' at the end"]
    >>> parse("قصف أو غارة ليس").node
    Bool(op='or', children=(Word(text='قصف', level='all'), Word(text='غارة', level='all')), excluded=())
    """
    if op not in ("and", "or"):
        raise QueryError(f"op must be 'and' or 'or', not {op!r}")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    _check_depth(text)
    p = _Parser(text, op)
    node = p.parse()
    ignored: list[str] = []
    cleaned = _drop_stopwords(node, ignored)
    if cleaned is None and ignored:
        p.notes.append('only common words: nothing to search (put them in quotes: "من هو")')
    if isinstance(cleaned, Bool) and not cleaned.children and not cleaned.excluded:
        cleaned = None
    return ParsedQuery(cleaned, p.filters, ignored, list(dict.fromkeys(p.notes)))
