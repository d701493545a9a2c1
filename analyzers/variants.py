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

from functools import lru_cache

from analyzers.lexicon import broken_plurals
from analyzers.normalize import normalize
from analyzers.stem import bare_word, is_arabic_word, is_name, light_stem

_MIN_NISBA_STEM = 5  # سماء, دواء: too short to vary safely


def plural_forms(word: str) -> frozenset[str]:
    """The broken plurals of a singular and the singulars of a broken plural (normalized).

    >>> sorted(plural_forms("والجيش")), sorted(plural_forms("المعارك")), sorted(plural_forms("غارة"))
    (['جيوش'], ['معركه'], [])
    """
    bare = bare_word(word)
    plurals, singulars = broken_plurals()
    return plurals.get(bare, frozenset()) | singulars.get(bare, frozenset())


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
def stem_variants(word: str) -> tuple[str, ...]:
    """Extra stem-level forms for a query word (its own stem not included), sorted.

    >>> stem_variants("جيش"), stem_variants("المعارك")
    (('جيوش',), ('معرك',))
    >>> stem_variants("كيماوي")
    ('كيماء', 'كيمياء', 'كيمياو')
    >>> stem_variants("حلب"), stem_variants("ترمب")
    ((), ())
    """
    n = normalize(word)
    own = light_stem(word)
    if not is_arabic_word(n) or not own or _is_name(own):
        return ()
    out = {light_stem(f) for f in plural_forms(word)}
    out |= nisba_stems(own)
    out.discard(own)
    out.discard("")
    return tuple(sorted(out))


def _is_name(stem: str) -> bool:
    return is_name(stem)
