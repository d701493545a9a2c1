"""Tokenizer: offsets on the original text; diacritics and tatweel inside tokens."""

from __future__ import annotations

from analyzers import tokenize


def texts(s: str) -> list[str]:
    return [t.text for t in tokenize(s)]


def test_shadda_does_not_split_a_word() -> None:
    # Whoosh's default tokenizer gives الرق + ة here.
    assert texts("الرقّة") == ["الرقّة"]
    assert texts("مُحَافَظَةِ الرَّقَّةِ") == ["مُحَافَظَةِ", "الرَّقَّةِ"]


def test_tatweel_and_quranic_marks_stay_inside() -> None:
    assert texts("حلـــب") == ["حلـــب"]
    assert texts('لـ"داعش"') == ["لـ", "داعش"]


def test_punctuation_is_not_a_token() -> None:
    s = "قال: «انسحبنا»، ثم؛ هل؟ (نعم) “لا” - 'x' ... !"
    assert texts(s) == ["قال", "انسحبنا", "ثم", "هل", "نعم", "لا", "x"]


def test_arabic_latin_and_digit_runs() -> None:
    assert texts("قصفت F16 مواقع ISIS في 2017م و٢٠١٨") == [
        "قصفت",
        "F16",
        "مواقع",
        "ISIS",
        "في",
        "2017",
        "م",
        "و",
        "٢٠١٨",
    ]


def test_offsets_slice_the_original() -> None:
    s = "وانسحبتْ قوّاتُ النظامِ من «الرقّة»، أمس."
    tokens = tokenize(s)
    assert [s[t.start : t.end] for t in tokens] == [t.text for t in tokens]
    assert tokens[-2].text == "الرقّة"


def test_empty() -> None:
    assert tokenize("") == []
    assert tokenize("  ،؛ . ") == []
