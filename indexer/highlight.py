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
from itertools import accumulate, islice
from operator import sub

from analyzers.normalize import normalize
from analyzers.roots import lexicon_root
from analyzers.stem import light_stem
from analyzers.tokenize import TOKEN_RE, Token, tokenize
from analyzers.variants import proclitic_forms, stem_variants
from indexer.query import MAX_QUERY_CHARS, Bool, Filters, Name, ParsedQuery, Phrase, QueryError, Word, parse

LEVELS = ("exact", "stem", "root")
SNIPPET_TOKENS = 30
# A snippet looks for matches window by window and stops at the first window that has
# one, reading at most SNIPPET_SCAN_CHARS of a long text: the cost of a hit does not grow
# with its document (a 1,000,000-character report costs what a short one does).
SNIPPET_WINDOW_CHARS = 20_000
SNIPPET_SCAN_CHARS = 200_000
MEMO_WORDS = 100_000  # surface forms remembered per query (Terms.level_of)


@dataclass
class Terms:
    """The forms a query searches, per level (only the words it looks for, not the excluded)."""

    exact: set[str] = field(default_factory=set)
    stem: set[str] = field(default_factory=set)
    root: set[str] = field(default_factory=set)
    phrases: set[tuple[str, ...]] = field(default_factory=set)  # normalized, marked where they occur
    # What level_of answered per surface form (the sets are complete once it is first called):
    # a snippet or an export meets the same words again and again.
    _memo: _Levels | None = field(default=None, repr=False, compare=False)
    _cores: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    def level_of(self, surface: str) -> str | None:
        """The best level at which ``surface`` matches, or ``None``.

        >>> terms_of(parse("انسحاب")).level_of("وانسحبت")
        'root'
        >>> terms_of(parse("انسحاب"), broad=False).level_of("وانسحبت") is None
        True
        """
        return self.memo()[surface]

    def memo(self) -> _Levels:
        """``{surface: level}``, filled on first sight: ``map(terms.memo().__getitem__, words)``
        looks up a known word without a Python call."""
        if self._memo is None:
            self._memo = _Levels(self._level)
        return self._memo

    def _level(self, surface: str) -> str | None:
        norm = normalize(surface)
        if norm in self.exact:
            return "exact"
        if self.stem and self._may_stem(norm) and light_stem(surface) in self.stem:
            return "stem"
        if self.root and lexicon_root(surface) in self.root:
            return "root"
        return None

    def _may_stem(self, norm: str) -> bool:
        """Whether ``norm`` can have one of the stems: a light stem without its last letter is
        part of the normalized word (stemming only strips affixes and may rewrite the last
        letter: قوات → قوه), so a word containing none of those cores is no match, and most
        words of a text are never stemmed (an export stems each new word at about 0.2 ms)."""
        if self._cores is None:
            stems = [s for s in self.stem if s]
            self._cores = tuple(s[:-1] for s in stems) if all(len(s) > 2 for s in stems) else ()
        return not self._cores or any(core in norm for core in self._cores)


class _Levels(dict):
    """A dict that computes a missing surface's level (and remembers up to MEMO_WORDS)."""

    def __init__(self, level) -> None:
        super().__init__()
        self.level = level

    def __missing__(self, surface: str) -> str | None:
        found = self.level(surface)
        if len(self) < MEMO_WORDS:
            self[surface] = found
        return found


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
    if not spans and not terms.phrases and len(text) <= SNIPPET_WINDOW_CHARS:
        return _plain_snippet(text, terms, size)
    full_length = len(text)
    offset, text, tokens, levels = _scan(text, terms, spans)
    if not tokens:
        return html.escape(" ".join(text.split()), quote=False), set()
    more_before = offset > 0
    lo, hi = _window(levels, size)
    frag = _render(text, tokens, levels, lo, hi)
    more_after = len(text) < full_length - offset
    if hi == len(tokens) and not more_after:
        frag += html.escape(text[tokens[-1].end :], quote=False)  # closing punctuation
    frag = " ".join(frag.split())
    prefix = "… " if lo > 0 or more_before else ""
    suffix = " …" if hi < len(tokens) or more_after else ""
    return prefix + frag + suffix, {lv for lv in levels if lv}


def _window(levels: list[str | None], size: int) -> tuple[int, int]:
    """``(lo, hi)``: ``size`` tokens from just before the first match of the densest run (the
    first run of ``size`` tokens holding the most matches), counted with running sums.

    >>> _window([None, None, "exact", None, None, "stem", "stem", None], 3)
    (2, 5)
    """
    n = len(levels)
    hits = list(map(bool, levels))
    prefix = list(accumulate(hits, initial=0))
    # Matches among the (up to) size tokens ending at each token.
    counts = prefix[1 : min(size - 1, n) + 1] + list(map(sub, prefix[size:], prefix[: n + 1 - size]))
    best_count = max(counts, default=0)
    best = max(0, counts.index(best_count) - size + 1) if counts else 0
    if best_count > 0:
        best = max(0, hits.index(True, best) - 3)
    return best, min(n, best + size)


def _plain_snippet(text: str, terms: Terms, size: int) -> tuple[str, set[str]]:
    """:func:`snippet` of a text of one window with no mention spans and no phrases, the
    same fragment for less work: the words are found without their offsets (``findall``),
    and only the window's tokens are built (an export makes one snippet per row)."""
    words = TOKEN_RE.findall(text)
    if not words:
        return html.escape(" ".join(text.split()), quote=False), set()
    levels = list(map(terms.memo().__getitem__, words))
    lo, hi = _window(levels, size)
    tokens = [Token(m.group(), m.start(), m.end()) for m in islice(TOKEN_RE.finditer(text), lo, hi)]
    frag = _render(text, tokens, levels[lo:hi], 0, len(tokens))
    if hi == len(words):
        frag += html.escape(text[tokens[-1].end :], quote=False)  # closing punctuation
    frag = " ".join(frag.split())
    return ("… " if lo > 0 else "") + frag + (" …" if hi < len(words) else ""), set(levels) - {None}


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
