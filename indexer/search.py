"""The one search core: the CLI, the web pages and the JSON API all call :func:`search`.

A query (see ``indexer.query`` and docs/search.md) is parsed into a tree, then
compiled to Whoosh: each word matches at three levels — exact normalized form,
light stem, root — in title and body, and the (up to six) BM25F term scores are
summed with weights per level and field. An exact occurrence also carries its
stem and root, so it collects all three weights: exact > stem-only > root-only.
(Whoosh 2.7's DisjunctionMax matcher can take the max of two *different*
documents' scores, so it is not used.)
Words naming a known place or group also match the entity (the ``place`` /
``group`` keyword fields the tagger fills, and the entity's other names as
phrases). ``op="and"`` needs every word (at some level), ``op="or"`` ranks by any.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from itertools import islice
from pathlib import Path

import numpy as np
from whoosh import query as Q
from whoosh.searching import Searcher

from analyzers import gazetteer
from analyzers.normalize import normalize, strip_marks
from analyzers.roots import lexicon_root
from analyzers.stem import light_stem
from analyzers.tagger import is_name_word
from analyzers.tokenize import TOKEN_RE
from analyzers.variants import proclitic_forms, stem_variants
from indexer import dedupe
from indexer.engines import Engine
from indexer.facets import facet_counts, source_terms
from indexer.highlight import LEVELS, Terms, marked_tokens, snippet, terms_of
from indexer.query import (
    Bool,
    Filters,
    Name,
    ParsedQuery,
    Phrase,
    QueryError,
    Word,
    is_query_stop,
    parse,
    suggest_name,
)
from indexer.ranking import (
    BM25,
    CliticPhrase,
    WordQuery,
    corpus,
    doc_frequency,
    evaluate,
    evaluate_levels,
    top,
    top_scored,
)
from indexer.store import Snapshot, open_current

__all__ = ["QueryError", "Scoring", "SearchOptions", "batch", "compile_query", "search"]

FORMS = {"exact": normalize, "stem": light_stem, "root": lexicon_root}
# "date" is the first name of "newest"; undated documents come last either way.
SORTS = ("relevance", "newest", "oldest", "date")
# Levels a word of each kind searches (a prefix's expansions are exact forms).
ALLOWED = {"all": LEVELS, "exact": ("exact",), "root": ("root",), "prefix": ("exact",)}
FIELDS = {"any": ("title", "body"), "title": ("title",)}
# A prefix (انسحب*) expands to at most MAX_PREFIX_TERMS exact forms, the most frequent of the
# first MAX_PREFIX_SCAN the vocabulary holds: a bounded cost whatever the prefix.
MAX_PREFIX_TERMS = 50
MAX_PREFIX_SCAN = 2000
SIMILAR_CHARS = 20_000  # "similar reports" use the key terms of this much of a report


@dataclass(frozen=True)
class Scoring:
    """How matches are weighted (the defaults were tuned on the dev collections; docs/search.md)."""

    exact: float = 0.5
    stem: float = 0.75
    root: float = 1.0
    variant: float = 0.0  # a broken plural / singular or nisba spelling (analyzers.variants)
    title: float = 2.0  # a title occurrence counts as two body occurrences (BM25F)
    body: float = 1.0
    B: float = 0.7
    K1: float = 0.7
    title_B: float = 0.0  # titles are short: their length says little
    alias: float = 0.0  # weight of an entity's other names as phrases (0: rely on the tags)
    entity: float = 0.5  # constant score of a document tagged with a named entity
    levels: tuple[str, ...] = LEVELS  # the levels searched (benchmarks switch some off)
    entities: bool = True
    phrase: float = 0.5  # weight of a quoted phrase's exact match
    idf: str = "lucene"  # "lucene": log(1 + (N - df + .5) / (df + .5)); "whoosh": log(N / (df + 1)) + 1
    fusion: str = "fields"  # BM25F over title + body per level; "sum": Whoosh's fields apart

    def bm25(self) -> BM25:
        titles = tuple((f"title_{lv}", self.title_B) for lv in LEVELS)
        return BM25(
            K1=self.K1,
            B=self.B,
            field_B=titles,
            idf=self.idf,
            fusion=self.fusion,
        )

    def weight(self, level: str) -> float:
        return getattr(self, level)


DEFAULT_SCORING = Scoring()


@dataclass(frozen=True)
class SearchOptions:
    """Filters and ordering given beside the query text (CLI flags, API parameters)."""

    place: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    with_successors: bool = False
    with_predecessors: bool = False
    sort: str = "relevance"
    level: str = "stem"  # "stem": exact and light-stem matches (the default); "root": broadened
    dedupe: bool = False  # one entry per story group; totals and facets count groups


# --- compiling -----------------------------------------------------------------------


# Levels that define what a word matches by default; the root only ranks (see ranking.py).
DEFAULT_LEVELS = frozenset({"exact", "stem", "variant"})
MATCH_LEVELS = ("stem", "root")  # the ``level`` parameter: the default, or broadened to the root
# Compound names whose parts are also written joined (عبد الرحمن / عبدالرحمن, أبو بكر /
# أبوبكر, نور الدين / نورالدين, حزب الله / حزبالله): a first part that heads such names, or a
# second part that ends them. A rule of Arabic naming, not a list of names.
_COMPOUND_HEADS = frozenset(normalize(w) for w in "عبد أبو أبي ابن بن".split())
_COMPOUND_TAILS = frozenset(normalize(w) for w in "الله الدين".split())


def word_query(word: Word, sc: Scoring = DEFAULT_SCORING, broad: bool = False, reader=None) -> Q.Query | None:
    """One word at the levels it allows, in title and body.

    A plain word matches at its exact form and its light stem (with its broken plural or
    singular and nisba spellings, ``analyzers.variants``; an ambiguous plural only when the
    index ``reader`` shows it is not used as a word of its own); its root only adds to the score,
    unless ``broad`` (the query's ``level=root``) or the word asks for it (``root:``).
    A joined compound name (``عبدالرحمن``) also matches written apart.

    >>> print(word_query(Word("قوات", "exact")))
    ((title_exact:قوات OR body_exact:قوات^0.5) ANDMAYBE <_NullQuery>)
    """
    allowed = ALLOWED[word.level]
    strict = {*allowed, "variant"} if broad or word.level != "all" else set(DEFAULT_LEVELS)
    terms = []
    spec = []
    for fname, fweight in (("title", sc.title), ("body", sc.body)):
        if fname not in FIELDS[word.scope]:
            continue
        for level in allowed:
            if level not in sc.levels:
                continue
            form = FORMS[level](word.text)
            if not form:
                continue
            terms.append(Q.Term(f"{fname}_{level}", form, boost=fweight * sc.weight(level)))
            spec.append((f"{fname}_{level}", form, level, fweight, sc.weight(level)))
            if level != "stem":
                continue
            # Variants match like the stem, and rank as a level of their own (weight ``variant``).
            for f in _variants(word.text, reader):
                terms.append(Q.Term(f"{fname}_stem", f, boost=fweight * sc.variant))
                spec.append((f"{fname}_stem", f, "variant", fweight, sc.variant))
    if not terms:
        return None
    present = {sp[2] for sp in spec}
    q: Q.Query = WordQuery(terms, spec, (strict & present) or present)
    split = compound_parts(word.text) if word.level != "root" else None
    if split:
        apart = phrase_query(list(split), sc.phrase, sc, word.scope)
        if apart is not None:
            q = Q.Or([q, apart])
    return q


def _variants(word: str, reader) -> tuple[str, ...]:
    if reader is None:
        return stem_variants(word)
    return stem_variants(word, lambda form: used_as_word(reader, form))


def used_as_word(reader, form: str) -> bool:
    """Whether the index uses a broken plural as a word of its own: its sound plural
    (مقاتلين, المقاتلون: "fighters") makes up 5 % or more of its stem's documents."""
    stem = light_stem(form)
    base = sum(doc_frequency(reader, f"{f}_stem", stem) for f in ("title", "body"))
    own = sum(
        doc_frequency(reader, f"{f}_exact", art + form + end)
        for f in ("title", "body")
        for art in ("", "ال")
        for end in ("ين", "ون")
    )
    return own * 20 >= base > 0


def compound_parts(word: str) -> tuple[str, str] | None:
    """A compound name written joined, split into its two parts (normalized), or ``None``.

    >>> compound_parts("عبدالرحمن"), compound_parts("حزبالله"), compound_parts("عبدان")
    (('عبد', 'الرحمن'), ('حزب', 'الله'), None)
    """
    n = normalize(word)
    for head in _COMPOUND_HEADS:
        rest = n[len(head) :]
        if n.startswith(head) and len(rest) >= 3 and (rest.startswith("ال") or head != "عبد"):
            if head in ("ابن", "بن", "ابي") and not rest.startswith("ال"):
                continue  # ابنه, بنت, ابيض are words, not ابن + a name
            return head, rest
    for tail in _COMPOUND_TAILS:
        if n.endswith(tail) and len(n) - len(tail) >= 3:
            return n[: -len(tail)], tail
    return None


def _is_compound(first: str, second: str) -> bool:
    return normalize(first) in _COMPOUND_HEADS or normalize(second) in _COMPOUND_TAILS


def phrase_query(
    words: list[str], weight: float, sc: Scoring = DEFAULT_SCORING, scope: str = "any"
) -> Q.Query | None:
    """Consecutive normalized words in title or body (the exact fields keep stopwords).

    The first word may carry a clitic (``"قوات النظام"`` finds ``لقوات النظام``), and the
    parts of a compound name may be written joined (``"عبد الرحمن"`` finds ``عبدالرحمن``).
    """
    norms = [normalize(w) for w in words]
    norms = [n for n in norms if n]
    if not norms:
        return None
    spellings = [norms]
    for i in range(len(norms) - 1):
        if _is_compound(norms[i], norms[i + 1]):
            spellings.append([*norms[:i], norms[i] + norms[i + 1], *norms[i + 2 :]])
    parts: list[Q.Query] = []
    for fname, fweight in (("title", sc.title), ("body", sc.body)):
        if fname not in FIELDS[scope]:
            continue
        f = f"{fname}_exact"
        b = fweight * weight
        if len(norms) == 1:
            parts.append(Q.Term(f, norms[0], boost=b))
            continue
        forms: list[Q.Query] = []
        for spelled in spellings:
            for first in proclitic_forms(spelled[0]):
                rest = [first, *spelled[1:]]
                forms.append(Q.Term(f, first, boost=b) if len(rest) == 1 else Q.Phrase(f, rest, boost=b))
        parts.append(CliticPhrase(forms))
    return Q.Or(parts)


def named_ids(node: Name) -> tuple[str, ...]:
    """The entities a name denotes, without the places or units under them that bear
    other names (``حلب``: the governorate and the city named حلب, not عفرين)."""
    text = " ".join(w.text for w in node.words)
    keys = {gazetteer.name_key(text)}
    if gazetteer.is_latin(text):
        # An English name stands for the entity's Arabic names: "Raqqa" (the governorate)
        # also names the city called الرقة, as the Arabic query الرقة does.
        keys |= {gazetteer.name_key(n) for i in node.ids for n in gazetteer.get(i).names_ar}
    out = list(node.ids)
    for i in node.ids:
        for d in gazetteer.descendants(i):
            e = gazetteer.get(d)
            if d not in out and keys & {gazetteer.name_key(n) for n in (*e.names_ar, *e.aliases_en)}:
                out.append(d)
    return tuple(out)


def name_alternatives(node: Name, sc: Scoring = DEFAULT_SCORING) -> list[Q.Query]:
    """The entity behind a name: documents naming it (by any of its names; the tagger's
    ``place_named`` / ``group_named`` field), and optionally its other names as phrases."""
    if not sc.entities:
        return []
    field = f"{node.kind}_named"
    out: list[Q.Query] = [
        Q.ConstantScoreQuery(Q.Or([Q.Term(field, i) for i in named_ids(node)]), score=sc.entity)
    ]
    if sc.alias <= 0:
        return out
    own = gazetteer.name_key(" ".join(w.text for w in node.words))
    seen = {own}
    for i in node.ids:
        for name in gazetteer.get(i).names_ar:
            key = gazetteer.name_key(name)
            if key and key not in seen:
                seen.add(key)
                q = phrase_query(list(key), sc.alias, sc)
                if q is not None:
                    out.append(q)
    return out


def compile_query(
    node, op: str = "and", sc: Scoring = DEFAULT_SCORING, broad: bool = False, reader=None
) -> Q.Query | None:
    """The Whoosh query for a parsed tree (``None`` when nothing is searchable).

    ``broad``: plain words also match at the root level (the query's ``level=root``);
    ``reader``: the index, to check ambiguous broken plurals (see ``word_query``).
    """
    if node is None:
        return None
    if isinstance(node, Word):
        return word_query(node, sc, broad, reader)
    if isinstance(node, Phrase):
        strict = phrase_query(list(node.words), sc.phrase, sc, node.scope)
        if op != "or" or len(node.words) < 2 or strict is None:
            return strict
        # Ranked by any word: the phrase ranks first, its words still count.
        loose = [
            word_query(Word(w, scope=node.scope), sc, broad, reader)
            for w in node.words
            if not is_query_stop(w)
        ]
        return Q.Or([strict, *(q for q in loose if q is not None)])
    if isinstance(node, Name):
        return name_query(node, op, sc, broad, reader)
    children = _compounds(node.children) if node.op == "and" else node.children
    kids = [q for q in (compile_query(c, op, sc, broad, reader) for c in children) if q is not None]
    # Exclusions stay strict whatever the op: -"a b" excludes the phrase, not its words.
    excl = [q for q in (compile_query(c, "and", sc, reader=reader) for c in node.excluded) if q is not None]
    if node.children and not kids:
        return None
    if not kids:
        pos: Q.Query = Q.Every()
    elif len(kids) == 1:
        pos = kids[0]
    else:
        pos = Q.And(kids) if node.op == "and" else Q.Or(kids)
    return Q.AndNot(pos, Q.Or(excl)) if excl else pos


def name_query(node: Name, op: str, sc: Scoring, broad: bool = False, reader=None) -> Q.Query | None:
    """A known name matches as itself: one word at its exact and stem levels, several as a
    phrase, or the entity (a document naming it, by any of its names). Its separate words
    only rank (``دير الزور`` does not match دير and الزور apart), except under ``op=or``
    (ranked by any word), where its words count and the entity adds to them."""
    if len(node.words) == 1:
        word = word_query(node.words[0], sc, broad, reader)
        alts = name_alternatives(node, sc)
        return Q.Or([word, *alts]) if word is not None else None
    core = phrase_query([w.text for w in node.words], sc.phrase, sc)
    if core is None:
        return None
    core = Q.Or([core, *name_alternatives(node, sc)])
    words = [q for q in (word_query(w, sc, reader=reader) for w in node.words) if q is not None]
    if not words:
        return core
    if op == "or":  # ranked by any word: the name's words count, and the entity
        return Q.Or([*words, *name_alternatives(node, sc)])
    return Q.AndMaybe(core, Q.Or(words))


def _compounds(children: tuple) -> list:
    """Two plain words that make a compound name (``عبد الرحمن``) become one phrase, so the
    joined spelling (``عبدالرحمن``) meets them."""
    out: list = []
    i = 0
    while i < len(children):
        a = children[i]
        b = children[i + 1] if i + 1 < len(children) else None
        if (
            isinstance(a, Word)
            and isinstance(b, Word)
            and a.level == b.level == "all"
            and _is_compound(a.text, b.text)
        ):
            out.append(Phrase((a.text, b.text)))
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def _day(value: str | None, end: bool) -> datetime | None:
    from indexer.query import parse_date

    if not value:
        return None
    d = parse_date(value, end=end)
    return datetime.combine(d, time.max if end else time.min)


def merge_filters(parsed: Filters, opts: SearchOptions) -> Filters:
    """The query's own filters and the options' (places and groups by id or name), both holding.

    Values of one option combine with OR (``place=A&place=B``: either); the options and
    the query's own filters combine with AND (``q=قصف place:sy`` with ``place=sy-aleppo``:
    Aleppo), like different facets.
    """
    from indexer.query import add_entity_filter, parse_date

    f = replace(
        parsed,
        place=list(parsed.place),
        group=list(parsed.group),
        source=list(parsed.source),
        required=list(parsed.required),
    )
    for kind in ("place", "group"):
        given = Filters()
        for value in getattr(opts, kind):
            add_entity_filter(given, kind, value)
        ids = getattr(given, kind)
        if ids and getattr(f, kind):
            f.required.append((kind, ids))
        elif ids:
            setattr(f, kind, ids)
    sources = list(dict.fromkeys(opts.source))
    if sources and f.source:
        f.required.append(("source", sources))
    elif sources:
        f.source = sources
    if opts.date_from:
        f.date_from = max(filter(None, (f.date_from, parse_date(opts.date_from))))
    if opts.date_to:
        f.date_to = min(filter(None, (f.date_to, parse_date(opts.date_to, end=True))))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise QueryError(f"empty date range: {f.date_from} is after {f.date_to}")
    return f


def filter_query(
    f: Filters, with_successors: bool = False, with_predecessors: bool = False
) -> Q.Query | None:
    """Places include their sub-places, groups their sub-units (and, on request, the groups
    they became and the groups they came from: ``hts`` with predecessors takes ``nusra``)."""
    parts: list[Q.Query] = []
    for kind, values in (("place", f.place), ("group", f.group), ("source", f.source), *f.required):
        if not values:
            continue
        if kind == "source":
            parts.append(Q.Or([Q.Term("source", s) for s in values]))
            continue
        roots = list(values)
        if kind == "group" and with_successors:
            roots += [s for g in values for s in gazetteer.successors(g)]
        if kind == "group" and with_predecessors:
            roots += [s for g in values for s in gazetteer.predecessors(g)]
        ids = dict.fromkeys(d for r in roots for d in (r, *gazetteer.descendants(r)))
        parts.append(Q.Or([Q.Term(kind, i) for i in ids]))
    if f.date_from or f.date_to:
        lo = datetime.combine(f.date_from, time.min) if f.date_from else None
        hi = datetime.combine(f.date_to, time.max) if f.date_to else None
        parts.append(Q.DateRange("date", lo, hi))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Q.And(parts)


# --- prefixes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expansion:
    """What a prefix word (``انسحب*``) stands for in one index: its most frequent exact forms."""

    prefix: str
    terms: tuple[str, ...]
    seen: int  # forms starting with the prefix that were looked at
    complete: bool  # False when the scan stopped at MAX_PREFIX_SCAN

    def as_dict(self) -> dict:
        return {
            "prefix": self.prefix,
            "terms": list(self.terms),
            "seen": self.seen,
            "complete": self.complete,
        }


def expand_prefix(searcher: Searcher | None, word: Word) -> Expansion:
    """The exact forms (in the word's fields) starting with ``word``'s normalized text, the
    ``MAX_PREFIX_TERMS`` most frequent of at most ``MAX_PREFIX_SCAN`` (ties by form).

    ``انسحب*`` → ``انسحبت``, ``انسحبوا``, ``انسحب``…; without an index, the prefix alone.
    """
    norm = normalize(word.text)
    if searcher is None:
        return Expansion(norm, (norm,), 1, True)
    reader = searcher.reader()
    df: dict[str, int] = {}
    complete = True
    for fname in FIELDS[word.scope]:
        fieldname = f"{fname}_exact"
        for raw in reader.expand_prefix(fieldname, norm):
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            if term not in df and len(df) >= MAX_PREFIX_SCAN:
                complete = False
                break
            df[term] = df.get(term, 0) + doc_frequency(reader, fieldname, term)
    best = sorted(df, key=lambda t: (-df[t], t))[:MAX_PREFIX_TERMS]
    return Expansion(norm, tuple(best), len(df), complete)


def expand(node, searcher: Searcher | None, out: dict[str, Expansion]):
    """The tree with each prefix word replaced by an OR of its expansions (filled into ``out``)."""
    if isinstance(node, Word) and node.level == "prefix":
        exp = out.get(node.text) or expand_prefix(searcher, node)
        out[node.text] = exp
        # No form at all: the prefix itself, as an exact word, matches nothing.
        words = [Word(t, "exact", node.scope) for t in exp.terms] or [Word(exp.prefix, "exact", node.scope)]
        return words[0] if len(words) == 1 else Bool("or", tuple(words))
    if isinstance(node, Bool):
        return Bool(
            node.op,
            tuple(expand(c, searcher, out) for c in node.children),
            tuple(expand(c, searcher, out) for c in node.excluded),
        )
    return node


def prefix_notes(expansions: dict[str, Expansion]) -> list[str]:
    """What explain says of each prefix whose forms were not all searched."""
    out = []
    for text, exp in expansions.items():
        if not exp.terms:
            out.append(f"{text}*: no word in the index starts with it")
        elif len(exp.terms) < exp.seen or not exp.complete:
            more = f"more than {exp.seen}" if not exp.complete else str(exp.seen)
            out.append(
                f"{text}*: {more} words start with it; the {len(exp.terms)} most frequent are searched"
            )
    return out


# --- matched sets ----------------------------------------------------------------------


def doc_set(q: Q.Query, searcher: Searcher) -> set[int]:
    """Every document number a compiled query matches (the ranking engine's mask as a set;
    tests check it against Whoosh's own matching)."""
    mask, _ = evaluate(q, searcher, DEFAULT_SCORING.bm25())
    return {int(d) for d in mask.nonzero()[0]}


# --- explain -------------------------------------------------------------------------


def _word_forms(w: Word) -> dict:
    allowed = ALLOWED[w.level]
    return {
        "word": w.text,
        "level": w.level,
        **({"scope": w.scope} if w.scope != "any" else {}),
        **{lv: (FORMS[lv](w.text) if lv in allowed and w.level != "prefix" else None) for lv in LEVELS},
    }


def read_as(node) -> str:
    """The query as Kashaf read it, in its own syntax (fully parenthesized).

    >>> read_as(parse("انسحاب الرقه -داعش", "or").node)
    '(انسحاب OR الرقه) NOT داعش'
    >>> read_as(parse("انسحب* title:قوات", "or").node)
    '(انسحب* OR title:قوات)'
    """
    if node is None:
        return ""
    if isinstance(node, Word):
        text = {"all": "", "exact": "=", "root": "root:", "prefix": ""}[node.level] + node.text
        text += "*" if node.level == "prefix" else ""
        return "title:" + text if node.scope == "title" else text
    if isinstance(node, Phrase):
        return ("title:" if node.scope == "title" else "") + '"' + " ".join(node.words) + '"'
    if isinstance(node, Name):
        text = " ".join(w.text for w in node.words)
        return f'"{text}"' if len(node.words) > 1 else text
    kids = [read_as(c) for c in node.children]
    pos = kids[0] if len(kids) == 1 else "(" + f" {node.op.upper()} ".join(kids) + ")" if kids else ""
    neg = " ".join(f"NOT {read_as(c)}" for c in node.excluded)
    return " ".join(p for p in (pos, neg) if p)


def filters_as_text(f: Filters) -> str:
    """A query's own filters in the query language (``place:sy place:sy-aleppo AND place:sy-idlib``).

    >>> filters_as_text(parse("قصف place:حلب AND place:ادلب date:2017").filters)
    'place:sy-aleppo AND place:sy-idlib date:2017-01-01..2017-12-31'
    """

    def values(kind: str, vals: list[str]) -> str:
        return " ".join(f"{kind}:{v}" if " " not in v else f'{kind}:"{v}"' for v in vals)

    parts = [values(kind, getattr(f, kind)) for kind in ("place", "group", "source") if getattr(f, kind)]
    for kind, ids in f.required:
        parts.append("AND " + values(kind, ids))
    if f.date_from or f.date_to:
        lo = f.date_from.isoformat() if f.date_from else ""
        hi = f.date_to.isoformat() if f.date_to else ""
        parts.append(f"date:{lo}..{hi}")
    return " ".join(parts)


def _entity(entity_id: str) -> dict:
    e = gazetteer.get(entity_id)
    return {"id": entity_id, "kind": e.kind, "label": e.label, "label_en": e.name_en}


def reading(node, expansions: dict[str, Expansion] | None = None) -> dict | None:
    """The tree as JSON, for a reader: what the page's "Searching for" line shows.

    Nodes are ``{"type": "word" | "prefix" | "phrase" | "name" | "and" | "or", ...}``; a
    boolean node has ``children`` and ``excluded`` (documents matching any are dropped).

    >>> reading(parse("قصف -تركيا").node)["excluded"][0]["type"]
    'name'
    """
    if node is None:
        return None
    if isinstance(node, Word):
        if node.level == "prefix":
            exp = (expansions or {}).get(node.text)
            return {
                "type": "prefix",
                "text": node.text,
                "scope": node.scope,
                **(exp.as_dict() if exp else {"terms": None}),
            }
        forms = {k: v for k, v in _word_forms(node).items() if k != "word"}
        return {"type": "word", "text": node.text, **forms, "scope": node.scope}
    if isinstance(node, Phrase):
        return {"type": "phrase", "words": list(node.words), "scope": node.scope}
    if isinstance(node, Name):
        return {
            "type": "name",
            "text": " ".join(w.text for w in node.words),
            "kind": node.kind,
            "entities": [_entity(i) for i in node.ids],
        }
    return {
        "type": node.op,
        "children": [reading(c, expansions) for c in node.children],
        "excluded": [reading(c, expansions) for c in node.excluded],
    }


def explain(
    parsed: ParsedQuery,
    op: str,
    filters: Filters,
    opts: SearchOptions,
    expansions: dict[str, Expansion] | None = None,
) -> dict:
    """Each word with its forms (and entities), phrases, exclusions, filters and repairs;
    ``reading``: the tree and the query's own filters as the page shows them."""
    words: list[dict] = []
    phrases: list[dict] = []
    excluded: list[str] = []

    def walk(node, negated: bool) -> None:
        if isinstance(node, Bool):
            for c in node.children:
                walk(c, negated)
            for c in node.excluded:
                excluded.append(read_as(c))
                walk(c, True)
        elif isinstance(node, Word):
            words.append({**_word_forms(node), "excluded": negated})
        elif isinstance(node, Phrase):
            phrases.append(
                {
                    "phrase": " ".join(node.words),
                    "normalized": [normalize(w) for w in node.words],
                    "excluded": negated,
                    **({"scope": node.scope} if node.scope != "any" else {}),
                }
            )
        elif isinstance(node, Name):
            ents = [_entity(i) for i in node.ids]
            for w in node.words:
                words.append(
                    {
                        **_word_forms(w),
                        "excluded": negated,
                        "name": " ".join(x.text for x in node.words),
                        "entities": ents,
                    }
                )

    walk(parsed.node, False)
    expansions = expansions or {}
    own = filters_as_text(parsed.filters)
    return {
        "op": op,
        "read_as": " ".join(x for x in (read_as(parsed.node), own) if x),
        "words": words,
        "phrases": phrases,
        "excluded": excluded,
        "ignored": parsed.ignored,
        "filters": {
            **filters.as_dict(),
            "with_successors": opts.with_successors,
            "with_predecessors": opts.with_predecessors,
        },
        "sort": opts.sort,
        "notes": [*parsed.notes, *prefix_notes(expansions)],
        "prefixes": [e.as_dict() for e in expansions.values()],
        "reading": {"node": reading(parsed.node, expansions), "filters": parsed.filters.as_dict()},
    }


# --- did you mean --------------------------------------------------------------------


def known(reader, w: Word) -> bool:
    """Whether a word is no typo: the index holds its exact form or its light stem, or it is
    (with its clitics) a known place or group name (``ودرعا`` is و + درعا, not a typo of ودعا)."""
    norm = normalize(w.text)
    for fieldname, form in (
        ("body_exact", norm),
        ("title_exact", norm),
        ("body_stem", light_stem(w.text)),
        ("title_stem", light_stem(w.text)),
    ):
        if form and doc_frequency(reader, fieldname, form):
            return True
    return is_name_word(norm)


# Did-you-mean is an extra, never a cost: each unknown word scans the vocabulary
# (tens of ms per edit-distance pass on 30,000 reports), so only a few words are
# looked at, and past the time budget the answer is "no suggestion".
SUGGEST_MAX_WORDS = 4  # unknown words looked up; a longer query of unknown words gets none
SURFACE_TOKENS = 20_000  # a suggestion's spelling is read from the first this many tokens of a text
SUGGEST_MAX_CHARS = 20  # longer "words" are no typo of anything in the index
SUGGEST_BUDGET_S = 0.25  # wall-clock budget of one suggestion


def suggest(  # noqa: PLR0917 - the budget knobs are for tests and benchmarks
    searcher: Searcher,
    parsed: ParsedQuery,
    query: str,
    db=None,
    max_dist: int = 2,
    budget: float = SUGGEST_BUDGET_S,
) -> str | None:
    """The query with each word that is no known form (:func:`known`) replaced by its most
    frequent neighbour (edit distance 1, else up to ``max_dist``) among the exact terms;
    ``None`` if nothing changes. Names of places and groups are never changed, nor ``root:``
    and prefix words. No suggestion either when the query has more than
    :data:`SUGGEST_MAX_WORDS` unknown words or the search for neighbours runs past
    ``budget`` seconds (no suggestion rather than a slow one).

    With the document store ``db``, the neighbour is written as a document wrote it
    (``الطائرات``, not the index's folded ``الطاءرات``), without diacritics.
    """
    reader = searcher.reader()
    deadline = _time.monotonic() + budget
    out = query
    changed = False
    names = {w for n in _names_in(parsed.node) for w in n.words}
    unknown = []
    for w in _plain_words(parsed.node):
        if gazetteer.is_latin(w.text):
            # Latin words: the known English names, not the index's stray Latin tokens (Syria → Syria,
            # not "Shri")
            name = suggest_name(w.text)
            if name:
                out = out.replace(w.text, name, 1)
                changed = True
            continue
        norm = normalize(w.text)
        if not norm or len(norm) < 3 or w.level in ("root", "prefix") or w in names:
            continue
        if known(reader, w):
            continue
        unknown.append((w, norm))
    if len(unknown) > SUGGEST_MAX_WORDS:
        return None
    for w, norm in unknown:
        if len(norm) > SUGGEST_MAX_CHARS:
            continue
        best = None
        for dist in range(1, max_dist + 1):
            if _time.monotonic() > deadline:
                return None
            cands = set(reader.terms_within("body_exact", norm, dist, prefix=1))
            cands |= set(reader.terms_within("title_exact", norm, dist, prefix=1))
            cands.discard(norm)
            if cands:
                best = max(
                    sorted(cands),
                    key=lambda t: (
                        doc_frequency(reader, "body_exact", t) + doc_frequency(reader, "title_exact", t)
                    ),
                )
                break
        if best:
            out = out.replace(w.text, surface_form(searcher, best, db) if db is not None else best, 1)
            changed = True
    return out if changed else None


def surface_form(searcher: Searcher, term: str, db) -> str:
    """How a document spelled an exact-level term: the word at its posting's first position
    in the stored text, without diacritics or tatweel (the term itself when that cannot be read)."""
    reader = searcher.reader()
    for fieldname, column in (("body_exact", "body"), ("title_exact", "title")):
        if not doc_frequency(reader, fieldname, term):
            continue
        m = reader.postings(fieldname, term)
        docnum, positions = m.id(), m.value_as("positions")
        row = db.execute(
            f"SELECT {column} FROM docs WHERE id = ?", (searcher.stored_fields(docnum)["id"],)
        ).fetchone()
        if row and row[0] and positions and positions[0] < SURFACE_TOKENS:
            # A position is a token's index: the tokenizer's tokens up to it, no further.
            word = next(islice(TOKEN_RE.finditer(row[0]), positions[0], None), None)
            surface = strip_marks(word.group()) if word else ""
            if normalize(surface) == term:
                return surface
    return term


def _names_in(node) -> list[Name]:
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Bool):
        return [n for c in node.children for n in _names_in(c)]
    return []


def _plain_words(node) -> list[Word]:
    if isinstance(node, Word):
        return [node]
    if isinstance(node, Name):
        return list(node.words)
    if isinstance(node, Bool):
        return [w for c in node.children for w in _plain_words(c)]
    return []


# --- search --------------------------------------------------------------------------


@dataclass
class Plan:
    """A parsed, compiled query ready to run."""

    parsed: ParsedQuery
    query: Q.Query | None
    filters: Filters
    filter: Q.Query | None
    terms: Terms
    entity_ids: frozenset[str] = field(default_factory=frozenset)
    broad: bool = False  # level=root
    expansions: dict[str, Expansion] = field(default_factory=dict)
    with_successors: bool = False
    with_predecessors: bool = False


def plan(
    query: str,
    op: str = "and",
    opts: SearchOptions = SearchOptions(),
    sc: Scoring = DEFAULT_SCORING,
    searcher: Searcher | None = None,
) -> Plan:
    """Parse and compile (prefix words expanded in ``searcher``'s index, ambiguous broken
    plurals checked against it, see ``word_query``); raises :class:`QueryError` for what
    cannot be read."""
    reader = searcher.reader() if searcher is not None else None
    if opts.sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {opts.sort!r}")
    if opts.level not in MATCH_LEVELS:
        raise QueryError(f"level must be one of {', '.join(MATCH_LEVELS)}, not {opts.level!r}")
    broad = opts.level == "root"
    parsed = parse(query, op)
    filters = merge_filters(parsed.filters, opts)
    expansions: dict[str, Expansion] = {}
    node = expand(parsed.node, searcher, expansions)
    compiled = compile_query(node, op, sc, broad, reader)
    ids: set[str] = set()

    def names(node) -> None:
        if isinstance(node, Name):
            ids.update(named_ids(node))
        elif isinstance(node, Bool):
            for c in node.children:
                names(c)

    names(parsed.node)
    if compiled is None and parsed.node is None and filters.any():
        compiled = Q.Every()  # filters alone: every document that passes them
    return Plan(
        parsed,
        compiled,
        filters,
        filter_query(filters, opts.with_successors, opts.with_predecessors),
        terms_of(replace(parsed, node=node), broad),
        frozenset(ids),
        broad,
        expansions,
        opts.with_successors,
        opts.with_predecessors,
    )


def _tuple(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(v for v in value if v)


def options(
    *,
    place=(),
    group=(),
    source=(),
    date_from: str | None = None,
    date_to: str | None = None,
    with_successors: bool = False,
    with_predecessors: bool = False,
    sort: str = "relevance",
    level: str = "stem",
    dedupe: bool = False,
) -> SearchOptions:
    """:class:`SearchOptions` from the keyword arguments of :func:`indexer.search.search`, read alike."""
    return SearchOptions(
        place=_tuple(place),
        group=_tuple(group),
        source=_tuple(source),
        date_from=date_from or None,
        date_to=date_to or None,
        with_successors=with_successors,
        with_predecessors=with_predecessors,
        sort=sort or "relevance",
        level=level or "stem",
        dedupe=dedupe,
    )


def search(
    index: Path | str | Snapshot,
    query: str,
    op: str = "and",
    limit: int = 20,
    offset: int = 0,
    *,
    place: str | list[str] | tuple[str, ...] = (),
    group: str | list[str] | tuple[str, ...] = (),
    source: str | list[str] | tuple[str, ...] = (),
    date_from: str | None = None,
    date_to: str | None = None,
    with_successors: bool = False,
    with_predecessors: bool = False,
    sort: str = "relevance",
    level: str = "stem",
    dedupe: bool = False,
    snippets: bool = True,
    facets: bool = True,
    scoring_: Scoring = DEFAULT_SCORING,
    engine: Engine | None = None,
) -> dict:
    """Search an index directory (or an open :class:`Snapshot`, to reuse its searcher).

    ``place`` / ``group`` take ids or names (several: any of them), ``date_from`` /
    ``date_to`` ``YYYY[-MM[-DD]]``, ``sort`` ``relevance``, ``newest`` (or ``date``) or
    ``oldest``; ``source`` matches case-insensitively;
    ``level`` ``stem`` (words match at their exact and light-stem forms, names as names)
    or ``root`` (words also match at their root). ``broaden`` says how many more
    documents the root level would add (``{"level": "root", "more": N}``, or ``None``).
    Returns ``{"query", "total", "hits": [{"id", "title", "date", "source", "url",
    "score", "snippet", "matched"}], "facets": {"place", "group", "source", "date",
    "timeline"}, "explain",
    "suggestion"}``. Raises :class:`QueryError` (a ``ValueError``) for what cannot be read.
    """
    opts = options(
        place=place,
        group=group,
        source=source,
        date_from=date_from,
        date_to=date_to,
        with_successors=with_successors,
        with_predecessors=with_predecessors,
        sort=sort,
        level=level,
        dedupe=dedupe,
    )
    if isinstance(index, Snapshot):
        return _search(index, query, op, limit, offset, opts, snippets, facets, scoring_, engine)
    with open_current(index) as snap:
        return _search(snap, query, op, limit, offset, opts, snippets, facets, scoring_, engine)


def _search(  # noqa: PLR0917 - private, called from search() only
    snap: Snapshot,
    query: str,
    op: str,
    limit: int,
    offset: int,
    opts: SearchOptions,
    snippets: bool,
    want_facets: bool,
    sc: Scoring,
    engine: Engine | None = None,
) -> dict:
    searcher = snap.searcher()
    p = plan(query, op, opts, sc, searcher)
    out: dict = {
        "query": query,
        "total": 0,
        "hits": [],
        "facets": {"place": [], "group": [], "organization": [], "source": [], "date": [], "timeline": None}
        if want_facets
        else {},
        "explain": explain(p.parsed, op, p.filters, opts, p.expansions),
        "suggestion": None,
        "level": opts.level,
        "broaden": None,
    }
    if p.query is None:
        return out
    if engine is not None:
        return _engine_search(engine, snap, p, out, opts, sc, limit, offset, snippets, want_facets)
    mask, score, more = _matched_levels(searcher, p, sc.bm25())
    # The date column is read only when the order needs it (relevance does not).
    dates = sort_key(corpus(searcher).dates(), opts.sort) if opts.sort != "relevance" else None
    # dedupe=1 (indexer/dedupe.py): one representative per story group; totals and facets count groups.
    groups = dedupe.groups(searcher, snap.db) if opts.dedupe else None
    shown = dedupe.representatives(groups, mask, score, dates) if groups else mask
    out["total"] = int(np.count_nonzero(shown))
    if more:
        out["broaden"] = {"level": "root", "more": more}
    if want_facets and out["total"]:
        lo, hi = p.filters.date_from, p.filters.date_to
        out["facets"] = (
            dedupe.facet_counts(searcher, groups, mask, shown, lo, hi)
            if groups
            else facet_counts(searcher, mask, lo, hi)
        )
    # Not only when nothing matched: a typo may still match other words of the query. Then
    # only one edit away: a farther neighbour of a word the index lacks is more often
    # another word than the one meant (بنغازي → بغاز).
    out["suggestion"] = suggest(searcher, p.parsed, query, snap.db, 2 if out["total"] == 0 else 1)
    if limit > 0:
        for docnum, s in top(shown, score, offset + limit, dates)[offset:]:
            out["hits"].append(_hit(snap, p, searcher.stored_fields(docnum)["id"], s, snippets))
    dedupe.annotate(snap, searcher, out["hits"], mask if groups else None)
    return out


def _engine_search(  # noqa: PLR0917 - private, called from _search() only
    engine: Engine,
    snap: Snapshot,
    p: Plan,
    out: dict,
    opts: SearchOptions,
    sc: Scoring,
    limit: int,
    offset: int,
    snippets: bool,
    want_facets: bool,
) -> dict:
    """The same plan answered by another engine (a cluster): total, facets and order from
    it, documents and snippets from this snapshot's store."""
    if opts.dedupe:
        raise QueryError("dedupe=1 is not available on a cluster yet (docs/cluster.md)")
    m = engine.run(snap, p, opts, sc, k=offset + limit if limit > 0 else 0, facets=want_facets)
    out["total"] = m.total
    if m.partial:  # some shard did not answer: the total and facets are lower bounds, and say so
        out["partial"] = True
        out["warnings"] = m.warnings
    if m.more:
        out["broaden"] = {"level": "root", "more": m.more}
    if want_facets and m.total and m.facets is not None:
        out["facets"] = m.facets
    out["suggestion"] = suggest(snap.searcher(), p.parsed, out["query"], snap.db, 2 if m.total == 0 else 1)
    out["hits"] = [_hit(snap, p, doc_id, s, snippets) for doc_id, s in m.hits[offset:]]
    return out


def sort_key(dates: np.ndarray, sort: str) -> np.ndarray | None:
    """What :func:`top` orders by, largest first: the dates for newest first, their
    negation for oldest first; an undated document (0) is last in both.

    >>> sort_key(np.array([5, 0, 9]), "oldest").tolist() == [-5, np.iinfo(np.int64).min, -9]
    True
    """
    if sort in ("newest", "date"):
        return dates
    if sort == "oldest":
        return np.where(dates > 0, -dates, np.iinfo(np.int64).min)
    return None


def _matched(searcher: Searcher, p: Plan, bm: BM25) -> tuple[np.ndarray, np.ndarray]:
    """The plan's matched mask (its filters applied) and scores."""
    mask, score, _ = _matched_levels(searcher, p, bm)
    return mask, score


def _matched_levels(searcher: Searcher, p: Plan, bm: BM25) -> tuple[np.ndarray, np.ndarray, int]:
    """The plan's matched mask (its filters applied), scores, and how many more documents
    the root level would match (0 when the plan is already broad): one evaluation."""
    default, broad, score = evaluate_levels(p.query, searcher, bm)
    mask = broad if p.broad else default
    flt = p.filter
    if p.filters.source or any(kind == "source" for kind, _ in p.filters.required):
        # Sources are compared case-insensitively: resolve to the index's own spellings.
        resolved = replace(
            p.filters,
            source=source_terms(searcher, p.filters.source) if p.filters.source else [],
            required=[
                (kind, source_terms(searcher, vals) if kind == "source" else vals)
                for kind, vals in p.filters.required
            ],
        )
        flt = filter_query(resolved, p.with_successors, p.with_predecessors)
    if flt is not None:
        keep = evaluate(flt, searcher, bm)[0]
        mask &= keep
        broad &= keep
    more = 0 if p.broad else int(np.count_nonzero(broad)) - int(np.count_nonzero(mask))
    return mask, score, more


def _hit(snap: Snapshot, p: Plan, doc_id: str, score: float, snippets: bool) -> dict:
    row = snap.db.execute(
        "SELECT title, body, date, source, url FROM docs WHERE id = ?", (doc_id,)
    ).fetchone()
    title, body = (row["title"] or "", row["body"] or "") if row else ("", "")
    spans: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
    if p.entity_ids and snippets:
        for m in snap.db.execute(
            'SELECT entity_id, field, start, "end" FROM mentions WHERE doc_id = ?', (doc_id,)
        ):
            if m["entity_id"] in p.entity_ids and m["field"] in spans:
                spans[m["field"]].append((m["start"], m["end"]))
    frag, found = "", set()
    if snippets:  # exports ask for none: no text is read beyond the stored fields
        _, title_levels = marked_tokens(title, p.terms, spans["title"])
        text = body or title
        frag, body_levels = snippet(text, p.terms, spans["body" if body else "title"])
        found = set(title_levels) | body_levels
    return {
        "id": doc_id,
        "title": title,
        "date": row["date"] if row else None,
        "source": row["source"] if row else None,
        "url": row["url"] if row else None,
        "score": round(score, 4),
        "snippet": frag,
        "matched": [lv for lv in (*LEVELS, "entity") if lv in found],
    }


def batch(
    snap: Snapshot,
    queries: list[tuple[str, str]],
    op: str = "or",
    limit: int = 100,
    *,
    scoring_: Scoring = DEFAULT_SCORING,
    errors: dict[str, str] | None = None,
    level: str = "stem",
) -> dict[str, list[tuple[str, float]]]:
    """``{qid: [(doc_id, score), ...]}`` in rank order for many queries with one searcher.

    No totals, facets or snippets: the fast path of ``kashaf batch`` and the benchmarks.
    A query that cannot be read gets no hits (and its message in ``errors``, if given).
    """
    searcher = snap.searcher()
    bm = scoring_.bm25()
    out: dict[str, list[tuple[str, float]]] = {}
    for qid, text in queries:
        out[qid] = []
        try:
            p = plan(text, op, SearchOptions(level=level), scoring_, searcher)
        except QueryError as exc:
            if errors is not None:
                errors[qid] = str(exc)
            continue
        if p.query is None:
            continue
        if p.filter is None and not p.filters.source and not p.filters.required:
            # Nothing but the query's words: its best ``limit`` without scoring every match.
            best = top_scored(p.query, searcher, bm, limit, p.broad)
        else:
            best = top(*_matched(searcher, p, bm), limit)
        out[qid] = [(searcher.stored_fields(d)["id"], s) for d, s in best]
    return out


def build_query(words: list[str], op: str = "and") -> Q.Query | None:
    """The Whoosh query for plain words joined by ``op`` (kept for callers of the first core)."""
    return compile_query(parse(" ".join(words), op).node, op)


def query_words(query: str) -> list[str]:
    """Content words of a query, in order (kept for callers of the first core).

    >>> query_words("انسحاب من الرقة الرقة")
    ['انسحاب', 'الرقة']
    """
    seen: dict[str, str] = {}
    for w in _plain_words(parse(query, "or").node):
        seen.setdefault(normalize(w.text), w.text)
    return list(seen.values())


def similar(snap: Snapshot, doc_id: str, top: int = 5) -> list[dict] | None:
    """Reports that share this one's key terms: Whoosh's more-like-this over the body's
    light stems (15 terms), best first; ``None`` when no document has this id.

    Each is ``{"id", "title", "date", "source", "url", "score"}``.
    """
    row = snap.db.execute("SELECT id, body FROM docs WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        return None
    searcher = snap.searcher()
    docnum = searcher.document_number(id=row["id"])
    if docnum is None:
        return []
    out = []
    # The key terms of the first SIMILAR_CHARS characters: a long report costs no more.
    body = (row["body"] or "")[:SIMILAR_CHARS]
    for hit in searcher.more_like(docnum, "body_stem", text=body, top=top, numterms=15):
        other = snap.db.execute(
            "SELECT id, title, date, source, url FROM docs WHERE id = ?", (hit["id"],)
        ).fetchone()
        if other is not None:
            out.append({**dict(other), "score": round(float(hit.score), 4)})
    return out
