"""Mention tagger: finds gazetteer places and armed groups in Arabic text.

One left-to-right pass over ``tokenize()`` tokens, matched after ``normalize()``
against an index of every Arabic name and alias built once. Rules (docs/entities.md):

* longest match wins; a name may span tokens separated by spaces and tatweel only (a quote
  inside ends it); a name never carries tanween (درعًا "a shield" is not درعا);
* the first word may carry glued clitics و ف + ب ك ل (بالرقة، وإدلب، وللرقة): the mention
  starts after them, so ``text[start:end]`` is the name as written (for لل + an ال-name the
  span starts at the article's lam: للرقة → لرقة);
* names marked ``needs_context`` (الباب، القصير، حماة، الميادين …) count only after a cue
  word (مدينة، بلدة، ريف، محافظة، حي …), in a list after an accepted name, or (unless marked
  ``!``) near an unambiguous mention of the same kind and country, which also picks between
  places of two countries sharing a name (دوما);
* a name shared along one hierarchy (حلب the governorate and the city) resolves by the cue:
  محافظة/ريف → governorate, منطقة → district, ناحية → subdistrict, else the most specific;
* overrides (ignore / merge) from entity_overrides.tsv are applied last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain, compress
from typing import NamedTuple

from analyzers.gazetteer import ARMED_KINDS as _ARMED_KINDS
from analyzers.gazetteer import Entity, ancestors, country_of, entities, name_key, overrides
from analyzers.nisba import nisba_forms
from analyzers.normalize import MARKS_RE, normalize
from analyzers.tokenize import Token, columns, tokens_of


class Mention(NamedTuple):
    """A place or group named in the text; ``text[start:end] == surface``."""

    entity_id: str
    kind: str
    start: int
    end: int
    surface: str


# Cue words before an ambiguous place (normalized, clitics removed) → preferred levels.
_PLACE_CUES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("محافظه", "محافظات"), ("governorate",)),
    **dict.fromkeys(("ريف", "ارياف", "ريفي", "بريف"), ("governorate", "district", "locality")),
    **dict.fromkeys(("منطقه", "مناطق", "منطقتي"), ("district", "region", "locality", "site")),
    **dict.fromkeys(("ناحيه", "نواحي"), ("subdistrict", "locality")),
    **dict.fromkeys(
        ("مدينه", "مدينتي", "مدن", "بلده", "بلدتي", "بلدات", "قريه", "قريتي", "قري", "بلدتا", "مدينتا"),
        ("locality",),
    ),
    **dict.fromkeys(("حي", "احياء", "حيي"), ("neighbourhood",)),
    **dict.fromkeys(("مخيم", "مخيمات"), ("site", "neighbourhood")),
    **dict.fromkeys(
        (
            "شمال",
            "جنوب",
            "شرق",
            "غرب",
            "شمالي",
            "جنوبي",
            "شرقي",
            "غربي",
            "اطراف",
            "محيط",
            "ضواحي",
            "مشارف",
            "مدخل",
            "مداخل",
        ),
        (),
    ),
}
# Vicinity words that also go with buildings and things (مداخل القصور "the palaces' entrances",
# محيط الدار، أطراف التل): evidence for a name, but not for one of the most common words (!names).
_WEAK_CUES = frozenset(("اطراف", "محيط", "مدخل", "مداخل"))
_GROUP_CUES = frozenset(
    (
        "تنظيم",
        "جبهه",
        "حركه",
        "حركتا",  # duals: نفت حركتا «حماس» و«الجهاد الإسلامي»
        "حركتي",
        "جبهتا",
        "جبهتي",
        "تنظيما",
        "تنظيمي",
        "فصيل",
        "فصائل",
        "ميليشيا",
        "ميليشيات",
        "مليشيا",
        "مليشيات",
        "عناصر",
        "عنصر",
        "مقاتلي",
        "مقاتلو",
        "مسلحي",
        "مسلحو",
        "قوات",
        "كتائب",
        "قياديين",
        "قيادي",
        "زعيم",
        "متحدث",
        "عضو",  # a member, a bloc, a delegation of an organisation: عضو بالقاعدة، كتلة حماس، وفد حماس
        "اعضاء",
        "كتله",
        "وفد",
    )
)
# Words in front of a place name that make it part of another thing's name (normalized, clitics
# removed): a newspaper, channel or agency (صحيفة القدس، راديو إسرائيل), a club or team (أهلي حلب،
# سسكا موسكو، منتخب مصر), a venue, a tournament or an institution (ملعب الإمارات، بطولة الولايات
# المتحدة، جامعة القاهرة). There the place is not what the sentence is about.
_ORG_HEADS = frozenset(
    normalize(w)
    for w in (
        "صحيفة صحيفتا صحف جريدة مجلة إذاعة راديو تلفزيون التلفزيون فضائية وكالة مؤسسة "
        "نادي أهلي اتحاد فريق منتخب ملعب ستاد استاد بطولة مهرجان معرض جامعة "
        "ريال أتلتيكو سبارتاك دينامو لوكوموتيف سسكا هرتا بوروسيا إنتر"
    ).split()
)
# Words right after an organisation's name that make it a sports body's (الاتحاد الأوروبي
# لكرة القدم، الاتحاد الأفريقي للعبة).
_SPORT_TAILS = frozenset(normalize(w) for w in "لكرة للعبة لألعاب للرياضة".split())
# A union's name (الاتحاد الأوروبي، الاتحاد الأفريقي) is also its continent's sports
# confederation's (UEFA, CAF: رئيس الاتحاد الأوروبي السابق ميشال بلاتيني). It is the
# confederation in a text that names one by its acronym (الكاف، يويفا), and next to a word of
# football (after و ف ب ل, within _SPORT_WINDOW tokens either side: لجنة الحكام في الاتحاد
# الأوروبي، بجائزة الاتحاد الإفريقي لأفضل لاعب). Players, clubs and fans also cross the EU's
# borders (لاعبين من خارج الاتحاد الأوروبي), so the words and the window are kept narrow.
_CONFEDERATIONS = frozenset(normalize(w) for w in "الكاف يويفا اليويفا ويفا لليويفا".split())
_SPORT_WORDS = frozenset(
    normalize(w)
    for w in (
        "كرة لكرة بكرة الكرة فيفا الفيفا مباراة المباراة مباريات المباريات منتخب المنتخب منتخبات المنتخبات "
        "نادي النادي الأندية الدوري البطولة بطولات البطولات الحكام التحكيم المونديال هداف "
        "لاعب اللاعب"
    ).split()
)
_SPORT_WINDOW = 6
_CONFEDERATION_WINDOW = 40
_UNION = normalize("الاتحاد")
# ... and words in front of it that make it a competition's (كأس الاتحاد الأفريقي، بطولة مجلس التعاون).
_CONTEST_HEADS = frozenset(normalize(w) for w in "كأس بطولة دوري".split())
# ... and words right after it that do the same (واشنطن بوست، نيويورك تايمز).
_ORG_TAILS = frozenset(normalize(w) for w in "بوست تايمز تلغراف تريبيون متروستارز".split())
# Words in front of a name that make it a person's name (الفنانة داريا، الشيخ ...), and
# words after it that do (... بن الخطاب).
_PERSON_HEADS = frozenset(
    normalize(w)
    for w in (
        "السيد السيدة الشيخ الفنان الفنانة الدكتور اللاعب المطرب المطربة الكاتب الكاتبة الشاعر "
        "الشاعرة الممثل الممثلة النجم النجمة الإعلامي الإعلامية المخرج المخرجة "
        "أبو"  # a family name or kunya: احمد أبو غزة (names beginning with أبو, أبو ظبي, match whole)
    ).split()
)
_PERSON_TAILS = frozenset(normalize(w) for w in "بن ابن بنت".split())
# Prepositions: in front of a name flagged ~ (an adverb otherwise: دوما "always") they are
# evidence enough, since an adverb never follows one.
_PREPOSITIONS = frozenset(
    normalize(w) for w in "في من إلى الى على عن قرب نحو حول داخل خارج بين عند حتى منذ تجاه".split()
)
# A mention in the first country counts as evidence for places of the second (Jericho, Duma).
_COUNTRY_AFFINITY = {"il": "ps"}
# Default preference when no cue: the most specific place.
_SPECIFIC_FIRST = (
    "neighbourhood",
    "site",
    "locality",
    "subdistrict",
    "region",
    "district",
    "governorate",
    "country",
)
_WINDOW = 12  # tokens either side in which an unambiguous mention vouches for an ambiguous one
# Words of one name are separated by spaces (and tatweel/invisible marks) only: a quote inside
# (تنظيم "الدولة الإسلامية") ends the longer name, so the quoted name is matched on its own.
# A hashtag joins them with underscores (#حزب_الله، #قوات_سوريا_الديمقراطية): one name too.
_GAP_RE = re.compile(r"[\s\u0640\u200c-\u200f]*|_")
_TANWEEN_RE = re.compile("[\u064b-\u064d]")
_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ك", "ل")


class _Name(NamedTuple):
    rest: tuple[str, ...]  # normalized tokens after the first
    ids: tuple[str, ...]
    key: str  # the whole normalized name, space-joined


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[_Name, ...]]:
    """First normalized token → names starting with it, longest first."""
    by_key: dict[tuple[str, ...], list[str]] = {}
    for e in entities().values():
        for n in e.names_ar:
            key = name_key(n)
            if key and e.id not in by_key.setdefault(key, []):
                by_key[key].append(e.id)
    index: dict[str, list[_Name]] = {}
    for key, ids in by_key.items():
        index.setdefault(key[0], []).append(_Name(key[1:], tuple(sorted(ids)), " ".join(key)))
    return {k: tuple(sorted(v, key=lambda n: -len(n.rest))) for k, v in index.items()}


@lru_cache(maxsize=100_000)
def _first_forms(word: str) -> tuple[tuple[str, int], ...]:
    """(name-start form, number of clitic letters stripped) for a normalized token.

    >>> _first_forms("وللرقه")
    (('وللرقه', 0), ('للرقه', 1), ('لرقه', 2), ('الرقه', 2))
    """
    forms = [(word, 0)]
    if word[:1] in "وفبكل":
        for conj in _CONJ:
            for prep in _PREP:
                p = conj + prep
                if p and word.startswith(p) and len(word) - len(p) >= 2:
                    rest = word[len(p) :]
                    forms.append((rest, len(p)))
                    if prep == "ل" and rest.startswith("ل"):
                        forms.append(("ا" + rest, len(p)))  # لل = ل + ال (the alef is dropped)
    return tuple(forms)


@lru_cache(maxsize=200_000)
def _name_forms(word: str) -> tuple[tuple[str, int], ...]:
    """The :func:`_first_forms` of a token that begin a known name (usually none): one
    cached lookup per token in :func:`_matches` instead of a few."""
    return name_forms(word)


_NO_FORMS: tuple = ()


def name_forms(word: str) -> tuple[tuple[str, int], ...]:
    """:func:`_name_forms` uncached, for a caller that keeps its own table (the indexer's word
    table, ``indexer.postings``); ``()`` (one shared tuple) for most words.

    >>> name_forms("وبالرقه"), name_forms("قصف")
    ((('الرقه', 2),), ())
    """
    index = _index()
    found = tuple(f for f in _first_forms(word) if f[0] in index)
    return found or _NO_FORMS


def is_name_word(word: str) -> bool:
    """Whether a normalized token, with or without its glued clitics, begins a known name.

    >>> is_name_word("ودرعا"), is_name_word("والقنيطره"), is_name_word("ودعا")
    (True, True, False)
    """
    return any(form in _index() for form, _ in _first_forms(word))


def _skip_letters(token: str, n: int) -> int:
    """Character offset in ``token`` after its first ``n`` letters (and the marks on them)."""
    i = seen = 0
    while i < len(token) and seen < n:
        if not MARKS_RE.match(token[i]):
            seen += 1
        i += 1
    while i < len(token) and MARKS_RE.match(token[i]):
        i += 1
    return i


@lru_cache(maxsize=8192)
def _strip_clitics(word: str) -> str:
    """A normalized ``word`` without its glued و/ف and preposition when what remains is a
    place or group cue word (بمدينه → مدينه).

    Cached: it reads the word before every name a text names (~7 a report, ~2 µs each
    uncached), and those words are few.

    >>> _strip_clitics("وبمدينه"), _strip_clitics("قصف")
    ('مدينه', 'قصف')
    """
    for conj in _CONJ:
        for prep in _PREP:
            p = conj + prep
            rest = word[len(p) :]
            if p and word.startswith(p) and (rest in _PLACE_CUES or rest in _GROUP_CUES):
                return rest
    return word


class _Match(NamedTuple):
    first: int  # token index
    last: int  # token index (inclusive)
    ids: tuple[str, ...]
    key: str
    clitic: int


@lru_cache(maxsize=1)
def _index2() -> tuple[dict[tuple[str, str], tuple[_Name, ...]], dict[str, tuple[_Name, ...]]]:
    """``(first, second) token → longer names``, ``first token → one-word names``: so a common
    first word (محافظة، مدينة، قوات) is checked only against the names its next word can continue."""
    longer: dict[tuple[str, str], list[_Name]] = {}
    single: dict[str, list[_Name]] = {}
    for first, names in _index().items():
        for name in names:  # longest first, kept in each bucket
            if name.rest:
                longer.setdefault((first, name.rest[0]), []).append(name)
            else:
                single.setdefault(first, []).append(name)
    return {k: tuple(v) for k, v in longer.items()}, {k: tuple(v) for k, v in single.items()}


def _matches(
    text: str, starts: list[int], ends: list[int], norms: list[str], forms_at: list | None = None
) -> list[_Match]:
    """The longest names in ``norms`` (tokens with their ``starts`` and ``ends`` in ``text``),
    left to right, each made of tokens with only spaces or a few marks between them."""
    longer, single = _index2()
    out: list[_Match] = []
    n = len(norms)
    # One cached lookup per token, mapped in C: most tokens begin no name, and a Python loop
    # over all of them cost more than the matching. (The indexer gives them: ``forms``.)
    if forms_at is None:
        forms_at = list(map(_name_forms, norms))
    after = 0  # tokens before it belong to a match found already
    for i in compress(range(n), forms_at):  # the tokens some form of which begins a name
        if i < after:
            continue
        best: _Match | None = None
        following = norms[i + 1] if i + 1 < n else None
        for form, clitic in forms_at[i]:
            for name in chain(longer.get((form, following), ()), single.get(form, ())):
                last = i + len(name.rest)
                if best and last <= best.last:
                    continue
                if last >= n or not all(norms[i + 1 + k] == w for k, w in enumerate(name.rest)):
                    continue
                if any(not _GAP_RE.fullmatch(text[ends[k] : starts[k + 1]]) for k in range(i, last)):
                    continue
                best = _Match(i, last, name.ids, name.key, clitic)
        if best:
            out.append(best)
            after = best.last + 1
    return out


def _cue(norms: list[str], i: int) -> str | None:
    if i == 0:
        return None
    word = _strip_clitics(norms[i - 1])
    return word if word in _PLACE_CUES or word in _GROUP_CUES else None


def _pick(candidates: list[Entity], cue: str | None) -> Entity:
    prefs = _PLACE_CUES.get(cue or "", ()) + _SPECIFIC_FIRST
    # Syrian places first: a cue alone does not tell دوما in Rif Dimashq from دوما in the West Bank.
    return min(
        candidates,
        key=lambda e: (
            prefs.index(e.level) if e.level in prefs else len(prefs),
            _country(e.id) != "sy",
            e.id,
        ),
    )


def _resolve(m: _Match, norms: list[str], cue: str | None) -> tuple[Entity, str]:
    """The entity a match stands for and what it still needs: '' (nothing), 'near' or 'cue'."""
    table = entities()
    cands = [table[i] for i in m.ids]
    places = [e for e in cands if e.kind == "place"]
    groups = [e for e in cands if e.kind == "group"]
    if places and (not groups or cue in _PLACE_CUES):
        chosen = _pick(places, cue if cue in _PLACE_CUES else None)
        # The cue must fit the place: حي الثورة is a neighbourhood, not the town called الثورة.
        levels = _PLACE_CUES.get(cue or "")
        cued = levels is not None and (not levels or any(e.level in levels for e in places))
        if cue in _WEAK_CUES and m.key in chosen.strict_context:
            cued = False  # مداخل القصور: the entrances of palaces, not the Deir ez-Zor quarter
    else:
        chosen = min(groups, key=lambda e: e.id)
        cued = cue in _GROUP_CUES
    if m.key in chosen.strict_context and "ك" in norms[m.first][: m.clitic]:
        return chosen, "cue"  # كامل "complete" is not ك + أمل: "like" before a common-word name is no name
    # Context is judged on the default reading: دوما is Douma unless a neighbour points elsewhere.
    if m.key not in chosen.needs_context or cued:
        return chosen, ""
    if m.key in chosen.adverb_context and m.first and _strip_prep(norms[m.first - 1]) in _PREPOSITIONS:
        return chosen, ""  # في دوما: the adverb دوما "always" never follows a preposition
    if m.clitic and m.key in chosen.adverb_context and norms[m.first][m.clitic - 1] == "ب":
        return chosen, ""  # بدوما: a glued ب is the same evidence (not ل, which also means "for")
    strict = m.key in chosen.strict_context or m.key in chosen.adverb_context
    return chosen, "cue" if strict else "near"


def _strip_prep(word: str) -> str:
    return word[1:] if word[:1] in "وف" and word[1:] in _PREPOSITIONS else word


@lru_cache(maxsize=1)
def _rules() -> tuple[dict[str, list[tuple[str, ...]]], dict[str, str]]:
    ignore: dict[str, list[tuple[str, ...]]] = {}
    merge: dict[str, str] = {}
    for o in overrides():
        if o.action == "ignore":
            ignore.setdefault(o.entity_id, []).append(name_key(o.argument))
        elif o.action == "merge":
            merge[o.entity_id] = o.argument
    return ignore, merge


def _ignored(phrases: list[tuple[str, ...]], norms: list[str], m: _Match) -> bool:
    # the name's first word as written or without its clitics (لمجلس الأمن القومي)
    bare = m.key.split(" ", 1)[0]
    for p in phrases:
        for s in range(max(0, m.first - len(p) + 1), m.last + 1):
            words = norms[s : s + len(p)]
            if tuple(words) == p:
                return True
            if s <= m.first < s + len(p):
                words[m.first - s] = bare
                if tuple(words) == p:
                    return True
    return False


def tag(
    text: str,
    tokens: Sequence[Token] | None = None,
    norms: list[str] | None = None,
    forms: list[tuple] | None = None,
) -> list[Mention]:
    """Places and groups named in ``text``, in text order. Deterministic.

    ``tokens`` (``tokenize(text)``) and ``norms`` (their ``normalize``d forms) may be given by
    a caller that has them already (the indexer's analysis), to save tokenizing twice; and
    ``forms``, each norm's :func:`name_forms`.

    >>> [(m.entity_id, m.surface) for m in tag("قصف بالرقة وقوات سوريا الديمقراطية لـ\\"داعش\\"")]
    [('sy-raqqa-raqqa', 'الرقة'), ('sdf', 'قوات سوريا الديمقراطية'), ('isis', 'داعش')]
    >>> tag("فتح الباب أمام الحوار")
    []
    >>> [m.entity_id for m in tag("معارك في مدينة الباب")]
    ['sy-aleppo-bab']
    """
    if not text:
        return []
    if tokens is None or norms is None:
        tokens = tokens_of(text)
        norms = list(map(normalize, tokens.surfaces))
        forms = None
    found: list[tuple[_Match, Entity, str]] = []
    cue = None
    # The tokens' texts and offsets as lists (a Tokens' own): a Token made for each read
    # around every candidate name cost more than the reading.
    texts, starts, ends = columns(tokens)
    for m in _matches(text, starts, ends, norms, forms):
        if any(_TANWEEN_RE.search(t) for t in texts[m.first : m.last + 1]):
            continue  # names take no tanween: درعًا is "a shield", سوريًا "Syria-wise"
        listed = bool(found) and found[-1][0].last + 1 == m.first and m.clitic and norms[m.first][0] in "وف"
        # A coordinated name keeps the cue of the list it continues: ريف حلب وإدلب → both governorates.
        if not listed:
            cue = _cue(norms, m.first)
        entity, needs = _resolve(m, norms, cue)
        if _another_sense(m, entity, norms, cue) or (
            entity.kind == "place" and _quoted_title(text, starts, ends, m)
        ):
            needs = "drop"
        # ... and a name listed right after an accepted one of the same kind needs nothing more.
        # A `!` name (the commonest words) must be a place of the same country: "الإماراتية
        # والسعودية والسودانية" lists adjectives, not the Gaza district; "وحضر السفير" "and the
        # ambassador attended" after a place elsewhere is not Hadar, "وصور" "and pictures" not Tyre.
        if needs and listed and not found[-1][2]:
            prev, prev_entity, _ = found[-1]
            if _same_kind(prev_entity, entity, prev.ids, m.ids, country=needs == "cue"):
                needs = ""
        found.append((m, entity, needs))
    ignore, merge = _rules()
    table = entities()
    kept: list[tuple[_Match, Entity]] = []
    for m, entity, needs in found:
        if needs in ("cue", "drop"):
            continue
        if _countries(m.ids) > 1:
            # Two countries share the name (أريحا Ariha / Jericho): the country is the one the
            # text's other places are in (within the window when the word itself has no cue or
            # preposition); with none, only a default reading that needs no neighbour stays
            # (مدينة دوما, في دوما: Douma in Syria).
            chosen = _country_evidence(m, entity, found, _WINDOW if needs else None)
            if chosen is None:  # ... or a nationality adjective: طرابلس … قوات الردع الليبية
                chosen = _nisba_evidence(m, entity, norms, _WINDOW if needs else None)
            if chosen is None and (
                needs or (m.key in entity.needs_context and m.key not in entity.adverb_context)
            ):
                continue
            entity = chosen or entity  # noqa: PLW2901 - the candidate the text's places point to
        elif needs == "near":
            # one sense per text: the same entity named unambiguously anywhere vouches (حركة حماس … حماس)
            same = any(not n and oe.id == entity.id and o is not m for o, oe, n in found)
            vouched = entity if same else _vouch(m, entity, found)
            if vouched is None:
                continue
            entity = vouched  # noqa: PLW2901 - the candidate a neighbour vouches for
        if entity.id in ignore and _ignored(ignore[entity.id], norms, m):
            continue
        kept.append((m, table[merge.get(entity.id, entity.id)]))
    out: list[Mention] = []
    for k, (m, target) in enumerate(kept):
        if k + 1 < len(kept) and kept[k + 1][0].first == m.last + 1 and kept[k + 1][1].id == target.id:
            continue  # العاصمة السورية دمشق: the descriptor and the name are one mention, the name
        start = starts[m.first] + _skip_letters(texts[m.first], m.clitic)
        end = ends[m.last]
        out.append(Mention(target.id, target.kind, start, end, text[start:end]))
    return out


def _same_kind(
    a: Entity, b: Entity, a_ids: tuple[str, ...] = (), b_ids: tuple[str, ...] = (), country: bool = True
) -> bool:
    """Two entities a list may join: of one kind, and (with ``country``) places of one country,
    either being any of the places its name may be (``a_ids``, ``b_ids``: تعز والبيضاء is
    Yemen's البيضاء, and so البيضاء وحجة).

    >>> [m.entity_id for m in tag("في حلب وحماة")], tag("السفارات الإماراتية والسعودية والسودانية")[1:]
    (['sy-aleppo-aleppo', 'sy-hama-hama'], [])
    """
    if a.kind != b.kind:
        return False
    if a.kind != "place" or not country:
        return True
    table = entities()

    def countries(first: Entity, ids: tuple[str, ...]) -> set[str]:
        return {country_of(i) for i in (first.id, *ids) if i in table and table[i].kind == "place"}

    return bool(countries(a, a_ids) & countries(b, b_ids))


def _another_sense(m: _Match, entity: Entity, norms: list[str], cue: str | None) -> bool:
    """True when the words around a place name make it part of another name or an adjective.

    >>> [m.entity_id for m in tag("نقلت صحيفة القدس عن مصادر في القدس")]
    ['ps-jerusalem']
    >>> tag("لعب سسكا موسكو مع الفنانة داريا"), tag("المحادثات الإسرائيلية السعودية")
    ([], [])
    >>> tag("من أصول عربية وسورية"), [m.entity_id for m in tag("في تركيا وسورية")]
    ([], ['tr', 'sy'])
    """
    if entity.kind != "place":
        # الاتحاد الأوروبي لكرة القدم: a sports federation; كأس الاتحاد الأفريقي: a cup
        if m.first and _strip_conj(norms[m.first - 1]) in _CONTEST_HEADS:
            return True
        if m.last + 1 < len(norms) and norms[m.last + 1] in _SPORT_TAILS:
            return True
        # رئيس الاتحاد الإفريقي أحمد أحمد … رئاسة الكاف: a union among football's words
        return m.key.startswith(_UNION) and _among_sport(norms, m)
    before = _strip_conj(norms[m.first - 1]) if m.first else ""
    after = norms[m.last + 1] if m.last + 1 < len(norms) else ""
    if before in _ORG_HEADS or after in _ORG_TAILS:
        return True  # صحيفة القدس، سسكا موسكو، واشنطن تايمز
    if before in _PERSON_HEADS or after in _PERSON_TAILS:
        return True  # الفنانة داريا، عمر بن ...
    if m.first != m.last or not m.key.endswith("يه") or cue is not None or before in _PREPOSITIONS:
        return False
    # السعودية after a definite word is the adjective "Saudi" (المحادثات الإسرائيلية السعودية),
    # and سورية coordinated with an indefinite adjective is "Syrian" (أصول عربية وسورية).
    if not m.clitic and m.key.startswith("ال") and before.startswith("ال"):
        return True
    return (
        m.clitic == 1
        and norms[m.first][0] == "و"
        and not m.key.startswith("ال")
        and before.endswith("يه")
        and not before.startswith("ال")
        and before not in _index()
    )


def _among_sport(norms: list[str], m: _Match) -> bool:
    """A word of football lies within _SPORT_WINDOW tokens of the mention, or a confederation's
    acronym within _CONFEDERATION_WINDOW.

    >>> [m.entity_id for m in tag("أعلن الاتحاد الإفريقي قمة في أديس أبابا لبحث فكرة القوة")]
    ['au']
    >>> tag("هاجم رئيس الاتحاد الإفريقي وطالب النادي الأهلي بالاعتذار"), tag("قرر الاتحاد الأفريقي (الكاف)")
    ([], [])
    """
    for window, words in ((_SPORT_WINDOW, _SPORT_WORDS), (_CONFEDERATION_WINDOW, _CONFEDERATIONS)):
        lo, hi = max(0, m.first - window), min(len(norms), m.last + 1 + window)
        for k in range(lo, hi):
            w = norms[k]
            # والمباراة، بالدوري، للمنتخب (not فكرة "idea" = ف + كرة: a clitic only before ال)
            if w.startswith("لل"):
                w = "ال" + w[2:]
            elif w[:1] in "وفبل" and w[1:3] == "ال":
                w = w[1:]
            elif w[:2] in ("ول", "وب", "فب", "فل") and w[2:4] == "ال":
                w = w[2:]
            if w in words:
                return True
    return False


_OPEN_QUOTES = frozenset("\"«“'")
_CLOSE_QUOTES = frozenset("\"»”'«“")  # « and “ too: a reversed pair closes with them


def _quoted_title(text: str, starts: list[int], ends: list[int], m: _Match) -> bool:
    """True when a place name opens a quoted phrase of more words: a title or an operation's name.

    >>> tag('نشر رواية " القاهرة الجديدة " عام 1945'), tag('عملية «درع الفرات»')
    ([], [])
    """
    start = starts[m.first]
    before = text[ends[m.first - 1] if m.first else 0 : start]
    # « and “ open; a straight quote opens when an odd number of them precede it, and so does a
    # guillemet written the other way round (» القاهرة 30 «, common in right-to-left text)
    opening = "«" in before or "“" in before
    if not opening and ("»" in before or "”" in before):
        opening = sum(text.count(q, 0, start) for q in "«»“”") % 2 == 1
    for q in "\"'":
        opening = opening or (q in before and text.count(q, 0, start) % 2 == 1)
    if not opening:
        return False
    for k in range(m.last, min(m.last + 4, len(starts) - 1)):
        gap = text[ends[k] : starts[k + 1]]
        if any(c in _CLOSE_QUOTES for c in gap):
            return k > m.last  # closed after more words: a title; right after the name: the name
    return False


@lru_cache(maxsize=8192)
def _strip_conj(word: str) -> str:
    """A normalized ``word`` without a glued و/ف or ب/ل when what remains is an
    organization, person or contest head word (cached as :func:`_strip_clitics` is).

    >>> _strip_conj("ولاتحاد"), _strip_conj("وقال")
    ('اتحاد', 'وقال')
    """
    for p in ("وب", "ول", "فب", "فل", "و", "ف", "ب", "ل"):
        rest = word[len(p) :]
        if word.startswith(p) and (rest in _ORG_HEADS or rest in _PERSON_HEADS or rest in _CONTEST_HEADS):
            return rest
    return word


def _country_evidence(m: _Match, entity: Entity, found: list, window: int | None) -> Entity | None:
    """The candidate whose country the nearest unambiguous place of the text (within ``window``
    tokens, or anywhere) is in."""
    table = entities()
    cands = [entity, *(table[i] for i in m.ids if i != entity.id and table[i].kind == "place")]
    nearby = sorted(
        (abs(o.first - m.first), o.first, oe.id)
        for o, oe, needs in found
        if not needs
        and o is not m
        and oe.kind == "place"
        and len({_country(i) for i in o.ids}) == 1
        and (window is None or abs(o.first - m.first) <= window)
    )
    for _, _, other in nearby:
        country = _country(other)
        country = _COUNTRY_AFFINITY.get(country, country)
        for c in cands:
            if _country(c.id) == country:
                return c
    return None


def _nisba_evidence(m: _Match, entity: Entity, norms: list[str], window: int | None) -> Entity | None:
    """The one candidate whose country a nationality adjective of the text (within ``window``
    tokens, or anywhere) names.

    >>> [m.entity_id for m in tag("سيطرت قوات الردع الخاصة الليبية على مبنى المؤسسة في طرابلس")]
    ['ly-tripoli']
    """
    forms = nisba_forms()
    lo, hi = (0, len(norms)) if window is None else (max(0, m.first - window), m.last + window + 1)
    countries = {forms[w] for w in norms[lo:hi] if w in forms}
    if not countries:
        return None
    table = entities()
    cands = [entity, *(table[i] for i in m.ids if i != entity.id and table[i].kind == "place")]
    fits = [c for c in cands if _country(c.id) in countries]
    return fits[0] if len({_country(c.id) for c in fits}) == 1 else None


@lru_cache(maxsize=10_000)
def _country(entity_id: str) -> str:
    chain = ancestors(entity_id)
    return chain[-1] if chain else entity_id


@lru_cache(maxsize=100_000)
def _countries(ids: tuple[str, ...]) -> int:
    """How many countries the places among ``ids`` lie in (a name shared across borders: > 1)."""
    table = entities()
    return len({_country(i) for i in ids if table[i].kind == "place"})


def _vouch(m: _Match, entity: Entity, found: list) -> Entity | None:
    """The candidate an unambiguous mention of the same kind within the window vouches for.

    For places the neighbour must be in the same country, which also picks between places of
    different countries sharing a name (دوما in Rif Dimashq or in the West Bank).
    """
    table = entities()
    cands = [entity, *(table[i] for i in m.ids if i != entity.id and table[i].kind == entity.kind)]
    nearby = sorted(
        (abs(o.first - m.first), o.first, oe.id)
        for o, oe, needs in found
        if not needs and o is not m and oe.kind == entity.kind and abs(o.first - m.first) <= _WINDOW
    )
    for _, _, other in nearby:
        if entity.kind == "group":
            # an armed group's common-word name (القاعدة "the basis") is vouched for by another
            # fighting actor, not by the UN or a party named nearby
            if table[other].level in _ARMED_KINDS or entity.level not in _ARMED_KINDS:
                return entity
            continue
        for c in cands:
            if _country(c.id) == _country(other):
                return c
    return None


def tag_ids(text: str) -> set[str]:
    """The set of entity ids mentioned in ``text``.

    >>> sorted(tag_ids("اشتباكات في البو كمال وعين العرب"))
    ['sy-aleppo-kobani', 'sy-deirezzor-abukamal']
    """
    return {m.entity_id for m in tag(text)}
