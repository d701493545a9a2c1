"""The fused indexing analysis gives exactly the postings of the fields' own analyzers."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest

from analyzers import tagger
from indexer import dedupe
from indexer.entities import entities_for
from indexer.postings import analyze_text, share_words, text_postings
from indexer.schema import LEVELS, analyze_document, schema
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


def test_what_analysis_hands_the_tagger_and_the_signature() -> None:
    """The analysis' name forms and word hashes (kept in its word table) give the mentions and
    story-grouping signatures that the tagger's and dedupe's own paths give."""
    path = shared_file("corpus/ant_multisource_v2.1.jsonl.gz")
    named = signed = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, 0, 3000, 60):
            doc = json.loads(line)
            title, body = doc["title"] or "", doc["text"]
            a = analyze_text(body)
            assert a.forms == [tagger._name_forms(n) for n in a.norms]
            assert a.hashes.tolist() == dedupe.word_hashes(a.norms).tolist()
            d = analyze_document(title, body)
            places, groups, mentions = entities_for(title, body)
            assert d.mentions == mentions
            for field, ids in (
                ("place", places),
                ("group", groups),
                ("place_named", sorted({m.entity_id for m in mentions if m.kind == "place"})),
                ("group_named", sorted({m.entity_id for m in mentions if m.kind == "group"})),
            ):  # the keyword fields as their own analyzer and format make them
                assert d.postings.get(field, []) == (
                    list(schema()[field].index(",".join(ids))) if ids else []
                )
            sig = dedupe.doc_signature(title, body, d.words, d.hashes)
            assert sig == dedupe.doc_signature(title, body)
            named += bool(d.mentions)
            signed += sig is not None
    assert named >= 30 and signed >= 40  # of 50: not an empty comparison
    # A body too short to sign on its own is signed with its title; too short with it, not at all.
    title, body = "قصفت الطائرات الروسية مدينة إدلب أمس", "وقتل خمسة مدنيين"
    d = analyze_document(title, body)
    sig = dedupe.doc_signature(title, body, d.words, d.hashes)
    assert sig is not None and sig == dedupe.doc_signature(title, body)
    assert dedupe.doc_signature("", body, *analyze_document("", body)[2:]) is None


def test_new_words_shared_out_whole() -> None:
    words = sorted({w for text in AWKWARD[:5] for w in text.split()} | {"الغارات", "بالغارات", "غارة"})
    parts = share_words(words, 3)
    assert sorted(w for p in parts for w in p) == words
    assert max(map(len, parts)) - min(map(len, parts)) <= 2
    assert any({"الغارات", "بالغارات", "غارة"} <= set(p) for p in parts)  # one stem, one part


def test_the_numbering_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that only analyzes (the Sphinx rows, a long-lived worker) numbers new terms
    up to the bound and then starts a fresh numbering: its memory stays bounded."""
    from indexer import postings

    monkeypatch.setattr(postings, "_TERMS_MAX", 2_000)
    path = shared_file("corpus/ant_multisource_v2.1.jsonl.gz")
    seen = set()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, 200):
            doc = json.loads(line)
            a = analyze_text(doc["text"])
            seen.add(id(a.exact.space))
            assert postings._NOW.size() <= 2_000 + 3 * len(a.norms)  # the bound, plus one text's
            assert sorted(a.exact) == reference("body_exact", doc["text"])  # right in any numbering
    assert len(seen) > 5  # numbered anew again and again
