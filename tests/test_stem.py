"""Light stemmer: the forms reporters write for one word meet; unrelated words stay apart."""

from __future__ import annotations

import pytest
import snowballstemmer

from analyzers.stem import light_stem, register_known_words

# Each line: surface forms (clitics, article, plural, construct, feminine) of one word.
SAME_STEM = [
    "قوات القوات والقوات بالقوات للقوات",
    "غارات الغارات وبالغارات غارة الغارة",
    "مقاتلين المقاتلين مقاتلو ومقاتلي المقاتلون",
    "الرقة الرقه بالرقة والرقة للرقة",
    "المدنيين مدنيين المدنيون للمدنيين",
    "انسحاب الانسحاب وانسحاب بانسحاب",
    "الحسكة بالحسكة والحسكة",
    # from the seed articles
    "الاشتباكات اشتباكات والاشتباكات",
    "المعارك معارك ومعارك والمعارك",
    "السيطرة سيطرة بالسيطرة والسيطرة لسيطرة",
    "مقتل ومقتل بمقتل لمقتل",
    "هجوم الهجوم هجوما لهجوم للهجوم",
    "التنظيم تنظيم لتنظيم للتنظيم",
    "النظام نظام للنظام",
    "المسلحين والمسلحين مسلحين مسلحي",
    "إدلب وإدلب لإدلب",
    "ريف الريف وريف بالريف",
    "المتطرفين المتطرف المتطرفون",
    "الكتائب كتائب",
    "اللواء لواء بلواء",
    "المناطق مناطق ومناطق",
    "قواته قواتهم قواتنا",
    "مقاتليها مقاتليه مقاتل",
    "اللجنة لجنة للجنة",
    "لبنان للبنان ولبنان",
]


@pytest.mark.parametrize("line", SAME_STEM)
def test_forms_of_one_word_share_a_stem(line: str) -> None:
    stems = {w: light_stem(w) for w in line.split()}
    assert len(set(stems.values())) == 1, stems


def test_diacritics_and_tatweel_do_not_change_the_stem() -> None:
    assert light_stem("الغاراتِ") == light_stem("الغـــارات") == light_stem("غارات")
    assert light_stem("بالرَّقَّةِ") == light_stem("الرقة")


def test_stock_snowball_splits_what_we_join() -> None:
    # The reason this module exists: bare Snowball gives three stems here.
    snow = snowballstemmer.stemmer("arabic")
    assert len({snow.stemWord(w) for w in ("قوات", "القوات", "والقوات")}) == 3
    assert len({light_stem(w) for w in ("قوات", "القوات", "والقوات")}) == 1


@pytest.mark.parametrize(
    "word", ["وزير", "وقت", "ولاية", "وكالة", "بيان", "كتاب", "لجنة", "لبنان", "بلدة", "واشنطن", "فريق"]
)
def test_initial_letter_of_a_word_is_not_a_clitic(word: str) -> None:
    # Stock Snowball cuts وزير to زير and بيان to يان.
    assert light_stem(word)[0] == word[0]


@pytest.mark.parametrize(
    ("with_clitic", "word"),
    [
        ("وانسحاب", "انسحاب"),
        ("وقوات", "قوات"),
        ("بالرقة", "الرقة"),
        ("لحلب", "حلب"),
        ("ووزير", "وزير"),
        ("لبيان", "بيان"),
        ("بالرياض", "الرياض"),
        ("الالغام", "الغام"),
    ],
)
def test_clitic_before_a_known_word_is_stripped(with_clitic: str, word: str) -> None:
    assert light_stem(with_clitic) == light_stem(word)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("وزير", "زير"),
        ("بيان", "يان"),
        ("الحديدة", "الحديد"),  # Hodeidah is not iron
        ("السارين", "سار"),  # sarin gas is not "walked"
        ("لبنان", "لبن"),
        ("سكان", "سك"),
        ("بات", "ب"),
        ("مدينة", "مدني"),
        ("المدنيين", "المدن"),  # civilians are not cities
        ("السنة", "السن"),  # year is not age
        ("المرة", "مر"),
        ("الرياضة", "الرياض"),  # sport is not Riyadh
        ("طالبان", "طالب"),  # the Taliban are not a student
        ("الجمعية", "الجمعة"),  # association is not Friday
        ("الغام", "غام"),  # mines: the ال is part of the word
    ],
)
def test_unrelated_words_stay_apart(a: str, b: str) -> None:
    assert light_stem(a) != light_stem(b)


def test_unknown_name_keeps_its_first_letter_until_registered() -> None:
    assert light_stem("وارسو").startswith("وار")  # Warsaw: و is not a conjunction
    assert light_stem("بوارسو") != light_stem("وارسو")
    register_known_words(["وارسو"])
    assert light_stem("بوارسو") == light_stem("وارسو") == "وارسو"


def test_registered_name_with_article() -> None:
    register_known_words(["الزبداني"])
    assert light_stem("الزبداني") == light_stem("بالزبداني") == light_stem("والزبداني") == "زبداني"


def test_non_arabic_and_empty() -> None:
    assert light_stem("") == ""
    assert light_stem("ISIS") == "isis"
    assert light_stem("2017") == "2017"
    assert light_stem("١٢٣") == "123"


def test_short_words_are_not_emptied() -> None:
    for word in ("في", "و", "ال", "الو", "من"):
        assert light_stem(word)
