"""Every interface label has both languages; counts follow Arabic plural rules (Babel)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from web import i18n

WEB = Path(__file__).resolve().parents[1] / "web"
# Labels built from a value in a template (``t('matched_' ~ m)``): every value they take.
DYNAMIC = {
    "matched_": ("exact", "stem", "root", "entity"),  # indexer.search's "matched" levels
    "sort_": ("relevance", "newest", "oldest", "date"),  # indexer.search.SORTS
    "unit_": ("day", "week", "month", "year"),  # indexer.facets units
    "word_": ("and", "or"),  # explain.reading's boolean node types (the echo line)
    "kind_": ("place", "group"),  # a name node's kind in explain.reading
}


def used_keys() -> set[str]:
    """Every label key the templates and views ask for."""
    keys: set[str] = set()
    for path in [*WEB.glob("templates/*.html"), *WEB.glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        keys.update(re.findall(r"""\bt\(\s*['"]([a-z_]*[a-z])['"]\s*[,)]""", text))
        for prefix in re.findall(r"""\bt\(\s*['"]([a-z_]+_)['"]\s*~""", text):
            assert prefix in DYNAMIC, f"{path.name}: t('{prefix}' ~ ...) needs its values in DYNAMIC"
            keys.update(prefix + v for v in DYNAMIC[prefix])
        keys.update(re.findall(r"""count_label\(\s*['"]([a-z_]+)['"]""", text))
    return keys


def test_every_used_label_is_translated() -> None:
    from indexer.facets import UNIT_MAX_DAYS
    from indexer.highlight import LEVELS
    from indexer.search import SORTS

    assert set(DYNAMIC["matched_"]) == {*LEVELS, "entity"}
    assert set(DYNAMIC["sort_"]) == set(SORTS)
    assert set(DYNAMIC["unit_"]) == {u for u, _ in UNIT_MAX_DAYS} | {"year"}
    keys = used_keys()
    assert len(keys) > 60
    plural = {k for k in keys if k in i18n.PLURALS}
    missing = sorted(k for k in keys - plural if k not in i18n.LABELS)
    assert not missing, f"labels without a translation: {missing}"
    for key in keys - plural:
        ar, en = i18n.LABELS[key]
        assert ar.strip() and en.strip(), key
    for key in plural:
        assert set(i18n.PLURALS[key]["ar"]) == {"zero", "one", "two", "few", "many", "other"}
        assert set(i18n.PLURALS[key]["en"]) == {"one", "other"}


def test_kinds_and_levels_of_the_gazetteer_are_translated() -> None:
    from analyzers import gazetteer

    levels = {e.level for e in gazetteer.entities().values()}
    untranslated = sorted(lv for lv in levels if lv not in i18n.KINDS and lv not in i18n.PLACE_LEVELS)
    assert not untranslated


@pytest.mark.parametrize(
    ("n", "ar", "en"),
    [
        (0, "لا نتائج", "0 results"),
        (1, "نتيجة واحدة", "1 result"),
        (2, "نتيجتان", "2 results"),
        (5, "5 نتائج", "5 results"),
        (10, "10 نتائج", "10 results"),
        (11, "11 نتيجة", "11 results"),
        (83, "83 نتيجة", "83 results"),
        (100, "100 نتيجة", "100 results"),
        (103, "103 نتائج", "103 results"),
    ],
)
def test_counts_agree_with_their_noun(n: int, ar: str, en: str) -> None:
    assert i18n.count_label("results", n, "ar").format(n=n) == ar
    assert i18n.count_label("results", n, "en").format(n=n) == en


def test_strict_mode_refuses_a_missing_label(monkeypatch) -> None:
    assert i18n.t("no_such_label", "ar") == "no_such_label"
    monkeypatch.setenv("KASHAF_STRICT_I18N", "1")
    with pytest.raises(i18n.MissingLabel):
        i18n.t("no_such_label", "ar")
