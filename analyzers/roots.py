"""Root extraction: affix stripping + morphological patterns checked against Arramooz.

For a raw token the extractor strips every plausible combination of clitics and
inflectional affixes (``analyzers/data/root_affixes.txt``), then reads each
remaining stem against morphological patterns (أوزان). The patterns are learned
once from the Arramooz lexicon itself (each dictionary word aligned with its
root: مستقيم read as قوم gives the key ``مست123``, i.e. مستفعل) and completed by
the hand-written ``analyzers/data/root_patterns.txt``. A pattern slot that holds
ا / و / ي / ى may stand for a weak radical (قال → قول, رمى → رمي), a missing
slot for a dropped weak radical (يعد → وعد) or a doubled one (ردّ → ردد).
Every candidate root must be in ``known_roots()``; a stem the lexicon knows as a
word gives its roots directly. Candidates are scored (see ``_score``) and the
best wins; exact ties break by the root string, so the result never depends on
hash order. The surface form decides hamza radicals: أ in ``أخذ`` is ء, a bare
ا is a long vowel or a weak radical. Method and measured figures: docs/roots.md.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from itertools import product
from typing import NamedTuple

from analyzers.lexicon import known_roots, word_roots
from analyzers.normalize import CONTROLS_RE, fold_letters, normalize, strip_marks
from analyzers.stem import is_arabic_word
from analyzers.stopwords import is_normalized_stopword

_HAMZAS = frozenset("أإآؤئءٱ")
_WEAK = "وي"
_SLOTS = "1234"
# Pattern letters: the augment letters سألتمونيها, plus ط د that replace the ت of
# افتعل after emphatics and ز ذ د (اضطرب, ازدحم). Any other letter is a radical.
_LITERALS = frozenset("ءاتسلمنهويطد")
# Suffixes a noun with the article can carry (ة is ه once normalized).
_ARTICLE_SUFFIXES = frozenset(["", "ات", "ون", "ين", "ان", "ه", "ي", "يه", "يات", "يون", "يين", "تان", "تين"])
_MIN_PATTERN_COUNT = 2  # patterns seen once in the lexicon are mostly noise

# Score weights (see _score and _stems): set by hand on the dev benchmark, then frozen.
PATTERN, DIRECT, PATTERN_IN_LEXICON, ROOT_FREQ = 0.6, 3.0, 3.0, 2.5
AFFIX_COST, WEAK_CHANGE, KEEP_CONJ = 1.2, 1.0, 1.5

_protected_bare: set[str] = set()
_protected_article: set[str] = set()


# --------------------------------------------------------------------------- data


def _data_lines(name: str) -> list[str]:
    text = resources.files("analyzers").joinpath(f"data/{name}").read_text("utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


@lru_cache(maxsize=1)
def _affixes() -> tuple[dict[str, int], dict[str, int]]:
    """Prefix and suffix strings → stripping cost, from root_affixes.txt."""
    prefixes: dict[str, int] = {"": 0}
    suffixes: dict[str, int] = {"": 0}
    for line in _data_lines("root_affixes.txt"):
        kind, affix, cost = line.split()
        table = prefixes if kind == "prefix" else suffixes
        affix = normalize(affix)
        table[affix] = min(int(cost), table.get(affix, 99))
    return prefixes, suffixes


def _align(word: str, root: str) -> str | None:
    """The pattern key of ``word`` read as ``root`` (slots as digits), or None.

    Cheapest alignment: exact letters first, a weak/hamza radical written as a
    long vowel next, a dropped weak or doubled radical last.
    """
    best: tuple[int, str] | None = None
    n, k = len(word), len(root)

    def walk(i: int, j: int, cost: int, key: list[str], missing: str) -> None:
        nonlocal best
        if best is not None and cost >= best[0]:
            return
        if j == k:
            best = (cost, "".join(key) + word[i:] + missing)
            return
        r = root[j]
        for p in range(i, n):
            c = word[p]
            if c == r:
                step = 0
            elif (r == "ء" and c in "اوي") or (r in _WEAK and c in "اويء"):
                step = 1
            else:
                continue
            walk(p + 1, j + 1, cost + step, [*key, word[i:p], _SLOTS[j]], missing)
        if not missing and k == 3:
            if r in _WEAK:
                walk(i, j + 1, cost + 2, key, f"|W{j + 1}")
            elif j > 0 and r == root[j - 1]:
                walk(i, j + 1, cost + 2, key, f"|D{j + 1}")

    walk(0, 0, 0, [], "")
    return None if best is None else best[1]


def _pattern_key(pattern: str) -> str:
    """Hand pattern in فعل notation (root_patterns.txt) → pattern key.

    >>> _pattern_key("استفعال"), _pattern_key("فل|W2")
    ('است12ا3', '13|W2')
    """
    body, _, missing = pattern.partition("|")
    slots = {"ف": "1", "ع": "2", "ل": "3"}
    out, seen = [], 0
    for c in normalize(body):
        if c in slots and slots[c] not in out and int(slots[c]) > seen:
            out.append(slots[c])
            seen = int(slots[c])
        else:
            out.append(c)
    return "".join(out) + (f"|{missing}" if missing else "")


@lru_cache(maxsize=1)
def _patterns() -> dict[int, dict[str, float]]:
    """Pattern key → log weight, grouped by the number of letters it spans.

    >>> _patterns()[7]["است12ا3"] > _patterns()[7].get("است1ا23", 0)
    True
    """
    counts: Counter[str] = Counter()
    for word, roots in word_roots().items():
        if not is_arabic_word(word):
            continue
        for r in roots:
            key = _align(word, r)
            if key is not None and set(key.split("|")[0]) <= _LITERALS | set(_SLOTS):
                counts[key] += 1
    for line in _data_lines("root_patterns.txt"):
        counts[_pattern_key(line)] += 50
    by_len: dict[int, dict[str, float]] = {}
    for key, count in counts.items():
        if count >= _MIN_PATTERN_COUNT:
            length = len(key.split("|", 1)[0])
            by_len.setdefault(length, {})[key] = math.log(count)
    return by_len


@lru_cache(maxsize=64)
def _literals_at(n: int) -> tuple[frozenset[str], ...]:
    """For stems of ``n`` letters: the pattern letters seen at each position.

    A stem letter that no pattern has at its place must be a radical, which
    prunes most slot choices before any pattern lookup.
    """
    seen: list[set[str]] = [set() for _ in range(n)]
    for key in _patterns().get(n, {}):
        for p, c in enumerate(key.split("|")[0]):
            if c not in _SLOTS:
                seen[p].add(c)
    return tuple(frozenset(s) for s in seen)


@lru_cache(maxsize=1)
def _root_weight() -> dict[str, float]:
    """Root → log of how many lexicon words it has: commoner roots win ties."""
    counts = Counter(r for roots in word_roots().values() for r in roots)
    return {r: math.log(1 + c) for r, c in counts.items()}


# --------------------------------------------------------------------------- names


def _strip_name_clitics(name: str) -> tuple[str, bool]:
    """(name without ال / لل, whether it carried the article)."""
    if name.startswith("ال") and len(name) > 3:
        return name[2:], True
    return name, False


def protect(words: Iterable[str]) -> None:
    """Register names (gazetteer places, armed groups) that ``root`` must not touch.

    A name registered with the article answers without it, with or without a
    glued conjunction or preposition: after ``protect(["الرقة"])`` both
    ``بالرقة`` and ``الرقة`` give ``رقه``.

    A name without the article is matched as written, so ``لبنان`` keeps its ل.

    >>> protect(["الرقّة", "لبنان"]); root("بالرقة"), root("الرقة"), root("ولبنان")
    ('رقه', 'رقه', 'لبنان')
    """
    for word in words:
        name, article = _strip_name_clitics(normalize(word))
        if name:
            (_protected_article if article else _protected_bare).add(name)
    root.cache_clear()
    lexicon_root.cache_clear()


def _clear_protected() -> None:
    """Forget every protected name (for tests)."""
    _protected_bare.clear()
    _protected_article.clear()
    root.cache_clear()
    lexicon_root.cache_clear()


def _protected_name(w: str) -> str | None:
    """The protected name ``w`` spells, after و ف ب ك ل ال لل, or None."""
    if not (_protected_bare or _protected_article):
        return None
    forms = [w]
    if w[:1] in "وف":
        forms.append(w[1:])
    for f in list(forms):
        if f[:1] in "بكل":
            forms.append(f[1:])
    for f in forms:
        if f in _protected_bare:
            return f
        if f.startswith(("ال", "لل")) and f[2:] in _protected_article:
            return f[2:]
    return None


# --------------------------------------------------------------------------- roots

# Letters that stay as they are in a surface form (U+0621-U+064A without tatweel).
_BARE_LETTERS = "".join(chr(c) for c in range(0x0621, 0x064B) if c != 0x0640)


def _surface(word: str) -> str:
    """The word as written, for reading hamza seats: controls and marks removed, NFKC.

    >>> _surface("سُئِلَ")
    'سئل'
    """
    return strip_marks(unicodedata.normalize("NFKC", CONTROLS_RE.sub("", word)))


@lru_cache(maxsize=1)
def _valid_roots() -> frozenset[str]:
    """known_roots() without the few dictionary roots spelt with ا ة ى (typos)."""
    return frozenset(r for r in known_roots() if not set(r) & set("اةى"))


def _slot_letters(surface: str, match: str, after_alef: bool) -> tuple[str, ...]:
    """Root letters a pattern slot may stand for, given the written letter.

    A hamza after ا may also write a hollow radical (طائفة from طوف).
    """
    if surface in _HAMZAS:
        return ("ء", "و", "ي") if after_alef else ("ء",)
    if match == "ا":  # the order is the preference: دعا → دعو, قال → قول
        return ("و", "ي", "ء")
    if surface == "ى":
        return ("ي", "و")
    if match in _WEAK:
        return (match, "ي" if match == "و" else "و")
    return (match,)


@lru_cache(maxsize=1)
def _longest_suffix() -> int:
    """Letters in the longest suffix of root_affixes.txt."""
    return max(map(len, _affixes()[1]))


def _stems(surface: str, match: str) -> tuple[tuple[str, str, float, int], ...]:
    """(surface stem, match stem, affix cost, start) for every plausible affix split.

    Keeping a leading و inside the stem costs too: read as a radical it is
    usually a glued conjunction (وعزني → عزز); a true first radical و mostly
    drops in inflection anyway (يقع → وقع). After the article only noun
    inflection may follow (البنوك is بنوك, never بنو + ك).

    >>> [m for _, m, _, _ in _stems("بالغارات", "بالغارات")][-3:]
    ['غارات', 'غار', 'غاره']
    """
    prefixes, suffixes = _affixes()
    longest = _longest_suffix()
    out = []
    n = len(match)
    # The suffix splits do not depend on the prefix: found once, longest stem first.
    ends = []
    for j in range(n, max(n - longest, 2) - 1, -1):
        scost = suffixes.get(match[j:])
        if scost is not None:
            ends.append((j, match[j:], scost))
    # An article (ال, لل after و/ف) is always a clitic: no stem starts inside it.
    # Read on the surface: أل in ألقى is a hamza, not the article.
    body = surface[1:] if surface[:1] in "وف" else surface
    first = n - len(body) + 2 if body.startswith(("ال", "لل")) and len(body) > 4 else 0
    for i in range(first, min(n - 1, 6)):
        pcost = prefixes.get(match[:i])
        if pcost is None:
            continue
        article = match[:i].endswith(("ال", "لل"))
        keep_conj = i == 0 and match[0] == "و"
        for j, suffix, scost in ends:
            if j < i + 2:
                break
            if article and suffix not in _ARTICLE_SUFFIXES:
                continue
            cost = pcost + scost
            if keep_conj:
                cost += KEEP_CONJ
            out.append((surface[i:j], match[i:j], cost, i))
            if suffix.startswith("ات"):  # غارات is the plural of غارة
                out.append((surface[i:j] + "ة", match[i:j] + "ه", cost, i))
    return tuple(out)


def _score(pattern: float, direct: int, root_freq: float, cost: float, changed: int) -> float:
    """How much to trust one reading of a stem.

    ``pattern``: log count of the pattern (0 when the stem is only a lexicon word);
    ``direct``: the stem is a lexicon word with this root; ``root_freq``: log count
    of lexicon words with the root; ``cost``: affix stripping cost; ``changed``:
    weak letters read as another weak radical (ي of مستقيم as و).
    """
    bonus = (PATTERN_IN_LEXICON if pattern else DIRECT) if direct else 0.0
    return PATTERN * pattern + bonus + ROOT_FREQ * root_freq - AFFIX_COST * cost - WEAK_CHANGE * changed


# Slot labels per reading: all three radicals written, or one of them missing
# (W: a weak radical the surface drops, D: the doubled 3rd radical).
_READINGS = frozenset([("123", ""), ("23", "|W1"), ("13", "|W2"), ("12", "|W3"), ("12", "|D3"), ("1234", "")])


class _PatternTable(NamedTuple):
    """The patterns of stems of one length, for matching them all at once.

    Pattern number ``i`` is bit ``i``: ``slot[p]`` has the bits of the patterns with a
    radical slot at position ``p``, ``allowed[p][c]`` those with a slot or the letter ``c``
    there. A stem matches the patterns whose bit survives the AND over its positions: one
    dictionary lookup per letter instead of one per choice of slot positions.

    Patterns with the same slots (positions, missing radical) give the same candidate
    roots, and a reading's score only grows with its pattern's weight: so the roots are
    made once per slot group, with the heaviest matching pattern of the group.
    """

    slot: tuple[int, ...]
    allowed: tuple[dict[str, int], ...]
    # per pattern: its slot group, its score term (PATTERN × log count)
    patterns: tuple[tuple[int, float], ...]
    # per slot group: slot positions, index of a missing radical (-1: none), its kind (W/D)
    groups: tuple[tuple[tuple[int, ...], int, str], ...]


@lru_cache(maxsize=64)
def _pattern_table(n: int) -> _PatternTable:
    """``_PatternTable`` of the patterns of ``n`` letters whose slots are one of ``_READINGS``.

    >>> len(_pattern_table(7).patterns) > 0, _pattern_table(1).patterns
    (True, ())
    """
    slot = [0] * n
    literal: list[dict[str, int]] = [{} for _ in range(n)]
    patterns = []
    groups: dict[tuple[tuple[int, ...], int, str], int] = {}
    for key, weight in _patterns().get(n, {}).items():
        body, bar, missing = key.partition("|")
        if ("".join(c for c in body if c in _SLOTS), bar + missing) not in _READINGS:
            continue
        # Every pattern was seen at least twice: its weight is > 0, so its lexicon bonus is
        # PATTERN_IN_LEXICON (see _score) and the score grows with the weight alone.
        assert weight > 0, key
        bit = 1 << len(patterns)
        for p, c in enumerate(body):
            if c in _SLOTS:
                slot[p] |= bit
            else:
                literal[p][c] = literal[p].get(c, 0) | bit
        pos = tuple(p for p, c in enumerate(body) if c in _SLOTS)
        group = groups.setdefault((pos, int(missing[-1]) - 1 if missing else -1, missing[:1]), len(groups))
        patterns.append((group, PATTERN * weight))
    allowed = tuple({c: bits | slot[p] for c, bits in literal[p].items()} for p in range(n))
    return _PatternTable(tuple(slot), allowed, tuple(patterns), tuple(groups))


_WEAK_OPTIONS = ("و", "ي")  # a dropped weak radical
_NO_ROOTS: frozenset[str] = frozenset()


@lru_cache(maxsize=100_000)
def _readings(s: str, m: str) -> tuple[tuple[str, float, float, float], ...]:
    """Readings of the stem ``m``: (root, score terms that do not depend on the affix split
    added up as ``_score`` adds them — with the lexicon bonus, without it (the stem is
    shadowed) — and the weak-change term).

    ``s`` is the same stem as written (hamza seats kept): a hamza after the
    first letter is always a radical. See ``_score`` for the terms.

    >>> sorted({r for r, *_ in _readings("انسحاب", "انسحاب")})
    ['سحب']
    """
    n = len(m)
    if n >= 4 and m.startswith("ال"):  # the article belongs to the clitics, not the stem
        return ()
    roots = _valid_roots()
    weight = _root_weight()
    lexicon_roots = word_roots().get(m) if n >= 3 else None
    direct = roots.intersection(lexicon_roots) if lexicon_roots else _NO_ROOTS
    out = []
    for r in direct:
        freq = ROOT_FREQ * weight.get(r, 0.0)
        out.append((r, 0.0 + DIRECT + freq, 0.0 + 0.0 + freq, 0.0))
    slot, allowed, patterns, groups = _pattern_table(n)
    if not patterns:
        return tuple(out)
    matches = -1
    # Folding keeps only ء of the hamza shapes: a stem spelt as folded has no other one.
    if s == m and "ء" not in s[1:]:
        for p, c in enumerate(m):
            matches &= allowed[p].get(c, slot[p])
            if not matches:
                return tuple(out)
    else:
        for p, c in enumerate(m):
            if p and s[p] in _HAMZAS and s[p - 1] != "ا":  # a written hamza is a radical
                matches &= slot[p]
            else:
                matches &= allowed[p].get(c, slot[p])
            if not matches:
                return tuple(out)
    heaviest: dict[int, float] = {}  # slot group → its heaviest matching pattern's term
    while matches:
        low = matches & -matches
        matches ^= low
        group, pattern = patterns[low.bit_length() - 1]
        if pattern > heaviest.get(group, -1.0):
            heaviest[group] = pattern
    options: dict[int, tuple[str, ...]] = {}
    for group, pattern in heaviest.items():
        pos, x, kind = groups[group]
        letters = []  # the root letters each slot may stand for, preferred first
        for p in pos:
            opts = options.get(p)
            if opts is None:
                opts = options[p] = _slot_letters(s[p], m[p], p > 0 and s[p - 1] == "ا")
            letters.append(opts)
        if x >= 0:  # W: a weak radical the surface drops; D: the doubled 3rd radical
            letters.insert(x, _WEAK_OPTIONS if kind == "W" else letters[1])
        for combo in product(*letters):
            r = "".join(combo)
            if r in roots:
                # How far down each written slot's preference the reading went (the
                # missing radical is not written: it does not count).
                changed = sum(map(tuple.index, letters, combo))
                if x >= 0:
                    changed -= letters[x].index(combo[x])
                bonus = PATTERN_IN_LEXICON if r in direct else 0.0
                freq = ROOT_FREQ * weight.get(r, 0.0)
                out.append((r, pattern + bonus + freq, pattern + 0.0 + freq, WEAK_CHANGE * changed))
    return tuple(out)


@lru_cache(maxsize=200_000)
def root(word: str) -> str:
    """The 3- or 4-letter root of an Arabic content word, in the root alphabet.

    Numbers, Latin, stopwords and protected names come back normalized (a
    protected name without its clitics, see ``protect``).

    >>> root("وانسحبت"), root("المقاتلين"), root("الغارات"), root("أخذ")
    ('سحب', 'قتل', 'غور', 'ءخذ')
    >>> root("2017"), root("ISIS"), root("في"), root("")
    ('2017', 'isis', 'في', '')
    """
    return _read_root(word)[1]


def _read_root(word: str) -> tuple[str, str, tuple[tuple[str, str, float, int], ...] | None]:
    """(normalized word, its root, the affix splits the root was read from).

    The splits are None when the word was not read (not Arabic, a stopword, a protected
    name, a form whose letters change in number when folded): the root is then the
    normalized word or the name.
    """
    n = normalize(word)
    if not is_arabic_word(n) or is_normalized_stopword(n):
        return n, n, None
    name = _protected_name(n)
    if name is not None:
        return n, name, None
    # A word of bare letters (most of them) is its own surface form: no controls, marks
    # or compatibility forms to remove, and bare letters never compose under NFKC.
    # Its folded form is then the normalized word.
    if not word.strip(_BARE_LETTERS):
        surface, match = word, n
    else:
        surface = _surface(word)
        match = fold_letters(surface)
        if len(match) != len(n):
            return n, n, None
    if len(n) < 2:
        return n, n, None
    scores: dict[str, float] = {}
    lexicon = word_roots()
    stems = _stems(surface, match)
    # A dictionary word inside a longer one (مدين in مدينة, معار in معارك, علا in
    # إعلان) is no evidence: its "affixes" are radicals or pattern letters.
    known = [(start, start + len(m)) for _, m, _, start in stems if len(m) >= 3 and m in lexicon]
    for s, m, cost, start in stems:
        readings = _readings(s, m)
        if not readings:
            continue
        end = start + len(m)
        shadowed = bool(known) and any(a <= start and end <= b and b - a > end - start for a, b in known)
        affix = AFFIX_COST * cost
        # The terms of _score, added in its order (the same floats, so the same ties).
        if shadowed:
            for r, _, base, weak in readings:
                value = base - affix - weak
                if value > scores.get(r, -1e9):
                    scores[r] = value
        else:
            for r, base, _, weak in readings:
                value = base - affix - weak
                if value > scores.get(r, -1e9):
                    scores[r] = value
    if not scores:
        return n, n, stems
    return n, max(sorted(scores), key=scores.__getitem__), stems


# --------------------------------------------------------------------------- vouched roots

# Imperfect-verb prefixes, and what the past form (which the lexicon lists) starts with
# instead: يعتبر → اعتبر, تستهدف → استهدف, يقاتل → قاتل, يجب → وجب.
_IMPERFECT = "يتنا"
_PAST_STARTS = ("", "ا", "ت", "و")


def _vouched(stems: Iterable[tuple[str, str, float, int]], r: str) -> bool:
    """Some affix split (``_stems``) of a word is a lexicon word with root ``r``, or an
    imperfect verb whose past form is one."""
    lexicon = word_roots()
    for _s, m, _cost, _start in stems:
        if r in lexicon.get(m, ()):
            return True
        if len(m) >= 3 and m[0] in _IMPERFECT:
            rest = m[1:]
            for p in _PAST_STARTS:
                if r in lexicon.get(p + rest, ()):
                    return True
    return False


@lru_cache(maxsize=200_000)
def lexicon_root(word: str) -> str:
    """The root-level term of a word: its root where the lexicon vouches for it, else the
    word kept whole (its light stem), like a gazetteer name.

    ``root`` reads any stem against the patterns, so a loanword or a foreign name gets a
    root that merges it with unrelated words (ترمب → ربب with ربنا, كيميائية → كوم with كيم).
    Here a root counts only when one affix split of the word is an Arramooz word with that
    root, or an imperfect verb whose past form is (يعتبر → اعتبر).

    >>> lexicon_root("وانسحبت"), lexicon_root("المقاتلين"), lexicon_root("يعتبر")
    ('سحب', 'قتل', 'عبر')
    >>> lexicon_root("ترمب"), lexicon_root("الكيميائية"), lexicon_root("كيم")
    ('ترمب', 'كيمياء', 'كيم')
    """
    from analyzers.stem import light_stem  # the stemmer imports this module's lexicon

    return root_level(word, light_stem(word))


def root_level(word: str, stem: str) -> str:
    """``lexicon_root(word)`` given ``stem == light_stem(word)``, uncached: for the indexer,
    which analyzes each new word once and has its stem already.

    >>> root_level("وانسحبت", "وانسحبت"), root_level("ترمب", "ترمب")
    ('سحب', 'ترمب')
    """
    n, r, stems = _read_root(word)
    # Not read (a name, a stopword, Latin …) or read as itself: the root is the term.
    if r == n or stems is None or _vouched(stems, r):
        return r
    return stem
