"""Light stemming: lexicon-guided clitic stripping around Snowball's Arabic stemmer.

Stock Snowball is inconsistent across the forms reporters write: ``قوات``,
``القوات`` and ``والقوات`` become ``قوا``, ``القو`` and ``والقوا`` because its
suffix rules depend on whether it saw an article, and it cuts word letters
(``وزير`` → ``زير``). So we (1) strip proclitics ourselves, asking the Arramooz
lexicon whether a leading و ف ب ك ل belongs to the word, (2) strip attached
pronouns when the remainder is a known word, then (3) run Snowball on the bare
word always in the same "definite noun" mode and (4) drop the article it kept.
Every surface form of a word thus reaches Snowball as the same bare string.
See docs/stemming.md for the rules, the collision review and Lucene agreement.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import snowballstemmer

from analyzers.lexicon import word_roots
from analyzers.normalize import normalize

_SNOWBALL = snowballstemmer.stemmer("arabic")
_ARTICLE = "ال"
# Attached pronouns Snowball leaves on in definite mode, longest first.
_PRONOUNS = ("هما", "كما", "ها", "هم", "هن", "كم", "نا", "ه")
# Suffixes tried when asking "is this an inflected form of a known word?".
_BASE_SUFFIXES = ("يين", "يون", "ات", "ون", "ين", "ان", "يه", "ه", "ي")

# Words whose initial ال is not the article although the rest is also a word.
_ARTICLE_WORDS = frozenset(["الغام", "الغاء", "الحاق", "الفاظ", "القاب", "الاف", "الطاف", "الان", "البان"])

_registered: set[str] = set()


def is_arabic_word(word: str) -> bool:
    """True when every character is an Arabic letter (after normalization).

    >>> is_arabic_word("قوات"), is_arabic_word("isis"), is_arabic_word("")
    (True, False, False)
    """
    return bool(word) and not word.strip(_ARABIC_LETTERS)


_ARABIC_LETTERS = "".join(map(chr, range(0x0621, 0x064B)))  # ء … ي


@lru_cache(maxsize=1)
def _reviewed_words() -> frozenset[str]:
    """Hand-reviewed names the lexicon lacks (analyzers/data/stem_known.txt)."""
    text = resources.files("analyzers").joinpath("data/stem_known.txt").read_text("utf-8")
    words = (line.split("#")[0].strip() for line in text.splitlines())
    return frozenset(_without_article(normalize(w)) for w in words if w)


def _without_article(w: str) -> str:
    # Names are stored bare so الرقه, بالرقه and للرقه all reduce to رقه.
    return w[len(_ARTICLE) :] if w.startswith(_ARTICLE) and len(w) > 4 else w


@lru_cache(maxsize=1)  # cleared by register_known_words
def _names() -> frozenset[str]:
    """Registered and reviewed names, bare (one set: asked once per clitic split tried)."""
    return frozenset(_registered) | _reviewed_words()


@lru_cache(maxsize=1)  # cleared by register_known_words
def _words() -> frozenset[str]:
    """Names and lexicon words."""
    return _names() | frozenset(word_roots())


def _is_name(w: str) -> bool:
    return w in _names()


def _is_word(w: str) -> bool:
    return w in _words()


@lru_cache(maxsize=200_000)
def _is_known(w: str) -> bool:
    """``w`` is a lexicon word or an inflected form of one (3+ letters left)."""
    words = _words()
    if w in words:
        return True
    for suffix in _BASE_SUFFIXES:
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= 3 and (base in words or (suffix == "ات" and base + "ه" in words)):
                return True
    return False


def _article_form(w: str) -> bool:
    """A lexicon word that is ال + another word (Arramooz lists المباني, الرياض)."""
    return w.startswith(_ARTICLE) and w not in _ARTICLE_WORDS and _is_word(w[len(_ARTICLE) :])


def _preposition_before_word(w: str) -> bool:
    """ب/ك/ل + a lexicon word of 4+ letters, while ``w`` is only an inflected form.

    ``لبيان`` is ل + بيان, not the dual of لبي.
    """
    return not _is_word(w) and w[0] in "بكل" and len(w) >= 5 and _is_word(w[1:])


def _proclitic_sequences() -> tuple[str, ...]:
    """Every proclitic sequence (conjunction, preposition, article), shortest first."""
    found = set()
    for conj in ("", "و", "ف"):
        for prep in ("", "ب", "ك", "ل"):
            for art in ("", _ARTICLE):
                prefix = conj + prep + art
                if prep == "ل" and art:
                    prefix = conj + "لل"  # ل + ال is written لل
                if prefix:
                    found.add(prefix)
    return tuple(sorted(found, key=lambda p: (len(p), p)))


_PROCLITIC_SET = frozenset(_proclitic_sequences())
_LONGEST_PROCLITICS = max(map(len, _PROCLITIC_SET))


def _prefix_candidates(w: str) -> list[str]:
    """Proclitic sequences (conjunction, preposition, article) ``w`` starts with, shortest first.

    (Two of one length cannot both start ``w``, so the order is the length order.)

    >>> _prefix_candidates("وبالقوات")
    ['و', 'وب', 'وبال']
    """
    return [w[:k] for k in range(1, min(_LONGEST_PROCLITICS, len(w)) + 1) if w[:k] in _PROCLITIC_SET]


def strip_proclitics(w: str) -> str:
    """Remove و/ف, ب/ك/ل and ال from a normalized word when they are clitics.

    A known word keeps its first letter (``وزير``, ``لبنان``). Otherwise the
    shortest clitic sequence leaving a known word wins (``وانسحاب``,
    ``للجنه`` → ``لجنه``). With no known remainder only an article sequence is
    cut (proper names: ``والحسكه`` → ``حسكه``); a lone و ف ب ك ل before an
    unknown word stays, so ``واشنطن`` is not cut to ``اشنطن``.

    >>> strip_proclitics("وزير"), strip_proclitics("وانسحاب"), strip_proclitics("والحسكه")
    ('وزير', 'انسحاب', 'حسكه')
    >>> strip_proclitics("للقوات"), strip_proclitics("للبنان"), strip_proclitics("الو")
    ('قوات', 'لبنان', 'الو')
    """
    if len(w) < 3:
        return w
    # Arramooz lists some plurals with their article (المباني, الرياض): the
    # article still goes, unless the ال belongs to the word (الغام "mines").
    if _is_known(w) and not _article_form(w) and not _preposition_before_word(w):
        return w
    candidates = _prefix_candidates(w)
    words = _words()
    # A lexicon word beats an inflected form of one: للقوات is ل+ال+قوات, not ل+لقوات.
    for prefix in candidates:
        rest = w[len(prefix) :]
        if len(rest) >= 3 and rest in words and not _article_form(rest):
            return rest
    for prefix in candidates:
        rest = w[len(prefix) :]
        if len(rest) >= 3 and _is_known(rest) and not _article_form(rest):
            return rest
    for prefix in reversed(candidates):
        rest = w[len(prefix) :]
        if prefix.endswith((_ARTICLE, "لل")) and len(rest) >= 2:
            return rest
    # و / ف before an unknown long word with a plural ending (وساهدون): names
    # rarely end in ون / ات, so the conjunction is the likelier reading.
    if w[0] in "وف" and len(w) >= 6 and w.endswith(("ون", "ات")):
        return w[1:]
    return w


def _strip_pronoun(w: str) -> str:
    """``قواتها`` → ``قوات`` when what is left is a known word (``متهم`` is kept)."""
    if w in _words():
        return w
    for suffix in _PRONOUNS:
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= 3 and _is_known(base):
                return base
    return w


@lru_cache(maxsize=300_000)
def _snowball_definite(w: str) -> str:
    """Snowball's noun suffix rules, always in its 'definite' mode, article removed again.

    Final ه is written back as ة so Snowball treats it as the feminine ending.
    """
    if w.endswith("ه"):
        w = w[:-1] + "ة"
    given = _ARTICLE + w
    out = _SNOWBALL.stemWord(given)
    if given.startswith(out):  # Snowball's length guard kept the article
        out = out[len(_ARTICLE) :]
    return out.replace("ة", "ه")


@lru_cache(maxsize=300_000)
def light_stem(word: str) -> str:
    """Stem a token: same stem for the clitic and inflected forms of a word.

    Accepts raw tokens (diacritics, tatweel); non-Arabic input comes back normalized.

    >>> light_stem("والقوات") == light_stem("قوات") == light_stem("للقوات")
    True
    >>> light_stem("وبالغاراتِ") == light_stem("الغارة")
    True
    >>> light_stem("وزير"), light_stem("ISIS"), light_stem("")
    ('وزير', 'isis', '')
    """
    w = normalize(word)
    if not is_arabic_word(w):
        return w
    bare = _strip_pronoun(strip_proclitics(w))
    if len(bare) <= 2:
        return bare
    words, names = _words(), _names()
    # Construct-state plural (مقاتلو) and accusative alef (سوريا, قتيلا): Snowball
    # keeps them in definite mode, so مقاتلو would not meet مقاتلين.
    if len(bare) >= 5 and bare[-1] in "او" and bare not in words:
        bare = bare[:-1]
    # Names (reviewed or registered) are not inflected: الحديده must not meet الحديد.
    # A lexicon word ending in ن keeps it (لبنان, سكان, بيان): Snowball's ن rule
    # would turn them into لبن, سك, بي.
    if bare in names or (bare.endswith("ن") and bare in words):
        return bare
    # A three-letter lexicon word in ة keeps it, and its ات plural meets it:
    # سنه "year" is not سن "age", مره "time" is not مر "passed"; قوات → قوه.
    if len(bare) == 3 and bare.endswith("ه") and bare in words:
        return bare
    if len(bare) == 4 and bare.endswith("ات") and bare[:2] + "ه" in words:
        return bare[:2] + "ه"
    out = _snowball_definite(bare)
    if len(out) < 2:
        return bare  # بات is not ب
    # On a short stem or a name, Snowball's cut of the nisba ي merges different
    # words (مدنيين/مدن "civilians/cities", جمعيه/جمعه, الرياضي/الرياض): keep the ي.
    cut_nisba = bare[len(out) : len(out) + 1] == "ي" and bare.startswith(out)
    if cut_nisba and (len(out) <= 3 or _is_name(out)):
        out += "ي"
    # A common word must not land on a name: رياضه "sport" is not رياض "Riyadh".
    return bare if out != bare and _is_name(out) else out


def bare_word(word: str) -> str:
    """A normalized word without its proclitics and attached pronoun, before Snowball:
    the form the lexicon lists (``والجيوش`` → ``جيوش``).

    >>> bare_word("والجيوش"), bare_word("قواتها")
    ('جيوش', 'قوات')
    """
    w = normalize(word)
    return _strip_pronoun(strip_proclitics(w)) if is_arabic_word(w) else w


def is_name(word: str) -> bool:
    """A reviewed or registered name (gazetteer), normalized and without the article.

    >>> is_name("رقه"), is_name("قوات")
    (True, False)
    """
    return _is_name(word)


def _clear_registered() -> None:
    """Forget every registered name (for tests)."""
    _registered.clear()
    _names.cache_clear()
    _words.cache_clear()
    _is_known.cache_clear()
    light_stem.cache_clear()


def register_known_words(words: Iterable[str]) -> None:
    """Declare words (place and group names) whose first letter is not a clitic.

    ``واشنطن`` stays whole and ``بواشنطن`` loses its ``ب``. Clears the caches.

    >>> register_known_words(["كوباني"])
    >>> light_stem("وكوباني") == light_stem("كوباني")
    True
    """
    for word in words:
        w = normalize(word)
        if is_arabic_word(w):
            _registered.add(_without_article(w))
    _names.cache_clear()
    _words.cache_clear()
    _is_known.cache_clear()
    light_stem.cache_clear()
