"""What the default result set holds, on a small real index of documents written for the test:
false friends (words sharing only a root or a letter string) stay out, real variants
(clitics, sound and broken plurals, nisba spellings, joined compound names) come in,
names match as names, and the root level is there on request."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analyzers.roots import lexicon_root, root
from indexer.build import build
from indexer.search import search

KASHAF = Path(sys.executable).with_name("kashaf")

DOCS = {
    # false friends
    "massacre": "وقعت مجزرة مروعة في القرية",
    "island": "بثت قناة الجزيرة تقريرا مطولا",
    "siege": "فرض الحصار على المدينة منذ شهور",
    "exclusive": "حصلت الصحيفة على تصريح حصري من الوزير",
    "aid": "وصلت المساعدات إلى المخيم",
    "happiness": "عبر الأطفال عن سعادة كبيرة بالعيد",
    "chemical": "اتهم التقرير النظام باستخدام أسلحة كيميائية",
    "kim": "التقى الرئيس كيم جونغ أون وفدا رسميا",
    "rabbana": "قال المصلون ربنا اغفر لنا",
    "trump": "أعلن ترمب فرض عقوبات جديدة",
    # real variants
    "raids": "شنت الطائرات الغارات على الأحياء",
    "raid": "قتل مدنيون في غارة على السوق",
    "battles": "اندلعت المعارك في الريف الشمالي",
    "battle": "انتهت معركة طويلة حول المطار",
    "army": "انسحب الجيش من المواقع",
    "armies": "تحركت جيوش عدة نحو الحدود",
    "chem-waw": "استخدمت الأسلحة الكيمياوية في الهجوم",
    "chem-short": "اتهامات بهجوم كيماوي جديد",
    # names
    "aleppo": "قصفت الطائرات مدينة حلب صباحا",
    "afrin": "دخلت القوات التركية مدينة عفرين أمس",
    "deir": "اشتباكات عنيفة في دير الزور الليلة",
    "role-visit": "أكد الوزير دور بلاده خلال زيارة إلى دير قديم وقال إن الزور كذب",
    "regime-l": "تعرضت لقوات النظام كمائن متكررة",
    "regime-w": "تقدمت وقوات النظام نحو البلدة",
    "regime-apart": "أعلن النظام أن القوات الروسية وصلت",
    "abd-apart": "قال عبد الرحمن إن الوضع هادئ",
    "abd-joined": "صرح عبدالرحمن للصحفيين أمس",
    # root only
    "withdraw-root": "قالت مصادر إن المقاتلين انسحبوا ليلا",
    "withdraw": "أعلن الجيش انسحاب القوات",
}


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("result_sets")
    src = folder / "docs.jsonl"
    rows = [{"id": k, "title": "", "text": v, "date": "2018-03-01"} for k, v in DOCS.items()]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    build([src], folder / "ix", jobs=1)
    return folder / "ix"


def found(ix: Path, q: str, **kw) -> set[str]:
    return {h["id"] for h in search(ix, q, limit=100, **kw)["hits"]}


@pytest.mark.parametrize(
    ("query", "friend"),
    [("مجزرة", "island"), ("حصار", "exclusive"), ("مساعدات", "happiness"), ("كيميائية", "kim")],
)
def test_false_friends_stay_out(ix: Path, query: str, friend: str) -> None:
    assert friend not in found(ix, query)


def test_a_shared_root_alone_does_not_match_but_is_offered(ix: Path) -> None:
    r = search(ix, "انسحاب")
    assert {h["id"] for h in r["hits"]} == {"withdraw"} and r["total"] == 1
    assert r["broaden"] == {"level": "root", "more": 2}  # انسحبوا and انسحب
    assert found(ix, "انسحاب", level="root") == {"withdraw", "withdraw-root", "army"}
    assert "withdraw-root" in found(ix, "root:انسحاب")  # the per-word operator still broadens


@pytest.mark.parametrize(
    ("query", "both"),
    [
        ("الغارات", {"raids", "raid"}),
        ("غارة", {"raids", "raid"}),
        ("المعارك", {"battles", "battle"}),
        ("معركة", {"battles", "battle"}),
        ("جيش", {"army", "armies"}),
        ("جيوش", {"army", "armies"}),
    ],
)
def test_real_variants_come_in(ix: Path, query: str, both: set[str]) -> None:
    assert found(ix, query) >= both


@pytest.mark.parametrize("query", ["كيماوي", "كيميائية", "الكيمياوية"])
def test_nisba_spellings_meet(ix: Path, query: str) -> None:
    assert found(ix, query) >= {"chemical", "chem-waw", "chem-short"}


def test_loanwords_and_names_have_no_root(ix: Path) -> None:
    # root() reads ترمب as ربب; the root level keeps it whole, so even broadened it stays apart.
    assert root("ترمب") == "ربب" and lexicon_root("ترمب") == "ترمب"
    assert lexicon_root("كيميائية") != lexicon_root("كيم")
    assert "rabbana" not in found(ix, "ترمب", level="root")
    assert "kim" not in found(ix, "كيميائية", level="root")
    assert lexicon_root("المقاتلين") == "قتل"  # a word the lexicon knows keeps its root


def test_a_place_name_matches_the_place_not_the_places_under_it(ix: Path) -> None:
    assert found(ix, "حلب") == {"aleppo"}
    assert {"aleppo", "afrin"} <= found(ix, "place:حلب")  # the filter keeps the hierarchy


def test_a_multiword_name_never_matches_as_separate_words(ix: Path) -> None:
    assert found(ix, "دير الزور") == {"deir"}
    assert found(ix, "دير الزور", level="root") == {"deir"}


def test_phrases_and_names_tolerate_clitics(ix: Path) -> None:
    assert found(ix, '"قوات النظام"') == {"regime-l", "regime-w"}
    assert found(ix, "قوات النظام") == {"regime-l", "regime-w"}  # a known group: as the name
    snippet = next(h["snippet"] for h in search(ix, '"قوات النظام"')["hits"] if h["id"] == "regime-l")
    assert "<mark>لقوات</mark> <mark>النظام</mark>" in snippet


def test_spacing_variants_of_compound_names_meet(ix: Path) -> None:
    both = {"abd-apart", "abd-joined"}
    assert found(ix, "عبد الرحمن") == both
    assert found(ix, '"عبد الرحمن"') == both
    assert found(ix, "عبدالرحمن") == both


def test_cli_level_flag(ix: Path) -> None:
    def run(*extra: str) -> dict:
        out = subprocess.run(
            [str(KASHAF), "search", "انسحاب", "--index", str(ix), "--json", *extra],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    assert run()["total"] == 1 and run()["broaden"]["more"] == 2
    assert run("--level", "root")["total"] == 3
    text = subprocess.run(
        [str(KASHAF), "search", "انسحاب", "--index", str(ix)], capture_output=True, text=True, check=True
    ).stdout
    assert "--level root would add 2 more" in text
