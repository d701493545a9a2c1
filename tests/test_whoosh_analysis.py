"""The three Whoosh analyzers on a real on-disk index: matching and highlight offsets."""

from __future__ import annotations

from pathlib import Path

from whoosh import index
from whoosh.fields import ID, TEXT, Schema
from whoosh.highlight import Formatter, WholeFragmenter
from whoosh.query import Term

from analyzers import light_stem, normalize, root
from analyzers.whoosh_analysis import KashafTokenizer, exact_analyzer, root_analyzer, stem_analyzer

TEXT_AR = "وانسحبتْ قوّاتُ النظامِ من مدينةِ الرقّة بعد الغاراتِ"


def make_index(tmp_path: Path):
    schema = Schema(
        id=ID(stored=True),
        exact=TEXT(analyzer=exact_analyzer(), stored=True, chars=True),
        stem=TEXT(analyzer=stem_analyzer()),
        root=TEXT(analyzer=root_analyzer()),
    )
    ix = index.create_in(str(tmp_path), schema)
    with ix.writer() as w:
        w.add_document(id="d1", exact=TEXT_AR, stem=TEXT_AR, root=TEXT_AR)
    return index.open_dir(str(tmp_path))  # reopen: the schema (with analyzers) round-trips through pickle


def test_tokenizer_keeps_words_whole_with_original_offsets() -> None:
    toks = [(t.text, t.startchar, t.endchar) for t in KashafTokenizer()(TEXT_AR, chars=True)]
    assert ("الرقّة", TEXT_AR.index("الرقّة"), TEXT_AR.index("الرقّة") + 6) in toks
    assert all(TEXT_AR[s:e] == text for text, s, e in toks)


def test_positions_count_stopwords_in_every_field() -> None:
    exact = [(t.text, t.pos) for t in exact_analyzer()(TEXT_AR, positions=True)]
    stem = [(t.text, t.pos) for t in stem_analyzer()(TEXT_AR, positions=True)]
    assert ("من", 3) in exact  # exact keeps stopwords (phrases)
    assert all(text != light_stem("من") or pos != 3 for text, pos in stem)  # stem drops them ...
    assert dict((p, t) for t, p in stem)[4] == light_stem("مدينة")  # ... without shifting positions


def test_each_level_finds_the_document(tmp_path: Path) -> None:
    ix = make_index(tmp_path)
    with ix.searcher() as s:
        assert len(s.search(Term("exact", normalize("الرقه")))) == 1
        assert len(s.search(Term("stem", light_stem("غارات")))) == 1
        assert len(s.search(Term("root", root("انسحاب")))) == 1


def test_highlight_lands_on_the_whole_original_word(tmp_path: Path) -> None:
    class Brackets(Formatter):
        def format_token(self, text, token, replace=False):
            return "[" + text[token.startchar : token.endchar] + "]"

    ix = make_index(tmp_path)
    with ix.searcher() as s:
        hit = s.search(Term("exact", normalize("الرقه")))[0]
        hit.results.fragmenter = WholeFragmenter()
        hit.results.formatter = Brackets()
        assert "[الرقّة]" in hit.highlights("exact")
