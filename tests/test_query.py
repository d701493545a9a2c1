"""The query parser alone: operators, names, filters, lenient repairs and clear errors."""

from __future__ import annotations

import pytest

from indexer.query import Bool, Name, Phrase, QueryError, Word, parse


def test_words_operators_and_levels() -> None:
    node = parse('=قوات جذر:انسحاب root:سحب "في حلب"').node
    assert node == Bool(
        "and",
        (Word("قوات", "exact"), Word("انسحاب", "root"), Word("سحب", "root"), Phrase(("في", "حلب"))),
    )


def test_explicit_and_binds_tighter_than_juxtaposition_under_or() -> None:
    node = parse("a AND b c", "or").node
    assert node == Bool("or", (Bool("and", (Word("a"), Word("b"))), Word("c")))
    assert parse("a AND b c", "and").node == Bool("and", (Word("a"), Word("b"), Word("c")))


def test_exclusions_apply_whatever_the_op() -> None:
    for op in ("and", "or"):
        node = parse("a b -c NOT d", op).node
        assert [w.text for w in node.excluded] == ["c", "d"]


def test_multiword_names_become_entities() -> None:
    node = parse("هجوم تنظيم الدولة", "or").node
    assert node.children[1] == Name((Word("تنظيم"), Word("الدولة")), ("isis",), "group")


def test_stopwords_and_question_words_are_ignored() -> None:
    q = parse("متى انسحبت القوات من الرقة؟")
    assert q.ignored == ["متى", "من"]
    only = parse("من هو")
    assert only.node is None and only.notes


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ('"الرقة', "quote"),
        ("(الرقة", "'('"),
        ("الرقة)", "')'"),
        ("الرقة AND", "AND"),
        ("NOT", "NOT"),
    ],
)
def test_repairs_are_noted(text: str, note: str) -> None:
    q = parse(text)
    assert any(note in n for n in q.notes)


def test_filters_take_ids_or_names_and_dates() -> None:
    f = parse('place:"دير الزور" group:داعش source:BBC from:2017-02 to:2017-02').filters
    assert (f.place, f.group, f.source) == (["sy-deirezzor"], ["isis"], ["BBC"])
    assert (str(f.date_from), str(f.date_to)) == ("2017-02-01", "2017-02-28")


@pytest.mark.parametrize("text", ["place:", "date:2017-02-30", "from:2017/02", "place:nowhere", "x" * 1001])
def test_unreadable_queries(text: str) -> None:
    with pytest.raises(QueryError):
        parse(text)
