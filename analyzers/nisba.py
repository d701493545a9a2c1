"""Country references by nationality adjective (nisba): الحكومة اليمنية names Yemen.

A report on "the Yemeni government", "the Libyan coast" or "the Lebanese elections" is about
that country even when it names none of its places, so the document gets the country as a
place (``indexer.entities.entities_for``): not as a mention — nothing is highlighted and
``place_named`` (what free text matches) is unchanged — but in the ``place`` field that
filters and facets use. Rules (docs/entities.md, "Countries by nationality adjective"):

* the adjective is a covered country's nisba (analyzers/data/nisba.tsv: سوري، عراقي، يمني …)
  with or without the article and with its endings: اليمني، اليمنية، اليمنيين، يمنيات;
* it qualifies a noun of the country's land, state or affairs, the word right before it
  (analyzers/data/nisba_heads.txt: الأراضي، الحدود، الساحل، الحكومة، الرئيس، الوزراء، الأزمة …),
  with or without ال and glued و ف ب ل (للحكومة اليمنية); in a chain of adjectives the head
  carries over (الحدود السورية العراقية names both), also across the few adjectives listed
  there with ``+`` (السلطة الوطنية الفلسطينية، الحكومة الشرعية اليمنية);
* nouns of people (اللاجئين الفلسطينيين، الفنانة اللبنانية، من أصل عراقي), things (الفول
  السوداني) and teams name no country;
* inside the name of an actor the tagger found, a nisba is part of the name (حزب الله اللبناني،
  المرصد السوري، الهلال الأحمر العراقي) and names no country — unless the actor is the state's
  own force or government (الجيش اللبناني، قوات الحكومة اليمنية), which does name it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from analyzers.normalize import normalize

_ENDINGS = ("", "ه", "ين", "ون", "ات", "تين", "تان")


def _read(name: str) -> str:
    return resources.files("analyzers").joinpath(f"data/{name}").read_text("utf-8")


@lru_cache(maxsize=1)
def nisba_forms() -> dict[str, str]:
    """Every normalized form of every nisba → its country id.

    >>> nisba_forms()["اليمنيه"], nisba_forms()["لبنانيين"]
    ('ye', 'lb')
    """
    forms: dict[str, str] = {}
    for row in csv.DictReader(_read("nisba.tsv").split("\n"), delimiter="\t"):
        stem = normalize(row["nisba"])
        for article in ("", "ال"):
            for ending in _ENDINGS:
                forms[article + stem + ending] = row["country"]
    return forms


@lru_cache(maxsize=1)
def _lists() -> tuple[frozenset[str], frozenset[str]]:
    words = [line.strip() for line in _read("nisba_heads.txt").split("\n")]
    nouns = frozenset(normalize(w) for w in words if w and w[0] not in "#+")
    between = frozenset(normalize(w[1:]) for w in words if w.startswith("+"))
    return nouns, between


def heads() -> frozenset[str]:
    """Normalized head nouns, without the article."""
    return _lists()[0]


def _between(word: str) -> bool:
    """An adjective that keeps the head (الوطنية in السلطة الوطنية الفلسطينية)."""
    word = word[2:] if word.startswith("ال") else word
    return word in _lists()[1]


_CLITICS = re.compile("^(?:[وف]?(?:[بل]|لل)?)")
# A minister and a ministry are named by a construct (وزارة الصحة، وزير الإعلام): the nisba
# after the portfolio qualifies the ministry, so the portfolio needs no list of its own.
_MINISTRY = frozenset(normalize(w) for w in ("وزارة", "وزير", "وزيرة", "وزارات"))


def _is_head(word: str, hs: frozenset[str] | None = None) -> bool:
    """A head noun (of ``hs``, by default the heads) with or without ال and glued و ف ب ل.

    >>> _is_head("للحكومه"), _is_head("والاراضي"), _is_head("اللاجءين")
    (True, True, False)
    """
    hs = heads() if hs is None else hs
    for k in range(min(3, len(word)), -1, -1):
        prefix, rest = word[:k], word[k:]
        if k and not _CLITICS.fullmatch(prefix):
            continue
        if rest in hs or (rest.startswith("ال") and rest[2:] in hs):
            return True
    return False


@lru_cache(maxsize=1)
def _stems() -> re.Pattern[str]:
    """A nisba stem in the raw text (the stems carry no hamza or ة to fold)."""
    rows = csv.DictReader(_read("nisba.tsv").split("\n"), delimiter="\t")
    return re.compile("|".join(sorted({row["nisba"] for row in rows})))


_SPACE = re.compile(r"\s")


_EDGE = "\"'«»“”()[]{}.,،؛:!?؟…-–—"


_NEXT_WORD = re.compile(r"[\s\"'«»“”]+(\S+)")


def actor_spans(text: str, actors: Iterable[tuple[int, int, bool]]) -> list[tuple[int, int, bool]]:
    """The ``(start, end, state)`` spans of actors' names in ``text``, each stretched over the
    nationality adjectives right after it: they describe the actor (جماعة «حزب الله»
    اللبنانية, the adjective agreeing with جماعة), so they are part of its name too.

    >>> text = 'جماعة "حزب الله" اللبنانية'
    >>> text[slice(*actor_spans(text, [(7, 15, False)])[0][:2])]
    'حزب الله" اللبنانية'
    >>> text = "حزب الله الشيعي اللبناني الثلاثاء"
    >>> text[slice(*actor_spans(text, [(0, 8, False)])[0][:2])]
    'حزب الله الشيعي اللبناني'
    >>> actor_spans("حزب الله الشيعي", [(0, 8, False)])  # no nisba follows: the name alone
    [(0, 8, False)]
    """
    forms = nisba_forms()
    out = []
    for start, end, state in actors:
        stop = pos = end
        for _ in range(3):  # three adjectives at most (الشيعي اللبناني، الفلسطيني الإسرائيلي)
            m = _NEXT_WORD.match(text, pos)
            if not m:
                break
            word = normalize(m.group(1).strip(_EDGE))
            if word in forms:
                stop = pos = m.end()
            elif word.startswith("ال") and word.endswith(("ي", "يه")):
                pos = m.end()  # حزب الله الشيعي اللبناني: a describing adjective, if a nisba follows
            else:
                break
        out.append((start, stop, state))
    return out


def country_references(text: str, actors: Iterable[tuple[int, int, bool]] = ()) -> set[str]:
    """Ids of the covered countries a nisba phrase in ``text`` refers to.

    Only the words around a nisba stem are read (a regular expression finds them in the raw
    text), so the cost is small beside tagging. ``actors`` are the ``(start, end, state)``
    spans of the actors the tagger found in ``text``, ``state`` True for a state's own force
    or government (``gazetteer.is_state``): a nisba inside another actor's name names no
    country, one inside a state's force or government names it.

    >>> sorted(country_references("انتشر الجيش اللبناني", [(6, 20, True)]))
    ['lb']
    >>> country_references("قالت الحكومة اللبنانية", [(5, 22, False)])
    set()

    >>> sorted(country_references("أعلنت الحكومة اليمنية ورئيس الوزراء العراقي"))
    ['iq', 'ye']
    >>> sorted(country_references("قرب الحدود السورية العراقية"))
    ['iq', 'sy']
    >>> country_references("بيان السلطة الوطنية الفلسطينية")
    {'ps'}
    >>> country_references("حزب الله اللبناني والفنانة اللبنانية من أصل عراقي والفول السوداني")
    set()
    >>> sorted(country_references("أعلنت وزارة الصحة الفلسطينية وجرت الانتخابات النيابية اللبنانية"))
    ['lb', 'ps']
    >>> sorted(country_references("النزاع الإسرائيلي الفلسطيني")), country_references("ابن الصحة اللبنانية")
    (['ps'], set())
    """
    if not text:
        return set()
    forms = nisba_forms()
    found: set[str] = set()
    spans = sorted(actor_spans(text, actors))
    for m in _stems().finditer(text):
        # the whole word around the stem
        start = m.start()
        while start and not text[start - 1].isspace():
            start -= 1
        stop = _SPACE.search(text, m.end())
        chunk = text[start : stop.start() if stop else len(text)]
        word = chunk.strip(_EDGE)
        country = forms.get(normalize(word))
        if country is None or country in found:
            continue
        inside = [state for a, b, state in spans if a <= m.start() < b]
        if inside:
            if inside[0]:
                found.add(country)  # الجيش اللبناني: the state's own army names the state
            continue  # حزب الله اللبناني: part of an actor's name
        if chunk[:1] in _EDGE:
            continue
        # walk back over the words before it: other nisbas and in-between adjectives carry the
        # head (الحدود السورية العراقية، السلطة الوطنية الفلسطينية); the first other word decides
        end = start
        for _ in range(4):
            base = max(0, end - 80)  # a bounded look back: words are shorter than this
            segment = text[base:end]
            before = segment.rstrip()
            if len(before) == len(segment) or not before or before[-1] in _EDGE:
                break  # no space before, start of text, or punctuation in between
            first = max(before.rfind(c) for c in " \t\n\r\u00a0") + 1
            word = normalize(before[first:].lstrip(_EDGE))
            if word in forms or _between(word):
                end = base + first
                continue
            if _is_head(word):
                found.add(country)
            elif _after_ministry(text, base + first):
                found.add(country)  # وزارة الصحة اللبنانية، وزير الإعلام الفلسطيني
            break
    return found


def _after_ministry(text: str, end: int) -> bool:
    """The word that ends before ``end`` (after one space) is وزارة or وزير, as in وزارة
    [الصحة] اللبنانية: the word at ``end`` is then a portfolio."""
    before = text[max(0, end - 40) : end]
    stripped = before.rstrip(" ")
    if len(stripped) == len(before) or not stripped or stripped[-1] in _EDGE:
        return False
    word = normalize(stripped[stripped.rfind(" ") + 1 :])
    if word.startswith("ال"):  # الوزارة is no construct head (وزارة الصحة is)
        return False
    return _is_head(word, _MINISTRY)
