"""Highlighting: which words of a text matched a query, marked in escaped HTML.

A token is marked when it matches a searched word at a level that word allows
(exact normalized form, light stem or root), when it is a word of a searched
phrase, or when it lies in an entity mention span the caller passes (from the
``mentions`` table). Offsets come from the tokenizer over the original text, so
diacritics, tatweel and clitics stay inside the marked surface form. Everything
else is HTML-escaped: documents are untrusted.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import lru_cache

from analyzers.normalize import normalize
from analyzers.roots import lexicon_root
from analyzers.stem import light_stem
from analyzers.tokenize import Token, tokenize
from analyzers.variants import proclitic_forms, stem_variants
from indexer.query import MAX_QUERY_CHARS, Bool, Filters, Name, ParsedQuery, Phrase, QueryError, Word, parse

LEVELS = ("exact", "stem", "root")
SNIPPET_TOKENS = 30
# A snippet looks for matches window by window and stops at the first window that has
# one, reading at most SNIPPET_SCAN_CHARS of a long text: the cost of a hit does not grow
# with its document (a 1,000,000-character report costs what a short one does).
SNIPPET_WINDOW_CHARS = 20_000
SNIPPET_SCAN_CHARS = 200_000


@dataclass
class Terms:
    """The forms a query searches, per level (only the words it looks for, not the excluded)."""

    exact: set[str] = field(default_factory=set)
    stem: set[str] = field(default_factory=set)
    root: set[str] = field(default_factory=set)
    phrases: set[tuple[str, ...]] = field(default_factory=set)  # normalized, marked where they occur

    def level_of(self, surface: str) -> str | None:
        """The best level at which ``surface`` matches, or ``None``.

        >>> terms_of(parse("انسحاب")).level_of("وانسحبت")
        'root'
        """
        norm = normalize(surface)
        if norm in self.exact:
            return "exact"
        if not (self.stem or self.root):
            return None
        stem, rt = _forms(surface)
        if stem in self.stem:
            return "stem"
        if rt in self.root:
            return "root"
        return None


@lru_cache(maxsize=200_000)
def _forms(surface: str) -> tuple[str, str]:
    """Stem and root of a token, memoized: snippets look at every token of every hit."""
    return light_stem(surface), lexicon_root(surface)


def stem_and_root(surface: str) -> tuple[str, str]:
    """Light stem and root of a token, from the same memo the snippets use.

    >>> stem_and_root("وانسحبت")[1]
    'سحب'
    """
    return _forms(surface)


def terms_of(parsed: ParsedQuery, broad: bool = True) -> Terms:
    """Collect the positive forms of a parsed query: the forms that match (with ``broad``,
    the query's ``level=root``, a plain word's root too; ``root:`` words always).
    A multi-word name is marked as a phrase (and where the entity is mentioned)."""
    out = Terms()

    def add_word(w: Word) -> None:
        norm = normalize(w.text)
        if w.level in ("all", "exact") and norm:
            out.exact.add(norm)
        if w.level == "all":
            if s := light_stem(w.text):
                out.stem.add(s)
                out.stem.update(stem_variants(w.text))
        if w.level == "root" or (w.level == "all" and broad):
            if r := lexicon_root(w.text):
                out.root.add(r)

    def walk(node) -> None:
        if isinstance(node, Word):
            add_word(node)
        elif isinstance(node, Phrase):
            norms = tuple(n for n in (normalize(w) for w in node.words) if n)
            if norms:
                out.phrases.add(norms)
        elif isinstance(node, Name) and len(node.words) > 1:
            walk(Phrase(tuple(w.text for w in node.words)))
        elif isinstance(node, Name):
            add_word(node.words[0])
        elif isinstance(node, Bool):
            for c in node.children:
                walk(c)

    walk(parsed.node)
    out.exact.discard("")
    return out


def marked_tokens(
    text: str, terms: Terms, spans: list[tuple[int, int]] = ()
) -> tuple[list[Token], list[str | None]]:
    """Tokens of ``text`` and, for each, the level it matched at (``"entity"`` inside a span)."""
    tokens = tokenize(text)
    levels: list[str | None] = []
    # One pass over tokens and start-sorted spans (linear, not tokens × spans): a token is
    # in a mention when a span covers its start, or starts inside it and covers its end.
    ordered = sorted(spans)
    j, reach = 0, -1  # spans[:j] start at or before the token; reach: the furthest end among them
    for t in tokens:
        level = terms.level_of(t.text)
        while j < len(ordered) and ordered[j][0] <= t.start:
            reach = max(reach, ordered[j][1])
            j += 1
        if level is None:
            inside = reach > t.start
            k = j
            while not inside and k < len(ordered) and ordered[k][0] < t.end:
                inside = ordered[k][1] >= t.end
                k += 1
            if inside:
                level = "entity"
        levels.append(level)
    if terms.phrases:
        norms = [normalize(t.text) for t in tokens]
        for phrase in terms.phrases:
            n = len(phrase)
            firsts = set(proclitic_forms(phrase[0]))  # لقوات النظام is "قوات النظام"
            for i in range(len(tokens) - n + 1):
                if norms[i] in firsts and tuple(norms[i + 1 : i + n]) == phrase[1:]:
                    levels[i : i + n] = ["exact"] * n
    return tokens, levels


def _render(text: str, tokens: list[Token], levels: list[str | None], lo: int, hi: int) -> str:
    """Escaped ``text[tokens[lo].start : tokens[hi-1].end]`` with marked tokens wrapped."""
    out = []
    pos = tokens[lo].start
    for i in range(lo, hi):
        t = tokens[i]
        out.append(html.escape(text[pos : t.start], quote=False))
        surface = html.escape(t.text, quote=False)
        out.append(f"<mark>{surface}</mark>" if levels[i] else surface)
        pos = t.end
    return "".join(out)


def highlight_text(text: str, query: str | ParsedQuery, spans: list[tuple[int, int]] = ()) -> str:
    """The whole ``text`` HTML-escaped, every matching word in ``<mark>`` (for the document page).

    ``spans`` are ``(start, end)`` offsets of entity mentions to mark as well.

    >>> highlight_text("قالت <القوات> إنها انسحبت من الرقّة", "انسحاب الرقه")
    'قالت &lt;القوات&gt; إنها <mark>انسحبت</mark> من <mark>الرقّة</mark>'
    """
    parsed = query if isinstance(query, ParsedQuery) else _lenient(query)
    tokens, levels = marked_tokens(text, terms_of(parsed), spans)
    if not tokens:
        return html.escape(text, quote=False)
    return (
        html.escape(text[: tokens[0].start], quote=False)
        + _render(text, tokens, levels, 0, len(tokens))
        + html.escape(text[tokens[-1].end :], quote=False)
    )


def snippet(
    text: str, terms: Terms, spans: list[tuple[int, int]] = (), size: int = SNIPPET_TOKENS
) -> tuple[str, set[str]]:
    """``(fragment, levels)``: ``size`` tokens around the densest run of matches, escaped,
    matches in ``<mark>``; ``levels`` are the levels matched in the window read (all of a
    text up to :data:`SNIPPET_WINDOW_CHARS`; see :func:`_scan` for longer ones).

    >>> fragment, levels = snippet("قالت القوات إنها انسحبت من <الرقة>.", terms_of(parse("انسحاب الرقه")))
    >>> fragment
    'قالت القوات إنها <mark>انسحبت</mark> من &lt;<mark>الرقة</mark>&gt;.'
    >>> sorted(levels)
    ['exact', 'root']
    """
    full_length = len(text)
    offset, text, tokens, levels = _scan(text, terms, spans)
    if not tokens:
        return html.escape(" ".join(text.split()), quote=False), set()
    more_before = offset > 0
    hit = [lv is not None for lv in levels]
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
    lo, hi = best, min(len(tokens), best + size)
    frag = _render(text, tokens, levels, lo, hi)
    more_after = len(text) < full_length - offset
    if hi == len(tokens) and not more_after:
        frag += html.escape(text[tokens[-1].end :], quote=False)  # closing punctuation
    frag = " ".join(frag.split())
    prefix = "… " if lo > 0 or more_before else ""
    suffix = " …" if hi < len(tokens) or more_after else ""
    return prefix + frag + suffix, {lv for lv in levels if lv}


def _scan(
    text: str, terms: Terms, spans: list[tuple[int, int]] = ()
) -> tuple[int, str, list[Token], list[str | None]]:
    """``(offset, window, tokens, levels)`` of the first window of ``text`` with a match
    (the first window when none has one within :data:`SNIPPET_SCAN_CHARS`).

    Windows end at a space so no word is cut; ``spans`` are shifted into the window.

    >>> offset, window, _tokens, levels = _scan("قصف " * 10_000 + "الرقة", terms_of(parse("الرقة")))
    >>> offset > 0, window.split()[-1], levels[-1]
    (True, 'الرقة', 'exact')
    """
    if len(text) <= SNIPPET_WINDOW_CHARS:
        return (0, text, *marked_tokens(text, terms, spans))
    first = None
    start = 0
    while start < min(len(text), SNIPPET_SCAN_CHARS):
        end = start + SNIPPET_WINDOW_CHARS
        if end < len(text):
            cut = text.rfind(" ", start + SNIPPET_WINDOW_CHARS // 2, end)
            end = cut if cut > start else end
        window = text[start:end]
        shifted = [(a - start, b - start) for a, b in spans if b > start and a < end]
        tokens, levels = marked_tokens(window, terms, shifted)
        if first is None:
            first = (start, window, tokens, levels)
        if any(levels):
            return start, window, tokens, levels
        start = end
    return first


def _lenient(query: str) -> ParsedQuery:
    """Parse for highlighting only: a query that cannot be read highlights its plain words."""
    try:
        return parse(query, "or")
    except QueryError:
        words = tuple(Word(t.text) for t in tokenize(query[:MAX_QUERY_CHARS]))
        return ParsedQuery(Bool("or", words) if words else None, Filters())
