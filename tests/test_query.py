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


def test_the_issue_example_reads_as_written() -> None:
    q = parse('قصف NOT تركيا "قوات النظام" place:sy')
    assert q.node == Bool(
        "and",
        (Word("قصف"), Phrase(("قوات", "النظام"))),
        (Name((Word("تركيا"),), ("tr",), "place"),),
    )
    assert (q.filters.place, q.ignored, q.notes) == (["sy"], [], [])


def test_operator_words_in_any_case_and_arabic_or() -> None:
    assert parse("قصف أو غارة").node == Bool("or", (Word("قصف"), Word("غارة")))
    assert parse("قصف او غارة").node == Bool("or", (Word("قصف"), Word("غارة")))
    assert parse("قصف or غارة").node == parse("قصف OR غارة").node
    assert parse("a and b c", "or").node == Bool("or", (Bool("and", (Word("a"), Word("b"))), Word("c")))
    assert parse("not a b").node == Bool("and", (Word("b"),), (Word("a"),))
    assert parse('"قصف أو غارة"').node == Phrase(("قصف", "أو", "غارة"))  # quoted: a word


def test_title_and_prefix_words() -> None:
    assert parse("title:انسحاب قوات").node == Bool("and", (Word("انسحاب", "all", "title"), Word("قوات")))
    assert parse('عنوان:"قوات النظام"').node == Phrase(("قوات", "النظام"), "title")
    assert parse("title:(=a OR b)").node == Bool(
        "or", (Word("a", "exact", "title"), Word("b", "all", "title"))
    )
    assert parse("انسحب* الرقة").node.children[0] == Word("انسحب", "prefix")
    assert repr(Word("انسحب", "prefix", "title")) == "Word(text='انسحب', level='prefix', scope='title')"
    short = parse("ا* قصف")
    assert short.node == Bool("and", (Word("ا"), Word("قصف")))
    assert short.notes == ["ا*: a prefix needs at least 2 letters; searched as a word"]
    with pytest.raises(QueryError):
        parse("title:")


def test_place_and_place_is_a_clause_of_its_own() -> None:
    q = parse("place:حلب AND place:إدلب")
    assert (q.node, q.filters.place, q.filters.required, q.notes) == (
        None,
        ["sy-aleppo"],
        [("place", ["sy-idlib"])],
        [],
    )
    for text in ("place:حلب place:إدلب", "place:حلب OR place:إدلب"):
        f = parse(text).filters
        assert (f.place, f.required) == (["sy-aleppo", "sy-idlib"], [])
    q = parse("قصف AND place:حلب")
    assert (q.node, q.filters.place, q.notes) == (Word("قصف"), ["sy-aleppo"], [])
    assert parse("group:داعش AND group:hts").filters.required == [("group", ["hts"])]


@pytest.mark.parametrize(
    ("text", "ignored", "notes"),
    [
        ("ليس قصف", ["ليس"], []),
        ("قصف OR", [], ["ignored a trailing OR"]),
        ("قصف أو", [], ["ignored a trailing أو"]),
        ("قصف not", [], ["ignored a not with nothing after it"]),
        ("قصف~", [], ["ignored '~' in 'قصف~': not part of the query language"]),
        (
            "*قصف",
            [],
            ["ignored '*' in '*قصف': not part of the query language (a * goes at the end of a word: انسحب*)"],
        ),
        ("+قصف", [], ["ignored the '+' of '+قصف': every word is required already"]),
        (
            "author:x",
            [],
            [
                "unknown field 'author': 'author:x' searched as words "
                "(fields: date, from, group, place, root, source, title, to)"
            ],
        ),
        ("-place:sy قصف", [], ["ignored '-place:sy': a filter cannot be excluded"]),
        ("root:انسحب*", [], ["ignored the '*' of 'انسحب*': a root: word has no prefix search"]),
        ("=انسحب*", [], ["ignored the '*' of 'انسحب*': an exact (=) word has no prefix search"]),
        ('"انسحب* قوات"', [], ["ignored the '*' in \"انسحب* قوات\": a phrase has no prefix search"]),
    ],
)
def test_nothing_is_dropped_silently(text: str, ignored: list[str], notes: list[str]) -> None:
    q = parse(text)
    assert (q.ignored, q.notes) == (ignored, notes)
