"""The one search core: the CLI, the web pages and the JSON API all call :func:`search`.

Each query word matches at three levels — exact normalized form, light stem,
root — in title and body; the six terms are OR-ed with boosts exact > stem >
root and title > body, scored by Whoosh's BM25F. ``op="and"`` needs every word
(at some level), ``op="or"`` ranks by any. Stopwords in the query are ignored.
"""

from __future__ import annotations

import html
from pathlib import Path

from whoosh import query as Q

from analyzers.normalize import normalize
from analyzers.roots import root
from analyzers.stem import light_stem
from analyzers.stopwords import is_stopword
from analyzers.tokenize import tokenize
from indexer.store import Snapshot, open_current

LEVELS = (("exact", normalize, 3.0), ("stem", light_stem, 2.0), ("root", root, 1.0))
FIELD_BOOSTS = (("title", 2.0), ("body", 1.0))
SNIPPET_TOKENS = 30


def query_words(query: str) -> list[str]:
    """Content words of a query, in order, without stopwords or repeats.

    >>> query_words("انسحاب من الرقة الرقة")
    ['انسحاب', 'الرقة']
    """
    words: list[str] = []
    seen: set[str] = set()
    for t in tokenize(query):
        key = normalize(t.text)
        if key and not is_stopword(t.text) and key not in seen:
            seen.add(key)
            words.append(t.text)
    return words


def word_query(word: str) -> Q.Query:
    """The word at every level in title and body (a boosted OR of up to six terms)."""
    terms = []
    for fname, fboost in FIELD_BOOSTS:
        for level, fn, lboost in LEVELS:
            term = fn(word)
            if term:
                terms.append(Q.Term(f"{fname}_{level}", term, boost=fboost * lboost))
    return Q.Or(terms)


def build_query(words: list[str], op: str = "and") -> Q.Query:
    """All words (``and``) or any word (``or``)."""
    if op not in ("and", "or"):
        raise ValueError(f"op must be 'and' or 'or', not {op!r}")
    parts = [word_query(w) for w in words]
    return Q.And(parts) if op == "and" else Q.Or(parts)


def snippet(text: str, words: list[str], size: int = SNIPPET_TOKENS) -> str:
    """A fragment of ``text`` around the densest run of matches, HTML-escaped, matches in ``<mark>``.

    >>> snippet("قالت القوات إنها انسحبت من <الرقة>.", ["انسحاب", "الرقه"])
    'قالت القوات إنها <mark>انسحبت</mark> من &lt;<mark>الرقة</mark>&gt;.'
    """
    exact = {normalize(w) for w in words}
    stems = {light_stem(w) for w in words} - {""}
    roots = {root(w) for w in words} - {""}
    tokens = tokenize(text)
    hit = [normalize(t.text) in exact or light_stem(t.text) in stems or root(t.text) in roots for t in tokens]
    if not tokens:
        return ""
    # Densest window of ``size`` tokens, starting a few words before its first match.
    best, best_count, count = 0, -1, 0
    for i in range(len(tokens)):
        count += hit[i]
        if i >= size:
            count -= hit[i - size]
        if count > best_count:
            best, best_count = max(0, i - size + 1), count
    if best_count > 0:
        first = next(i for i in range(best, len(tokens)) if hit[i])
        best = max(0, first - 3)
    window = range(best, min(len(tokens), best + size))
    out, pos = [], tokens[window[0]].start
    for i in window:
        t = tokens[i]
        out.append(html.escape(text[pos : t.start], quote=False))
        tok = html.escape(t.text, quote=False)
        out.append(f"<mark>{tok}</mark>" if hit[i] else tok)
        pos = t.end
    if window[-1] == len(tokens) - 1:
        out.append(html.escape(text[pos:], quote=False))  # closing punctuation
    frag = " ".join("".join(out).split())
    prefix = "… " if window[0] > 0 else ""
    suffix = " …" if window[-1] < len(tokens) - 1 else ""
    return prefix + frag + suffix


def search(
    index: Path | str | Snapshot,
    query: str,
    op: str = "and",
    limit: int = 20,
    offset: int = 0,
    *,
    snippets: bool = True,
) -> dict:
    """Search an index directory (or an open :class:`Snapshot`, to reuse its searcher).

    Returns ``{"query", "total", "hits": [{"id", "title", "date", "source", "url",
    "score", "snippet"}], "facets": {}}``; unknown values are ``None``.
    """
    if isinstance(index, Snapshot):
        return _search(index, query, op=op, limit=limit, offset=offset, snippets=snippets)
    with open_current(index) as snap:
        return _search(snap, query, op=op, limit=limit, offset=offset, snippets=snippets)


def _search(snap: Snapshot, query: str, *, op: str, limit: int, offset: int, snippets: bool) -> dict:
    words = query_words(query)
    out: dict = {"query": query, "total": 0, "hits": [], "facets": {}}
    if not words or limit <= 0:
        return out
    searcher = snap.searcher()
    results = searcher.search(build_query(words, op), limit=offset + limit)
    out["total"] = len(results)
    for hit in results[offset : offset + limit]:
        doc_id = hit["id"]
        row = snap.db.execute(
            "SELECT title, body, date, source, url FROM docs WHERE id = ?", (doc_id,)
        ).fetchone()
        out["hits"].append(
            {
                "id": doc_id,
                "title": row["title"] if row else "",
                "date": row["date"] if row else None,
                "source": row["source"] if row else None,
                "url": row["url"] if row else None,
                "score": round(hit.score, 4),
                "snippet": snippet(row["body"] or row["title"], words) if row and snippets else "",
            }
        )
    return out
