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

from dataclasses import dataclass, field, replace
from datetime import datetime, time
from pathlib import Path

import numpy as np
from whoosh import query as Q
from whoosh.searching import Searcher

from analyzers import gazetteer
from analyzers.normalize import normalize, strip_marks
from analyzers.roots import root
from analyzers.stem import light_stem
from indexer.facets import facet_counts
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
from indexer.ranking import BM25, WordQuery, corpus, evaluate, top
from indexer.store import Snapshot, open_current

__all__ = ["QueryError", "Scoring", "SearchOptions", "batch", "compile_query", "search"]

FORMS = {"exact": normalize, "stem": light_stem, "root": root}
SORTS = ("relevance", "date")


@dataclass(frozen=True)
class Scoring:
    """How matches are weighted (the defaults were tuned on the dev collections; docs/search.md)."""

    exact: float = 0.5
    stem: float = 0.75
    root: float = 1.0
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


# --- compiling -----------------------------------------------------------------------


def word_query(word: Word, sc: Scoring = DEFAULT_SCORING) -> Q.Query | None:
    """One word at the levels it allows, in title and body.

    >>> print(word_query(Word("قوات", "exact")))
    (title_exact:قوات OR body_exact:قوات^0.5)
    """
    allowed = {"all": LEVELS, "exact": ("exact",), "root": ("root",)}[word.level]
    parts = []
    spec = []
    for fname, fweight in (("title", sc.title), ("body", sc.body)):
        for level in allowed:
            if level not in sc.levels:
                continue
            form = FORMS[level](word.text)
            if form:
                parts.append(Q.Term(f"{fname}_{level}", form, boost=fweight * sc.weight(level)))
                spec.append((f"{fname}_{level}", form, level, fweight, sc.weight(level)))
    if not parts:
        return None
    return WordQuery(parts, spec)


def phrase_query(words: list[str], weight: float, sc: Scoring = DEFAULT_SCORING) -> Q.Query | None:
    """Consecutive normalized words in title or body (the exact fields keep stopwords)."""
    norms = [normalize(w) for w in words]
    norms = [n for n in norms if n]
    if not norms:
        return None
    parts = []
    for fname, fweight in (("title", sc.title), ("body", sc.body)):
        f = f"{fname}_exact"
        b = fweight * weight
        parts.append(Q.Term(f, norms[0], boost=b) if len(norms) == 1 else Q.Phrase(f, norms, boost=b))
    return Q.Or(parts)


def name_alternatives(node: Name, sc: Scoring = DEFAULT_SCORING) -> list[Q.Query]:
    """The entity behind a name: its tag in the keyword field and its other names."""
    if not sc.entities:
        return []
    out: list[Q.Query] = [
        Q.ConstantScoreQuery(Q.Or([Q.Term(node.kind, i) for i in node.ids]), score=sc.entity)
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


def compile_query(node, op: str = "and", sc: Scoring = DEFAULT_SCORING) -> Q.Query | None:
    """The Whoosh query for a parsed tree (``None`` when nothing is searchable)."""
    if node is None:
        return None
    if isinstance(node, Word):
        return word_query(node, sc)
    if isinstance(node, Phrase):
        strict = phrase_query(list(node.words), sc.phrase, sc)
        if op != "or" or len(node.words) < 2 or strict is None:
            return strict
        # Ranked by any word: the phrase ranks first, its words still count.
        loose = [word_query(Word(w), sc) for w in node.words if not is_query_stop(w)]
        return Q.Or([strict, *(q for q in loose if q is not None)])
    if isinstance(node, Name):
        words = [q for q in (word_query(w, sc) for w in node.words) if q is not None]
        inner = words[0] if len(words) == 1 else (Q.And(words) if op == "and" else Q.Or(words))
        return Q.Or([inner, *name_alternatives(node, sc)]) if words else None
    kids = [q for q in (compile_query(c, op, sc) for c in node.children) if q is not None]
    # Exclusions stay strict whatever the op: -"a b" excludes the phrase, not its words.
    excl = [q for q in (compile_query(c, "and", sc) for c in node.excluded) if q is not None]
    if node.children and not kids:
        return None
    if not kids:
        pos: Q.Query = Q.Every()
    elif len(kids) == 1:
        pos = kids[0]
    else:
        pos = Q.And(kids) if node.op == "and" else Q.Or(kids)
    return Q.AndNot(pos, Q.Or(excl)) if excl else pos


def _day(value: str | None, end: bool) -> datetime | None:
    from indexer.query import parse_date

    if not value:
        return None
    d = parse_date(value, end=end)
    return datetime.combine(d, time.max if end else time.min)


def merge_filters(parsed: Filters, opts: SearchOptions) -> Filters:
    """The query's own filters plus the options' (places and groups by id or name)."""
    from indexer.query import add_entity_filter, parse_date

    f = replace(parsed, place=list(parsed.place), group=list(parsed.group), source=list(parsed.source))
    for value in opts.place:
        add_entity_filter(f, "place", value)
    for value in opts.group:
        add_entity_filter(f, "group", value)
    f.source.extend(s for s in opts.source if s not in f.source)
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
    if f.place:
        ids = dict.fromkeys(d for p in f.place for d in (p, *gazetteer.descendants(p)))
        parts.append(Q.Or([Q.Term("place", i) for i in ids]))
    if f.group:
        roots = list(f.group)
        if with_successors:
            roots += [s for g in f.group for s in gazetteer.successors(g)]
        if with_predecessors:
            roots += [s for g in f.group for s in gazetteer.predecessors(g)]
        ids = dict.fromkeys(d for g in roots for d in (g, *gazetteer.descendants(g)))
        parts.append(Q.Or([Q.Term("group", i) for i in ids]))
    if f.source:
        parts.append(Q.Or([Q.Term("source", s) for s in f.source]))
    if f.date_from or f.date_to:
        lo = datetime.combine(f.date_from, time.min) if f.date_from else None
        hi = datetime.combine(f.date_to, time.max) if f.date_to else None
        parts.append(Q.DateRange("date", lo, hi))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Q.And(parts)


# --- matched sets ----------------------------------------------------------------------


def doc_set(q: Q.Query, searcher: Searcher) -> set[int]:
    """Every document number a compiled query matches (the ranking engine's mask as a set;
    tests check it against Whoosh's own matching)."""
    mask, _ = evaluate(q, searcher, DEFAULT_SCORING.bm25())
    return {int(d) for d in mask.nonzero()[0]}


# --- explain -------------------------------------------------------------------------


def _word_forms(w: Word) -> dict:
    allowed = {"all": LEVELS, "exact": ("exact",), "root": ("root",)}[w.level]
    return {
        "word": w.text,
        "level": w.level,
        **{lv: (FORMS[lv](w.text) if lv in allowed else None) for lv in LEVELS},
    }


def read_as(node) -> str:
    """The query as Kashaf read it, in its own syntax (fully parenthesized).

    >>> read_as(parse("انسحاب الرقه -داعش", "or").node)
    '(انسحاب OR الرقه) NOT داعش'
    """
    if node is None:
        return ""
    if isinstance(node, Word):
        return {"all": "", "exact": "=", "root": "root:"}[node.level] + node.text
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"'
    if isinstance(node, Name):
        text = " ".join(w.text for w in node.words)
        return f'"{text}"' if len(node.words) > 1 else text
    kids = [read_as(c) for c in node.children]
    pos = kids[0] if len(kids) == 1 else "(" + f" {node.op.upper()} ".join(kids) + ")" if kids else ""
    neg = " ".join(f"NOT {read_as(c)}" for c in node.excluded)
    return " ".join(p for p in (pos, neg) if p)


def explain(parsed: ParsedQuery, op: str, filters: Filters, opts: SearchOptions) -> dict:
    """Each word with its forms (and entities), phrases, exclusions, filters and repairs."""
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
                }
            )
        elif isinstance(node, Name):
            ents = [
                {
                    "id": i,
                    "kind": node.kind,
                    "label": gazetteer.get(i).label,
                    "label_en": gazetteer.get(i).name_en,
                }
                for i in node.ids
            ]
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
    return {
        "op": op,
        "read_as": read_as(parsed.node),
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
        "notes": parsed.notes,
    }


# --- did you mean --------------------------------------------------------------------


def suggest(searcher: Searcher, parsed: ParsedQuery, query: str, db=None) -> str | None:
    """The query with each word the index does not hold replaced by its most frequent
    neighbour (edit distance 1, else 2) among the exact terms; ``None`` if nothing changes.

    With the document store ``db``, the neighbour is written as a document wrote it
    (``الطائرات``, not the index's folded ``الطاءرات``), without diacritics.
    """
    reader = searcher.reader()
    out = query
    changed = False
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
        if not norm or len(norm) < 3:
            continue
        if reader.doc_frequency("body_exact", norm) or reader.doc_frequency("title_exact", norm):
            continue
        best = None
        for dist in (1, 2):
            cands = set(reader.terms_within("body_exact", norm, dist, prefix=1))
            cands |= set(reader.terms_within("title_exact", norm, dist, prefix=1))
            cands.discard(norm)
            if cands:
                best = max(
                    sorted(cands),
                    key=lambda t: (
                        reader.doc_frequency("body_exact", t) + reader.doc_frequency("title_exact", t)
                    ),
                )
                break
        if best:
            out = out.replace(w.text, surface_form(searcher, best, db) if db is not None else best, 1)
            changed = True
    return out if changed else None


def surface_form(searcher: Searcher, term: str, db) -> str:
    """How a document spelled an exact-level term: the characters its posting points at,
    without diacritics or tatweel (the term itself when that cannot be read)."""
    reader = searcher.reader()
    for fieldname, column in (("body_exact", "body"), ("title_exact", "title")):
        if (fieldname, term) not in reader:
            continue
        m = reader.postings(fieldname, term)
        docnum, chars = m.id(), m.value_as("characters")
        row = db.execute(
            f"SELECT {column} FROM docs WHERE id = ?", (searcher.stored_fields(docnum)["id"],)
        ).fetchone()
        if row and row[0] and chars:
            _pos, start, end = chars[0]
            surface = strip_marks(row[0][start:end])
            if normalize(surface) == term:
                return surface
    return term


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


def plan(
    query: str, op: str = "and", opts: SearchOptions = SearchOptions(), sc: Scoring = DEFAULT_SCORING
) -> Plan:
    """Parse and compile; raises :class:`QueryError` for what cannot be read."""
    if opts.sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}, not {opts.sort!r}")
    parsed = parse(query, op)
    filters = merge_filters(parsed.filters, opts)
    compiled = compile_query(parsed.node, op, sc)
    ids: set[str] = set()

    def names(node) -> None:
        if isinstance(node, Name):
            for i in node.ids:
                ids.add(i)
                ids.update(gazetteer.descendants(i))
        elif isinstance(node, Bool):
            for c in node.children:
                names(c)

    names(parsed.node)
    if (
        compiled is None
        and parsed.node is None
        and (filters.place or filters.group or filters.source or filters.date_from or filters.date_to)
    ):
        compiled = Q.Every()  # filters alone: every document that passes them
    return Plan(
        parsed,
        compiled,
        filters,
        filter_query(filters, opts.with_successors, opts.with_predecessors),
        terms_of(parsed),
        frozenset(ids),
    )


def _tuple(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(v for v in value if v)


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
    snippets: bool = True,
    facets: bool = True,
    scoring_: Scoring = DEFAULT_SCORING,
) -> dict:
    """Search an index directory (or an open :class:`Snapshot`, to reuse its searcher).

    ``place`` / ``group`` take ids or names (several: any of them), ``date_from`` /
    ``date_to`` ``YYYY[-MM[-DD]]``, ``sort`` ``relevance`` or ``date`` (newest first).
    Returns ``{"query", "total", "hits": [{"id", "title", "date", "source", "url",
    "score", "snippet", "matched"}], "facets": {"place", "group", "date"}, "explain",
    "suggestion"}``. Raises :class:`QueryError` (a ``ValueError``) for what cannot be read.
    """
    opts = SearchOptions(
        place=_tuple(place),
        group=_tuple(group),
        source=_tuple(source),
        date_from=date_from or None,
        date_to=date_to or None,
        with_successors=with_successors,
        with_predecessors=with_predecessors,
        sort=sort or "relevance",
    )
    if isinstance(index, Snapshot):
        return _search(index, query, op, limit, offset, opts, snippets, facets, scoring_)
    with open_current(index) as snap:
        return _search(snap, query, op, limit, offset, opts, snippets, facets, scoring_)


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
) -> dict:
    p = plan(query, op, opts, sc)
    out: dict = {
        "query": query,
        "total": 0,
        "hits": [],
        "facets": {"place": [], "group": [], "organization": [], "date": []} if want_facets else {},
        "explain": explain(p.parsed, op, p.filters, opts),
        "suggestion": None,
    }
    searcher = snap.searcher()
    if p.query is None:
        return out
    mask, score = _matched(searcher, p, sc.bm25())
    out["total"] = int(np.count_nonzero(mask))
    if want_facets and out["total"]:
        out["facets"] = facet_counts(searcher, mask)
    if out["total"] == 0:
        out["suggestion"] = suggest(searcher, p.parsed, query, snap.db)
    if limit > 0:
        dates = corpus(searcher).dates() if opts.sort == "date" else None
        for docnum, s in top(mask, score, offset + limit, dates)[offset:]:
            out["hits"].append(_hit(snap, p, searcher.stored_fields(docnum)["id"], s, snippets))
    return out


def _matched(searcher: Searcher, p: Plan, bm: BM25) -> tuple[np.ndarray, np.ndarray]:
    """The plan's matched mask (its filters applied) and scores."""
    mask, score = evaluate(p.query, searcher, bm)
    if p.filter is not None:
        mask &= evaluate(p.filter, searcher, bm)[0]
    return mask, score


def _hit(snap: Snapshot, p: Plan, doc_id: str, score: float, snippets: bool) -> dict:
    row = snap.db.execute(
        "SELECT title, body, date, source, url FROM docs WHERE id = ?", (doc_id,)
    ).fetchone()
    title, body = (row["title"] or "", row["body"] or "") if row else ("", "")
    spans: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
    if p.entity_ids:
        for m in snap.db.execute(
            'SELECT entity_id, field, start, "end" FROM mentions WHERE doc_id = ?', (doc_id,)
        ):
            if m["entity_id"] in p.entity_ids and m["field"] in spans:
                spans[m["field"]].append((m["start"], m["end"]))
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
        "snippet": frag if snippets else "",
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
            p = plan(text, op, SearchOptions(), scoring_)
        except QueryError as exc:
            if errors is not None:
                errors[qid] = str(exc)
            continue
        if p.query is not None:
            mask, score = _matched(searcher, p, bm)
            out[qid] = [(searcher.stored_fields(d)["id"], s) for d, s in top(mask, score, limit)]
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
