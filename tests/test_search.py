"""The search core on a small real index: levels, operators, filters, aliases, explain,
did-you-mean, ``matched`` and snippets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.build import build
from indexer.search import QueryError, search

DOCS = [
    # Three levels of one word, otherwise alike: exact انسحاب, stem (الانسحاب), root only (وانسحبت).
    {"id": "lvl-exact", "title": "خبر", "text": "أعلن القائد انسحاب القوات أمس", "date": "2017-05-02"},
    {"id": "lvl-stem", "title": "خبر", "text": "أعلن القائد الانسحاب للقوات أمس", "date": "2017-05-03"},
    {"id": "lvl-root", "title": "خبر", "text": "أعلن القائد وانسحبت القوات أمس", "date": "2017-05-04"},
    {
        "id": "alias",
        "title": "هجوم في الشرق",
        "text": "هاجم عناصر تنظيم الدولة مواقع قرب مدينة البوكمال فجر اليوم",
        "date": "2017-06-10",
        "source": "BBC",
    },
    {
        "id": "raqqa",
        "title": "غارات جديدة",
        "text": "قصفت الطائرات مدينة الرَّقّـــة وبالرقة سقط قتلى <b>مدنيون</b> & جرحى",
        "date": "2017-08-15",
        "source": "CNN",
    },
    {
        "id": "nusra",
        "title": "معارك إدلب",
        "text": "اشتبك مقاتلو جبهة النصرة مع فصائل أخرى في مدينة إدلب",
        "date": "2015-03-01",
        "source": "BBC",
    },
    {
        "id": "hts",
        "title": "سيطرة على إدلب",
        "text": "أعلنت هيئة تحرير الشام سيطرتها على مدينة إدلب بعد معارك",
        "date": "2017-07-20",
        "source": "BBC",
    },
    {
        "id": "aleppo",
        "title": "قوات النظام في حلب",
        "text": "تقدمت قوات النظام في حلب الشرقية وقالت مصادر إن في حلب معارك عنيفة",
        "date": "2016-12-01",
        "source": "CNN",
    },
    {
        # A third source, so that a filter on the other two has something to exclude.
        "id": "reuters",
        "title": "هدوء حذر",
        "text": "قالت مصادر محلية إن الهدوء عاد إلى ريف حماة",
        "date": "2016-03-03",
        "source": "Reuters",
    },
]


def build_corpus(folder: Path) -> Path:
    """The documents above, indexed for real (the tagger fills place/group)."""
    src = folder / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in DOCS), "utf-8")
    build([src], folder / "ix", jobs=1)
    return folder / "ix"


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("search"))


def ids(ix: Path, q: str, op: str = "and", **kw) -> list[str]:
    return [h["id"] for h in search(ix, q, op=op, limit=50, **kw)["hits"]]


# --- levels ----------------------------------------------------------------------------


def test_exact_outranks_stem_outranks_root(ix: Path) -> None:
    r = search(ix, "انسحاب", limit=10, level="root")
    got = [h["id"] for h in r["hits"] if h["id"].startswith("lvl-")]
    assert got == ["lvl-exact", "lvl-stem", "lvl-root"]
    matched = {h["id"]: h["matched"] for h in r["hits"]}
    assert matched["lvl-exact"] == ["exact"]
    assert matched["lvl-stem"] == ["stem"]
    assert matched["lvl-root"] == ["root"]


def test_normalized_spelling_and_clitics_match(ix: Path) -> None:
    assert "raqqa" in ids(ix, "الرقه")  # finds الرَّقّـــة and وبالرقة
    assert set(ids(ix, "انسحاب")) >= {"lvl-exact", "lvl-stem"}


def test_root_only_match_is_left_out_of_the_default_set_and_offered(ix: Path) -> None:
    # وانسحبت shares only the root of انسحاب: not in the total, the facets or the hits,
    # and the page can offer it ("broaden to the root: +1").
    r = search(ix, "انسحاب", limit=10)
    assert {h["id"] for h in r["hits"]} == {"lvl-exact", "lvl-stem"} and r["total"] == 2
    assert sum(c["count"] for c in r["facets"]["date"]) == 2
    assert r["broaden"] == {"level": "root", "more": 1}
    wide = search(ix, "انسحاب", limit=10, level="root")
    assert wide["total"] == 3 and wide["broaden"] is None
    with pytest.raises(QueryError):
        search(ix, "انسحاب", level="lemma")


def test_exact_operator_and_root_operator(ix: Path) -> None:
    assert ids(ix, "=انسحاب") == ["lvl-exact"]
    assert set(ids(ix, "جذر:انسحاب")) == {"lvl-exact", "lvl-stem", "lvl-root"}
    assert set(ids(ix, "root:سحب")) == {"lvl-exact", "lvl-stem", "lvl-root"}
    r = search(ix, "root:سحب")
    assert (
        r["explain"]["words"][0] | {"level": "root", "exact": None, "stem": None} == r["explain"]["words"][0]
    )


def test_boolean_operators_and_parentheses(ix: Path) -> None:
    assert set(ids(ix, "إدلب")) == {"nusra", "hts"}
    assert ids(ix, "إدلب -النصرة") == ["hts"]
    assert ids(ix, "إدلب NOT النصرة") == ["hts"]
    assert set(ids(ix, "طائرات OR حلب")) == {"raqqa", "aleppo"}
    assert ids(ix, "طائرات AND حلب") == []
    assert set(ids(ix, "(طائرات OR حلب) AND مدينة")) == {"raqqa"}
    # op=or ranks by any word; op=and needs all.
    assert ids(ix, "طائرات حلب") == []
    assert set(ids(ix, "طائرات حلب", op="or")) == {"raqqa", "aleppo"}


def test_phrase_keeps_order_and_stopwords(ix: Path) -> None:
    assert ids(ix, '"في حلب"') == ["aleppo"]
    assert ids(ix, '"حلب في"') == []
    assert ids(ix, '"قوات النظام في حلب"') == ["aleppo"]


# --- entities --------------------------------------------------------------------------


def test_a_group_name_finds_its_aliases(ix: Path) -> None:
    # The report says تنظيم الدولة, never داعش.
    r = search(ix, "داعش")
    assert [h["id"] for h in r["hits"]] == ["alias"]
    word = r["explain"]["words"][0]
    assert [e["id"] for e in word["entities"]] == ["isis"]
    assert "entity" in r["hits"][0]["matched"]
    assert "<mark>تنظيم</mark> <mark>الدولة</mark>" in r["hits"][0]["snippet"]


def test_multiword_name_is_one_unit(ix: Path) -> None:
    r = search(ix, "هيئة تحرير الشام", op="or")
    assert r["explain"]["words"][0]["name"] == "هيئة تحرير الشام"
    assert ids(ix, "هيئة تحرير الشام")[0] == "hts"


# --- filters ---------------------------------------------------------------------------


def test_place_filter_includes_subplaces(ix: Path) -> None:
    # البوكمال lies in دير الزور governorate, in Syria.
    assert ids(ix, "", place=["sy-deirezzor"]) == ["alias"]
    assert ids(ix, "place:sy-deirezzor") == ["alias"]
    assert ids(ix, 'place:"دير الزور"') == ["alias"]
    assert "alias" in ids(ix, "", place="sy")


def test_group_filter_with_successors(ix: Path) -> None:
    assert ids(ix, "إدلب", group=["nusra"]) == ["nusra"]
    assert set(ids(ix, "إدلب", group=["nusra"], with_successors=True)) == {"nusra", "hts"}
    assert ids(ix, "group:hts") == ["hts"]


def test_source_and_date_filters_and_date_sort(ix: Path) -> None:
    assert set(ids(ix, "إدلب", source=["BBC"])) == {"nusra", "hts"}
    assert ids(ix, "source:CNN مدينة") == ["raqqa"]
    assert ids(ix, "إدلب date:2017") == ["hts"]
    assert ids(ix, "إدلب", date_from="2015-03", date_to="2015-03-01") == ["nusra"]
    assert ids(ix, "انسحاب from:2017-05-03 to:2017-05-03") == ["lvl-stem"]
    newest = ids(ix, "انسحاب", sort="date", level="root")
    assert newest == ["lvl-root", "lvl-stem", "lvl-exact"]
    # معارك: in nusra's title (ranked first), in the bodies of hts and aleppo.
    assert ids(ix, "معارك", sort="date") == ["hts", "aleppo", "nusra"]


def test_repeated_source_filter_takes_any_of_them_and_nothing_else(ix: Path) -> None:
    # مصادر: in aleppo (CNN) and reuters (Reuters); the BBC documents do not say it.
    assert set(ids(ix, "مصادر")) == {"aleppo", "reuters"}
    assert ids(ix, "مصادر", source=["BBC", "CNN"]) == ["aleppo"]
    assert ids(ix, "مصادر", source=["Reuters"]) == ["reuters"]
    assert set(ids(ix, "مصادر", source=["CNN", "Reuters"])) == {"aleppo", "reuters"}
    assert set(ids(ix, "", source=["BBC", "CNN"])) == {"alias", "raqqa", "nusra", "hts", "aleppo"}
    assert ids(ix, "source:BBC source:CNN مصادر") == ["aleppo"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # README's Arabic names of the query fields, each written from the documents above.
        ("مكان:sy-deirezzor", {"alias"}),
        ('مكان:"دير الزور"', {"alias"}),
        ("جماعة:hts", {"hts"}),
        ("إدلب جماعة:nusra", {"nusra"}),
        ("مصدر:CNN مدينة", {"raqqa"}),
        ("مصدر:Reuters", {"reuters"}),
        ("إدلب تاريخ:2017", {"hts"}),
        ("معارك تاريخ:2015..2016", {"nusra", "aleppo"}),
    ],
)
def test_arabic_field_names(ix: Path, query: str, expected: set[str]) -> None:
    assert set(ids(ix, query)) == expected


@pytest.mark.parametrize(
    "query",
    ["date:2017-13", "from:yesterday", "place:atlantis", "group:nobody", "date:2018..2017", "x" * 5000],
)
def test_unreadable_queries_raise_a_clear_error(ix: Path, query: str) -> None:
    with pytest.raises(QueryError) as exc:
        search(ix, query)
    assert str(exc.value)


@pytest.mark.parametrize(
    "query",
    [
        '"الرقة',
        "((الرقة",
        "الرقة))",
        "AND",
        "OR OR",
        "NOT",
        "-",
        "=",
        "الرقة AND",
        '""',
        "()",
        "الرقة ()",  # an empty group beside a word leaves the word
        '"" الرقة',
        '"الرقة ـــ"',  # a phrase whose other word is only tatweel is the one word
    ],
)
def test_malformed_queries_are_read_leniently(ix: Path, query: str) -> None:
    r = search(ix, query)
    assert isinstance(r["explain"]["notes"], list)
    if "الرقة" in query:  # the word is still searched: only the raqqa document says it
        assert [h["id"] for h in r["hits"]] == ["raqqa"] and r["total"] == 1
    else:  # an operator or bracket alone searches nothing (rather than everything or an error)
        assert r["hits"] == [] and r["total"] == 0
    if query in ('"الرقة', "((الرقة", "الرقة))", "AND", "NOT", "الرقة AND"):
        assert r["explain"]["notes"], "README: the repair is noted in explain"


def test_did_you_mean(ix: Path) -> None:
    r = search(ix, "مدينة البوكمل")
    assert r["total"] == 0 and r["suggestion"] == "مدينة البوكمال"
    assert search(ix, r["suggestion"])["total"] == 1
    assert search(ix, "البوكمال")["suggestion"] is None


def test_snippet_marks_surface_forms_and_escapes(ix: Path) -> None:
    hit = search(ix, "الرقه")["hits"][0]
    assert "<mark>الرَّقّـــة</mark>" in hit["snippet"]
    assert "<mark>وبالرقة</mark>" in hit["snippet"]
    assert "&lt;b&gt;" in hit["snippet"] and "<b>" not in hit["snippet"] and "&amp;" in hit["snippet"]


def test_explain_shows_forms_operators_and_filters(ix: Path) -> None:
    r = search(ix, 'انسحاب من -حلب "قوات النظام" source:BBC', op="or")
    ex = r["explain"]
    word = ex["words"][0]
    assert (word["word"], word["exact"], word["stem"], word["root"]) == ("انسحاب", "انسحاب", "انسحاب", "سحب")
    assert ex["ignored"] == ["من"] and ex["excluded"] == ["حلب"] and ex["filters"]["source"] == ["BBC"]
    assert ex["read_as"] == '(انسحاب OR "قوات النظام") NOT حلب source:BBC'


def test_highlight_text_marks_every_form_and_escapes() -> None:
    from indexer.highlight import highlight_text

    text = 'قال <b>"الجيش"</b>: انسحبنا من الرقّــة وبالرَّقة، ولم يتحدث داعش'
    out = highlight_text(text, "انسحاب الرقه -داعش")
    assert out == (
        'قال &lt;b&gt;"الجيش"&lt;/b&gt;: <mark>انسحبنا</mark> من <mark>الرقّــة</mark> '
        "<mark>وبالرَّقة</mark>، ولم يتحدث داعش"
    )
    # Offsets stay right after diacritics: unmarking gives back the escaped original.
    assert out.replace("<mark>", "").replace("</mark>", "") == text.replace("<", "&lt;").replace(">", "&gt;")
    assert highlight_text("<i>x</i>", "place:nowhere") == "&lt;i&gt;x&lt;/i&gt;"


@pytest.mark.parametrize(
    "query",
    [
        "انسحاب",
        "مدينة -إدلب",
        "داعش OR حلب",
        '"قوات النظام" مدينة',
        "root:سحب",
        "NOT مدينة",
        "مدينة date:2017",
    ],
)
def test_totals_agree_with_whoosh(ix: Path, query: str) -> None:
    # The set-algebra total equals what Whoosh itself matches for the compiled query.
    from indexer.search import doc_set, plan
    from indexer.store import open_current

    with open_current(ix) as snap:
        p = plan(query, "and")
        s = snap.searcher()
        expected = len(s.search(p.query, filter=p.filter, limit=None))
        mine = doc_set(p.query, s) & (doc_set(p.filter, s) if p.filter is not None else doc_set(p.query, s))
        assert len(mine) == expected == search(snap, query)["total"]


@pytest.mark.parametrize(
    "query", ["انسحاب", "قوات النظام", '"قوات النظام" حلب', "داعش OR حلب -مدينة", "root:سحب القوات"]
)
@pytest.mark.parametrize("op", ["and", "or"])
def test_ranking_engine_scores_equal_whoosh(ix: Path, query: str, op: str) -> None:
    # With Whoosh's IDF, the numpy engine ranks exactly as Whoosh's own matchers would
    # (same documents, same scores), except for phrases, which it scores as their words.
    from dataclasses import replace

    from whoosh import scoring
    from whoosh.searching import Searcher

    from indexer.ranking import evaluate
    from indexer.search import DEFAULT_SCORING, plan
    from indexer.store import open_current

    sc = replace(DEFAULT_SCORING, idf="whoosh", fusion="sum")
    titles_b = {f"title_{lv}_B": sc.title_B for lv in ("exact", "stem", "root")}
    weighting = scoring.BM25F(B=sc.B, K1=sc.K1, **titles_b)
    with open_current(ix) as snap:
        p = plan(query, op, sc=sc)
        s = Searcher(snap.searcher().reader(), weighting=weighting, closereader=False)
        mask, score = evaluate(p.query, s, sc.bm25())
        theirs = {h.docnum: h.score for h in s.search(p.query, limit=None)}
        assert theirs and set(theirs) == set(mask.nonzero()[0].tolist())
        if '"' not in query:
            for d, value in theirs.items():
                assert score[d] == pytest.approx(value, rel=1e-6), d


def test_phrase_is_required_with_and_but_ranks_first_with_or(ix: Path) -> None:
    # "القائد انسحاب" is consecutive only in lvl-exact; the other level documents hold its words.
    assert ids(ix, '"القائد انسحاب"', op="and") == ["lvl-exact"]
    ranked = ids(ix, '"القائد انسحاب"', op="or")
    assert ranked[0] == "lvl-exact"
    assert {"lvl-stem", "lvl-root"} <= set(ranked[1:])


def test_excluded_phrase_excludes_the_phrase_not_its_words(ix: Path) -> None:
    # With op=or a quoted phrase's words still count, but -"..." only removes the phrase.
    found = ids(ix, 'أعلن -"القائد الانسحاب"', op="or")
    assert "lvl-stem" not in found
    assert {"lvl-exact", "lvl-root"} <= set(found)


def test_title_occurrence_outranks_body_occurrence_under_bm25f(ix: Path) -> None:
    # معارك: in the title of "nusra", in the bodies of "hts" and "aleppo".
    ranked = ids(ix, "معارك", op="or")
    assert ranked[0] == "nusra"


def test_did_you_mean_writes_the_word_as_documents_do(tmp_path: Path) -> None:
    # The index folds ئ to ء (الطاءرات); the suggestion is the documents' spelling.
    src = tmp_path / "d.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "قصفت الطائرات المدينة"}, ensure_ascii=False), "utf-8")
    build([src], tmp_path / "ix", jobs=1)
    r = search(tmp_path / "ix", "الطئارات")
    assert r["total"] == 0 and r["suggestion"] == "الطائرات"


@pytest.mark.parametrize("jobs", [1, 2])
def test_date_sort_with_undated_documents(tmp_path: Path, jobs: int) -> None:
    # Undated documents sort after dated ones, also when a whole shard has no date column.
    docs = [
        {"id": "old", "text": "قصف على حلب", "date": "2015-01-01"},
        {"id": "nodate1", "text": "قصف على حلب"},
        {"id": "new", "text": "قصف على حلب", "date": "2018-05-01"},
        {"id": "nodate2", "text": "قصف على حلب"},
    ]
    src = tmp_path / "d.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs), "utf-8")
    build([src], tmp_path / "ix", jobs=jobs)
    found = ids(tmp_path / "ix", "قصف", sort="date")
    assert found[:2] == ["new", "old"] and set(found[2:]) == {"nodate1", "nodate2"}
    undated = tmp_path / "u.jsonl"
    undated.write_text(json.dumps(docs[1], ensure_ascii=False), "utf-8")
    build([undated], tmp_path / "ix2", jobs=jobs)
    assert ids(tmp_path / "ix2", "قصف", sort="date") == ["nodate1"]


# --- promises of docs/search.md ("Query language"), each written from the documents above ---


def test_field_names_and_operators_are_case_insensitive(ix: Path) -> None:
    assert ids(ix, "PLACE:sy-deirezzor") == ids(ix, "Place:sy-deirezzor") == ["alias"]
    assert set(ids(ix, "إدلب OR البوكمال")) == {"alias", "nusra", "hts"}
    # README: operators are read in any case, and Arabic أو is OR.
    assert set(ids(ix, "إدلب or البوكمال")) == set(ids(ix, "إدلب أو البوكمال")) == {"alias", "nusra", "hts"}


def test_several_places_mean_any_and_filters_apply_wherever_written(ix: Path) -> None:
    assert set(ids(ix, "place:sy-idlib place:sy-deirezzor")) == {"alias", "nusra", "hts"}
    assert set(ids(ix, "source:BBC إدلب")) == set(ids(ix, "إدلب source:BBC")) == {"nusra", "hts"}
    assert ids(ix, "إدلب source:CNN") == []  # place, source and words combine with AND


def test_a_query_of_only_stopwords_searches_nothing_and_says_so(ix: Path) -> None:
    r = search(ix, "من في على")
    assert r["total"] == 0 and r["hits"] == []
    assert r["explain"]["ignored"] == ["من", "في", "على"] and r["explain"]["notes"]


def test_only_the_first_64_words_are_searched(ix: Path) -> None:
    filler = ["قمبيز"] * 63  # a word no document has
    assert ids(ix, " ".join([*filler, "الرقة"]), op="or") == ["raqqa"]  # the 64th word counts
    assert ids(ix, " ".join([*filler, "قمبيز", "الرقة"]), op="or") == []  # the 65th does not


def test_facets_sorted_by_count_then_id(ix: Path) -> None:
    for kind in ("place", "group"):
        items = search(ix, "", source=["BBC", "CNN", "Reuters"])["facets"][kind]
        assert len(items) > 2
        assert items == sorted(items, key=lambda f: (-f["count"], f["id"]))


def test_stopwords_beside_words_are_ignored(ix: Path) -> None:
    # README: stopwords and question words are ignored (and listed in explain.ignored).
    for query in ("من الرقة", "الرقة في", "أين الرقة"):
        r = search(ix, query)
        assert [h["id"] for h in r["hits"]] == ["raqqa"], query
        assert r["explain"]["ignored"] == [w for w in query.split() if w != "الرقة"]
