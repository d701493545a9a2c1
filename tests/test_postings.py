"""The fused indexing analysis gives exactly the postings of the fields' own analyzers."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest

from indexer.postings import text_postings
from indexer.schema import LEVELS, schema
from tests.conftest import shared_file

AWKWARD = [
    "",
    "،؛؟ ... !",
    "وانسحبتْ قوّاتُ النظامِ من «الرقّة»، أمس. من من من",
    'قصفت F16 مواقع ISIS في 2017م و٢٠١٨ لـ"داعش" بـ«قسد» حلـــب ﻻ',
    "في في الذين ما",
    "قصف " * 17_000 + "حلب والرقة قصف",  # 17,003 tokens: values from the table of single ones
    "قصف حلب " * 33_000 + "الرقة",  # 66,001 tokens: positions past 65,535 (4-byte ints), no table
]


def reference(field: str, text: str) -> list[tuple]:
    return sorted(schema()[field].index(text)) if text else []


def check(text: str) -> None:
    for level, postings in zip(LEVELS, text_postings(text), strict=True):
        assert sorted(postings) == reference(f"body_{level}", text), (level, text[:80])


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_texts(text: str) -> None:
    check(text)


def test_real_articles() -> None:
    path = shared_file("corpus/ant_multisource_v2.1.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, 0, 3000, 60):  # 50 articles across sources
            doc = json.loads(line)
            check(doc["title"])
            check(doc["text"])
