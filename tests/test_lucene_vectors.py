"""Agreement with Apache Lucene's Arabic analysis test vectors (../shared/arabic/lucene_arabic_cases.tsv).

normalize rows must all match. stem and analyzer rows are counted: what was measured
is a floor, so a regression fails and an improvement passes (then update README's
figures and docs/stemming.md, which lists every disagreement and its reason).
"""

from __future__ import annotations

import csv
import re

import pytest

from analyzers import is_stopword, light_stem, normalize, tokenize
from tests.conftest import shared_file

# Measured on the current stemmer (README: stem 21/24, analyzer 14/17); docs/stemming.md
# explains the 6 differences. Floors, not pins.
STEM_AGREE, STEM_ROWS = 21, 24
ANALYZER_AGREE, ANALYZER_ROWS = 14, 17


def _rows() -> list[dict[str, str]]:
    path = shared_file("arabic/lucene_arabic_cases.tsv")
    with path.open(encoding="utf-8", newline="") as f:
        return [{k: v or "" for k, v in row.items()} for row in csv.DictReader(f, delimiter="\t")]


def _braced_set(test_name: str, label: str) -> set[str] | None:
    """The word set a test name declares, e.g. ``custom stopwords {the,and,a}``."""
    match = re.search(label + r"[^{]*\{([^}]*)\}", test_name)
    return {w.strip() for w in match.group(1).split(",") if w.strip()} if match else None


def lucene_equivalent(row: dict[str, str]) -> str:
    """Our output for a row, with the stopword / stem-exclusion setting its test name describes."""
    name, stage, tokens = row["test_name"], row["stage"], [t.text for t in tokenize(row["input"])]
    if stage == "normalize":
        return " ".join(normalize(t) for t in tokens)
    keep_unstemmed = _braced_set(name, "stem-exclusion") or set()
    if "keyword set" in name:  # the token is marked as a keyword: Lucene leaves it alone
        keep_unstemmed = set(tokens)
    if stage == "analyzer":
        custom_stops = _braced_set(name, "custom stopwords")
        if custom_stops is not None:
            tokens = [t for t in tokens if t.lower() not in custom_stops]
        elif "no stopwords" not in name:
            tokens = [t for t in tokens if not is_stopword(t)]
    return " ".join(normalize(t) if t in keep_unstemmed else light_stem(t) for t in tokens)


def test_every_normalize_row_matches() -> None:
    rows = [r for r in _rows() if r["stage"] == "normalize"]
    assert len(rows) == 16
    wrong = [
        (r["input"], r["expected"], lucene_equivalent(r))
        for r in rows
        if lucene_equivalent(r) != r["expected"]
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("stage", "agree", "total"),
    [("stem", STEM_AGREE, STEM_ROWS), ("analyzer", ANALYZER_AGREE, ANALYZER_ROWS)],
)
def test_agreement_is_at_least_what_was_measured(stage: str, agree: int, total: int) -> None:
    rows = [r for r in _rows() if r["stage"] == stage]
    matched = [r for r in rows if lucene_equivalent(r) == r["expected"]]
    differ = [(r["test_name"], r["expected"], lucene_equivalent(r)) for r in rows if r not in matched]
    print(f"\nlucene {stage}: {len(matched)}/{len(rows)} agree")
    assert len(rows) == total  # the shared file is the one measured
    assert len(matched) >= agree, differ


def test_settings_from_test_names_are_applied() -> None:
    row = {
        "test_name": "TestArabicAnalyzer.testCustomStopwords (custom stopwords {the,and,a})",
        "stage": "analyzer",
        "input": "The quick brown fox.",
    }
    assert lucene_equivalent(row) == "quick brown fox"
