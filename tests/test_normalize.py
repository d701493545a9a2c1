"""Normalization contract (docs/analysis.md), including every Lucene normalize vector."""

from __future__ import annotations

import csv

import pytest

from analyzers import normalize
from tests.conftest import shared_file


def lucene_rows(stage: str) -> list[dict[str, str]]:
    with shared_file("arabic/lucene_arabic_cases.tsv").open(encoding="utf-8") as f:
        return [row for row in csv.DictReader(f, delimiter="\t") if row["stage"] == stage]


def test_every_lucene_normalize_vector() -> None:
    rows = lucene_rows("normalize")
    assert len(rows) == 16
    wrong = [(r["test_name"], normalize(r["input"]), r["expected"]) for r in rows]
    wrong = [w for w in wrong if w[1] != w[2]]
    assert wrong == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("الرَّقَّةُ", "الرقه"),  # harakat and shadda
        ("ٱلْقُرْآنِ", "القران"),  # alef wasla, madda, sukun
        ("عَلَىٰ", "علي"),  # superscript alef U+0670, alef maqsura -> ي
        ("ذَٰلِكَ", "ذلك"),
        ("إدلب", "ادلب"),
        ("أحمد", "احمد"),  # not ءحمد, as pyarabic's normalize_hamza() would give
        ("مسؤول", "مسءول"),  # hamza on waw and on yeh fold to one spelling ...
        ("مسئول", "مسءول"),  # ... so both accepted spellings meet
        ("شئون", normalize("شؤون")),
        ("حلـــب", "حلب"),  # tatweel
        ("\ufefb", "لا"),  # lam-alef ligature
        ("\ufe8d\ufedf\ufeae\ufed7\ufe94", "الرقه"),  # presentation forms
        ("٢٠١٧", "2017"),  # Arabic-Indic digits
        ("۱۳۹۵", "1395"),  # Persian digits
        ("کرمانشاہ", "كرمانشاه"),  # Persian kaf and Urdu heh goal
        ("ی", "ي"),
        ("ے", "ي"),
        ("ۀ", "ه"),
        ("الرقة\u200f", "الرقه"),  # RLM
        ("حل\u200cب", "حلب"),  # zero-width non-joiner
        ("\u202bحلب\u202c", "حلب"),  # bidi embedding
        ("\u2067حلب\u2069", "حلب"),  # bidi isolate
        ("حلب\u061c", "حلب"),  # Arabic letter mark
        ("ISIS", "isis"),
        ("بِسْمِ ۖ اللَّهِ", "بسم  الله"),  # Quranic mark U+06D6 removed
        ("", ""),
    ],
)
def test_normalization_contract(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_long_text_is_normalized_like_short_text() -> None:
    text = "انسحبت قوات النظام من الرقّة " * 50
    assert normalize(text) == " ".join(normalize(w) for w in text.split()) + " "
