"""Variants of a query word that are the same word: its broken plural or singular, and the
spellings of a relative adjective (nisba) formed on a noun in ـاء.

The light stemmer already brings the clitic and sound-plural forms of a word together
(الغارات and غارة share a stem). It cannot join a broken plural to its singular
(جيش / جيوش, معركة / معارك), which the Arramooz lexicon lists, nor the spellings of a
nisba on a noun in ـاء: كيميائي is also written كيمياوي and, shortened, كيماوي
(صحرائي / صحراوي, كهربائي / كهرباوي). Both are rules of the language, applied at query
time to the word's stem; nothing is added to the index. Gazetteer names get no variants.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from analyzers.lexicon import broken_plurals, own_entries, word_roots
from analyzers.normalize import normalize
from analyzers.stem import bare_word, is_arabic_word, is_name, light_stem

_MIN_NISBA_STEM = 5  # سماء, دواء: too short to vary safely
_CONJ = ("", "و", "ف")
_PREP = ("", "ب", "ل", "ك")


def proclitic_forms(word: str) -> tuple[str, ...]:
    """A normalized word with each conjunction and preposition it may carry in front
    (the first word of a phrase: ``"قوات النظام"`` is also written ``لقوات النظام``);
    ل before the article is written لل. The word itself comes first.

    >>> proclitic_forms("قوات")[:4], "للنظام" in proclitic_forms("النظام")
    (('قوات', 'بقوات', 'لقوات', 'كقوات'), True)
    """
    out = []
    for conj in _CONJ:
        for prep in _PREP:
            if prep == "ل" and word.startswith("ال"):
                out.append(conj + "ل" + word[1:])
            else:
                out.append(conj + prep + word)
    return tuple(out)


def plural_forms(word: str) -> dict[str, str]:
    """The broken plurals of a singular and the singulars of a broken plural (normalized),
    each with the plural that needs evidence from the index, or ``""``: a plural that is
    also a word of its own with the same root (مقاتل "fighter" beside مقاتل, the plural of
    مقتل "killing") is a variant only where the index does not use it as that word.
    A plural that is also a word of another root is left out (أسود "black", plural of أسد).

    >>> plural_forms("والجيش"), plural_forms("المعارك"), plural_forms("غارة")
    ({'جيوش': ''}, {'معركه': 'معارك'}, {})
    >>> plural_forms("مقتل"), plural_forms("الأسد")
    ({'مقاتل': 'مقاتل'}, {})
    """
    bare = bare_word(word)
    plurals, singulars = broken_plurals()
    entries, roots = own_entries(), word_roots()
    out: dict[str, str] = {}
    for plural in plurals.get(bare, ()):
        own = entries.get(plural, frozenset())
        if own - roots.get(bare, frozenset()):
            continue
        out[plural] = plural if own else ""
    own = entries.get(bare, frozenset())
    for singular in singulars.get(bare, ()):
        if own - roots.get(singular, frozenset()):
            continue
        out[singular] = bare if own else ""
    return out


def nisba_stems(stem: str) -> frozenset[str]:
    """The other spellings of a stem ending in ـاء / ـاو (the hamza of a noun in ـاء, or its
    و in the nisba), with and without the ي of ـياء.

    >>> sorted(nisba_stems("كيماو"))
    ['كيماء', 'كيمياء', 'كيمياو']
    >>> sorted(nisba_stems(light_stem("الكيميائية")))
    ['كيماء', 'كيماو', 'كيمياو']
    >>> nisba_stems("سماء")
    frozenset()
    """
    if len(stem) < _MIN_NISBA_STEM or stem[-2:] not in ("اء", "او"):
        return frozenset()
    core = stem[:-1]  # ends in ا
    cores = {core}
    if core.endswith("يا") and len(core) > _MIN_NISBA_STEM - 1:
        cores.add(core[:-2] + "ا")  # كيمياوي → كيماوي
    elif core[-2] not in "اوي":
        cores.add(core[:-1] + "يا")  # كيماوي → كيمياوي
    return frozenset(c + end for c in cores for end in "ءو") - {stem}


@lru_cache(maxsize=50_000)
def candidate_stems(word: str) -> tuple[tuple[str, str], ...]:
    """Extra stem-level forms for a query word: ``(stem, form)`` pairs, where ``form`` is
    the lexicon form that needs evidence (see ``plural_forms``) or ``""``."""
    n = normalize(word)
    own = light_stem(word)
    if not is_arabic_word(n) or not own or _is_name(own):
        return ()
    out: dict[str, str] = {}
    for form, check in sorted(plural_forms(word).items()):
        stem = light_stem(form)
        if stem and stem != own:
            out[stem] = check
    for stem in sorted(nisba_stems(own)):
        out.setdefault(stem, "")
    return tuple(sorted(out.items()))


def stem_variants(word: str, plural_in_use: Callable[[str], bool] | None = None) -> tuple[str, ...]:
    """Extra stem-level forms for a query word (its own stem not included), sorted.

    A broken plural that is also a word of its own (مقاتل) is a variant only if
    ``plural_in_use`` says the index does not use it as a word of its own (the caller
    looks for its sound plural, مقاتلين); without that check it is left out.

    >>> stem_variants("جيش"), stem_variants("المعارك", lambda form: False)
    (('جيوش',), ('معرك',))
    >>> stem_variants("كيماوي")
    ('كيماء', 'كيمياء', 'كيمياو')
    >>> stem_variants("حلب"), stem_variants("ترمب"), stem_variants("مقتل")
    ((), (), ())
    """
    return tuple(
        stem
        for stem, form in candidate_stems(word)
        if not form or (plural_in_use is not None and not plural_in_use(form))
    )


def _is_name(stem: str) -> bool:
    return is_name(stem)
