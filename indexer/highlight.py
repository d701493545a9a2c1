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
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, islice, pairwise
from operator import sub

from analyzers.normalize import normalize
from analyzers.roots import lexicon_root
from analyzers.stem import light_stem
from analyzers.tokenize import _AR, _MARKS, TOKEN_RE, Token, tokenize
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
    # The candidate finder of the fast path (see finder()); False: this query cannot use it.
    _finder: re.Pattern | bool | None = field(default=None, repr=False, compare=False)

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

    def finder(self) -> re.Pattern | None:
        """A regex over raw text that finds every token that may match (and some that do
        not), or ``None`` when this query's matches cannot be found that way (root level, a
        stem of two letters, a word with letters that are not Arabic). See :func:`_marks`.

        >>> bool(terms_of(parse("قوات"), broad=False).finder().search("وقالت القُوّات"))
        True
        >>> terms_of(parse("انسحاب")).finder() is None  # root level: any word may match
        True
        """
        if self._finder is None:
            self._finder = _finder_of(self) or False
        return self._finder or None


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
    text: str,
    terms: Terms,
    spans: list[tuple[int, int]] = (),
    size: int = SNIPPET_TOKENS,
    *,
    plain: bool = False,
) -> tuple[str, set[str]]:
    """``(fragment, levels)``: ``size`` tokens around the densest run of matches, escaped,
    matches in ``<mark>``; ``levels`` are the levels matched in the window read (all of a
    text up to :data:`SNIPPET_WINDOW_CHARS`; see :func:`_scan` for longer ones). With
    ``plain``, the same window as plain text (no marks, not escaped: :func:`plain_text` of
    the fragment), which the fast path writes without escaping and marking it first (the
    exports' snippet column).

    >>> fragment, levels = snippet("قالت القوات إنها انسحبت من <الرقة>.", terms_of(parse("انسحاب الرقه")))
    >>> fragment
    'قالت القوات إنها <mark>انسحبت</mark> من &lt;<mark>الرقة</mark>&gt;.'
    >>> sorted(levels)
    ['exact', 'root']
    >>> snippet("قالت القوات إنها انسحبت من <الرقة>.", terms_of(parse("انسحاب")), plain=True)[0]
    'قالت القوات إنها انسحبت من <الرقة>.'
    """
    if len(text) <= SNIPPET_WINDOW_CHARS:
        fast = _fast_snippet(text, terms, spans, size, plain=plain)
        if fast is not None:
            return fast
        if not spans and not terms.phrases:
            found = _plain_snippet(text, terms, size)
            return (plain_text(found[0]), found[1]) if plain else found
    found = _general_snippet(text, terms, spans, size)
    return (plain_text(found[0]), found[1]) if plain else found


_TAG = re.compile(r"<[^>]+>")


def plain_text(fragment: str) -> str:
    """A snippet's text without its ``<mark>`` tags, unescaped.

    >>> plain_text("قوات <mark>انسحبت</mark> &amp; عادت")
    'قوات انسحبت & عادت'
    """
    return html.unescape(_TAG.sub("", fragment))


def _general_snippet(
    text: str, terms: Terms, spans: list[tuple[int, int]], size: int
) -> tuple[str, set[str]]:
    """:func:`snippet` by tokenizing the text (window by window, :func:`_scan`)."""
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


# ---------------------------------------------------------------- the fast path
#
# A snippet needs the levels of the few tokens that match, not of every token: one
# compiled regex finds, in the raw text, every token whose normalized form contains a
# searched exact form, a light stem's core (Terms._may_stem) or the first word of a
# phrase; only those tokens go through the analyser (Terms.level_of), and tokens are
# counted (TOKEN_RE.findall, in C) only between them. The fragment, its levels and the
# window are those of the general path (tests/test_exports.py compares them).
#
# Why the regex finds every such token: over the characters of SAFE_CHARS, normalizing
# a token is normalizing each character and joining (no composition, no character that
# becomes two); a character class per normalized letter (every raw character that
# normalizes to it, e.g. ا: اأإآٱ) with the marks normalize() removes allowed between
# letters therefore matches every raw spelling. A text with a token character outside
# SAFE_CHARS (presentation forms, U+0653-U+0655 that compose with the letter before
# them, ...) takes the general path.

_RANGES = ((0x00, 0xFF), (0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0x2000, 0x206F))
_COMPOSING = "\u0653\u0654\u0655"  # madda and hamza above/below: ا + ٔ is أ under NFKC
_MARK_SET = frozenset(
    chr(c) for a, b in re.findall(r"(.)(?:-(.))?", _MARKS) for c in range(ord(a), ord(b or a) + 1)
)
_AR_RE = re.compile(f"[{_AR}]")


def _token_char(c: str) -> bool:
    """Whether ``c`` may be part of a token (letters, digits, marks of any script)."""
    return (
        c in _MARK_SET
        or bool(re.match(r"\w", c))
        or unicodedata.category(c)[0] in "LMN"
        or bool(_AR_RE.match(c))
    )


@lru_cache(maxsize=1)
def _alphabet() -> tuple[dict[str, str], str, re.Pattern]:
    """``(classes, ignorable, unsafe)``: for each normalized Arabic letter the raw characters
    that normalize to it and the token marks that normalize to nothing (as regex character
    class bodies); a regex finding a token character for which normalizing a word is not
    normalizing each character (computed once, from normalize() itself)."""
    classes: dict[str, list[str]] = {}
    ignorable, safe = [], []
    for lo, hi in _RANGES:
        for code in range(lo, hi + 1):
            c = chr(code)
            if not _token_char(c):
                safe.append(c)
                continue
            n = normalize(c)
            if len(n) > 1 or c in _COMPOSING:
                continue
            safe.append(c)
            if not n and c in _MARK_SET:
                ignorable.append(c)
            elif n and _AR_RE.match(c) and _AR_RE.match(n):
                classes.setdefault(n, []).append(c)
    safe.append("\ufeff")
    # As character class bodies written in ranges: a query's finder compiles in about 1 ms.
    return (
        {k: _ranges(v) for k, v in classes.items()},
        _ranges(ignorable),
        re.compile(f"[^{_ranges(safe)}]"),
    )


def _ranges(chars: list[str]) -> str:
    """A regex character class body for ``chars``, as ranges of consecutive code points."""
    codes = sorted(set(map(ord, chars)))
    out, start = [], None
    for i, c in enumerate(codes):
        if start is None:
            start = c
        if i + 1 == len(codes) or codes[i + 1] != c + 1:
            out.append(re.escape(chr(start)) + ("-" + re.escape(chr(c)) if c != start else ""))
            start = None
    return "".join(out)


def _finder_of(terms: Terms) -> re.Pattern | None:
    if terms.root:
        return None
    targets = set(terms.exact)
    if terms.stem:
        terms._may_stem("")  # fills _cores: empty when a stem is too short to look for
        if not terms._cores:
            return None
        targets.update(terms._cores)
    for phrase in terms.phrases:
        first = phrase[0]
        # In every proclitic form (للنظام, والنظام): the word without the alef of its article.
        targets.add(first[1:] if first.startswith("ال") else first)
    classes, ignorable, _unsafe = _alphabet()
    between = f"[{ignorable}]*"
    # A token holding a target holds every target inside it: keep the shortest ones only
    # (the exact form الاسلحه goes, the stem's core اسلح stays), a smaller regex to compile.
    targets = {t for t in targets if not any(o != t and o in t for o in targets)}
    patterns = []
    for target in sorted(targets, key=len):
        if not target or any(ch not in classes for ch in target):
            return None
        patterns.append(
            between.join(classes[ch] if len(classes[ch]) == 1 else f"[{classes[ch]}]" for ch in target)
        )
    # No target (only entity mentions to mark): a pattern that never matches.
    return re.compile("|".join(patterns) if patterns else r"(?!x)x")


def _token_at(text: str, pos: int) -> re.Match:
    """The token of ``text`` that holds the character at ``pos`` (a letter of a word).
    Tokenizing from just after a space gives the text's own tokens: no token holds a space."""
    start = max(text.rfind(" ", 0, pos), text.rfind("\n", 0, pos)) + 1
    for m in TOKEN_RE.finditer(text, start):
        if m.end() > pos:
            return m
    raise AssertionError("a candidate lies in a token")  # the finder matches letters only


def _in_span(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """marked_tokens()'s rule: a span covers the token's start, or starts inside it and
    covers its end."""
    return any(a <= start < b or (start < a < end and b >= end) for a, b in spans)


def _marks(text: str, terms: Terms, spans: list[tuple[int, int]] = ()) -> dict[int, tuple[int, str]] | None:
    """``{start: (end, level)}`` of the tokens of ``text`` that match (levels as
    :func:`marked_tokens` gives them), found without tokenizing the rest; ``None`` when the
    fast path does not apply (then use :func:`marked_tokens`).

    >>> _marks("قالت القوات إنها انسحبت من الرقة", terms_of(parse("القوات الرقه"), broad=False))
    {5: (11, 'exact'), 27: (32, 'exact')}
    """
    finder = terms.finder()
    if finder is None or _alphabet()[2].search(text):
        return None
    memo = terms.memo()
    marks: dict[int, tuple[int, str]] = {}
    candidates: list[re.Match] = []
    seen: set[int] = set()
    for m in finder.finditer(text):
        tok = _token_at(text, m.start())
        if tok.start() in seen:
            continue
        seen.add(tok.start())
        candidates.append(tok)
        level = memo[tok.group()]
        if level:
            marks[tok.start()] = (tok.end(), level)
    for a, b in sorted(spans):
        # The tokens a span may mark: from the token holding its start (or the next one).
        start = max(text.rfind(" ", 0, a), text.rfind("\n", 0, a)) + 1
        for tok in TOKEN_RE.finditer(text, start):
            if tok.start() >= b:
                break
            if tok.start() not in marks and _in_span(tok.start(), tok.end(), spans):
                marks[tok.start()] = (tok.end(), "entity")
    for phrase in terms.phrases:
        n = len(phrase)
        firsts = set(proclitic_forms(phrase[0]))
        for tok in candidates:
            if normalize(tok.group()) not in firsts:
                continue
            rest = list(islice(TOKEN_RE.finditer(text, tok.end()), n - 1))
            if len(rest) == n - 1 and tuple(normalize(t.group()) for t in rest) == phrase[1:]:
                for t in (tok, *rest):
                    marks[t.start()] = (t.end(), "exact")
    return marks


def _fast_snippet(
    text: str, terms: Terms, spans: list[tuple[int, int]], size: int, *, plain: bool = False
) -> tuple[str, set[str]] | None:
    """:func:`snippet` of a text of one window by the fast path (``None``: take the general
    one). Same fragment: the window is :func:`_window`'s, counted over the matches only."""
    marks = _marks(text, terms, spans)
    if marks is None:
        return None
    starts = sorted(marks)
    before = 0  # tokens before the window's first token
    lo_start = 0
    if starts:
        # Relative token indices of the matches: tokens counted between consecutive ones,
        # up to ``size`` (matches further apart never share a window).
        idx = [0]
        for prev, cur in pairwise(starts):
            idx.append(idx[-1] + _count(text, prev, cur, size))
        # _window: the first match ending a run of ``size`` tokens with the most matches...
        best_k, best_count, j = 0, 0, 0
        for k, r in enumerate(idx):
            while idx[j] <= r - size:
                j += 1
            if k - j + 1 > best_count:
                best_k, best_count = k, k - j + 1
        # ... then from 3 tokens before the first match of that run.
        first = idx[best_k] - size + 1
        m = next(k for k, r in enumerate(idx) if r >= first)
        lo_start, before = _back(text, starts[m], 3)
    toks = list(islice(TOKEN_RE.finditer(text, lo_start), size + 1))
    levels = {lv for _end, lv in marks.values()}
    if not toks:
        whole = " ".join(text.split())
        return (whole if plain else html.escape(whole, quote=False)), levels
    more_after = len(toks) > size
    window = toks[:size]
    end = len(text) if not more_after else window[-1].end()  # then the closing punctuation too
    if plain:  # what plain_text() makes of the fragment below: escaping and marks undone
        frag = " ".join(text[window[0].start() : end].split())
        return ("… " if before else "") + frag + (" …" if more_after else ""), levels
    # Escaped as _render() does, in pieces cut only at the marked tokens.
    out, pos = [], window[0].start()
    for t in window:
        if t.start() in marks:
            out.append(html.escape(text[pos : t.start()], quote=False))
            out.append(f"<mark>{html.escape(t.group(), quote=False)}</mark>")
            pos = t.end()
    out.append(html.escape(text[pos:end], quote=False))
    frag = " ".join("".join(out).split())
    prefix = "… " if before else ""
    return prefix + frag + (" …" if more_after else ""), levels


def _count(text: str, start: int, end: int, cap: int) -> int:
    """Tokens of ``text[start:end]`` (both token starts), or ``cap`` when there are more.

    >>> _count("قالت القوات إنها انسحبت من الرقة", 0, 27, 30), _count("قصف " * 100, 0, 400, 30)
    (5, 30)
    """
    reach = 6 * cap
    while start + reach < end:
        # A prefix holds no more tokens than the whole (a token cut at its end counts once).
        if len(TOKEN_RE.findall(text, start, start + reach)) >= cap:
            return cap
        reach *= 2
    return len(TOKEN_RE.findall(text, start, end))


def _back(text: str, start: int, k: int) -> tuple[int, int]:
    """``(position, more)``: where the token ``k`` tokens before the token at ``start``
    begins (or the text's first token, when fewer precede it), and whether any token comes
    before that one (1) or not (0)."""
    reach = 48  # about 8 tokens: enough for k = 3 nearly always
    while True:
        cut = text.rfind(" ", 0, max(0, start - reach)) + 1 if start > reach else 0
        prior = [m.start() for m in TOKEN_RE.finditer(text, cut, start)]
        if len(prior) > k:
            return prior[-k], 1
        if cut == 0:
            return (prior[0], 0) if prior else (start, 0)
        reach *= 4


def matched_levels(text: str, terms: Terms, spans: list[tuple[int, int]] = ()) -> set[str]:
    """The levels at which words of ``text`` match (what :func:`marked_tokens` marks), by
    the fast path where it applies (an export reads every title).

    >>> sorted(matched_levels("انسحبت القوات من الرقة", terms_of(parse("قوات الرقه"), broad=False)))
    ['exact', 'stem']
    """
    marks = _marks(text, terms, spans)
    if marks is None:
        return set(marked_tokens(text, terms, spans)[1]) - {None}
    return {lv for _end, lv in marks.values()}


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
