"""Root extraction (analyzers/roots.py): what a searcher sees at the root level."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers import roots
from analyzers.lexicon import fold_root
from analyzers.roots import protect, root
from tests.conftest import ROOT, shared_file

# Measured with `.venv/bin/python benchmarks/roots.py`: strict accuracy 0.861 on roots_dev.tsv;
# here (no protected names) 8,335 of 9,682 = 0.8609. The floor sits 18 words under it: the
# earlier 0.851 let through changes costing 60 words (benchmarks/mutation.py), and it leaves
# room for reviewed data edits (other branches' lexicon and gazetteer work); improvements pass.
DEV_ACCURACY_FLOOR = 0.859


@pytest.fixture(autouse=True)
def _no_protected_names():
    # Start from no protected names, and give back the gazetteer's afterwards.
    saved = set(roots._protected_bare), set(roots._protected_article)
    roots._clear_protected()
    yield
    roots._clear_protected()
    roots._protected_bare.update(saved[0])
    roots._protected_article.update(saved[1])


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["وانسحبت", "المنسحبين", "انسحاب", "انسحبوا"], "سحب"),
        (["مقاتلين", "قتلى", "القتال", "والقتلى", "قتلوا", "مقتل"], "قتل"),
        (["استهدف"], "هدف"),
        (["الغارات", "غارة"], "غور"),
        (["بالقصف", "قصفت"], "قصف"),
        (["الطائرات"], "طير"),
        (["مسلحين", "المسلحون"], "سلح"),
        (["اشتباكات"], "شبك"),
        (["قذائف"], "قذف"),
        (["جرحى"], "جرح"),
        (["معارك"], "عرك"),
        (["النازحين", "نزوح"], "نزح"),
        (["للقوات"], "قوي"),
        (["مدينة", "المدن"], "مدن"),
        (["استعادة"], "عود"),
        (["مواقع"], "وقع"),
        (["انفجار", "تفجير"], "فجر"),
        (["حصار"], "حصر"),
        (["المعارضة"], "عرض"),
        (["اللاجئين"], "لجء"),
    ],
)
def test_conflict_news_words_share_their_root(words: list[str], expected: str) -> None:
    assert {w: root(w) for w in words} == dict.fromkeys(words, expected)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("قال", "قول"),  # hollow: the long vowel is the middle radical و
        ("يقول", "قول"),
        ("رمى", "رمي"),  # defective: final ى is the radical ي
        ("ردّ", "ردد"),  # doubled
        ("يعد", "وعد"),  # assimilated: the imperfect drops و
        ("أخذ", "ءخذ"),  # a written hamza is a radical, in the root alphabet
        ("أعلن", "علن"),  # ... but the أ of form IV أفعل is not
        ("وأكد", "ءكد"),
    ],
)
def test_weak_doubled_and_hamza_roots(word: str, expected: str) -> None:
    assert root(word) == expected


def test_diacritics_and_tatweel_do_not_change_the_root() -> None:
    assert root("المُقاتِلِين") == root("المقـــاتلين") == "قتل"


@pytest.mark.parametrize(
    ("word", "expected"),
    [("", ""), ("2017", "2017"), ("٢٠١٧", "2017"), ("ISIS", "isis"), ("في", "في"), ("الذين", "الذين")],
)
def test_what_is_not_rooted_comes_back_normalized(word: str, expected: str) -> None:
    assert root(word) == expected


def test_protected_names_keep_their_letters_without_clitics() -> None:
    assert root("بالرقة") == "رقق"  # unprotected, the name is rooted like any word
    protect(["الرقّة", "منبج", "سوريا"])
    assert root("بالرقة") == root("الرقة") == root("والرقة") == root("للرقة") == "رقه"
    assert root("منبج") == root("ومنبج") == root("بمنبج") == "منبج"
    assert root("سوريا") == root("لسوريا") == "سوريا"
    # only names registered with the article answer without it after a clitic
    assert root("ورقة") != "رقه"


def test_protected_name_starting_with_a_clitic_letter_is_kept_whole() -> None:
    protect(["لبنان"])
    assert root("لبنان") == root("ولبنان") == root("بلبنان") == "لبنان"


def test_protect_clears_the_cache() -> None:
    before = root("الرقة")
    protect(["الرقة"])
    assert (before, root("الرقة")) == ("رقق", "رقه")


_SAMPLE = ["وانسحبت", "الغارات", "قال", "مدينة", "يعد", "استفتيناهم", "المستقيم", "والصلاة", "بالإيمان"]


def test_same_roots_under_any_hash_seed() -> None:
    code = f"import json; from analyzers.roots import root; print(json.dumps([root(w) for w in {_SAMPLE!r}]))"
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        outputs.add(tuple(json.loads(done.stdout)))
    assert len(outputs) == 1


def test_accuracy_on_the_dev_gold_set() -> None:
    path: Path = shared_file("arabic/roots_dev.tsv")
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    right = sum(fold_root(root(r["word"])) == fold_root(r["root"]) for r in rows)
    assert right / len(rows) >= DEV_ACCURACY_FLOOR
