"""Property tests (hypothesis): the analysis functions hold up on arbitrary Unicode."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from analyzers import analyze, is_stopword, light_stem, normalize, root, tokenize

# Arabic letters, harakat, tatweel, Arabic digits and punctuation, Latin, spaces:
# the mix news text is made of, so generated strings hit the interesting paths.
ARABIC_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x0600, max_codepoint=0x06FF),
        st.sampled_from(list(" \n\t،؛؟«».,:()\"'-ـ\u200c\u200f\ufefb")),
        st.characters(min_codepoint=0x41, max_codepoint=0x7A),
    ),
    max_size=60,
)
ANY_TEXT = st.one_of(st.text(max_size=60), ARABIC_TEXT)
ARABIC_WORD = st.text(
    alphabet=st.characters(min_codepoint=0x0621, max_codepoint=0x064A), min_size=1, max_size=12
)
PUNCTUATION = set("،؛؟«»“”.,:;!?()[]{}\"'")


@settings(max_examples=300)
@given(ANY_TEXT)
@example("")
@example("ﻻ\u0651\u064e")
def test_normalize_is_idempotent_and_never_raises(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=300)
@given(ANY_TEXT)
@example("الرقّة، «داعش» (2017)")
def test_token_offsets_slice_the_original(text: str) -> None:
    for t in tokenize(text):
        assert text[t.start : t.end] == t.text
        assert t.text
        assert not any(c.isspace() for c in t.text)
        assert not PUNCTUATION & set(t.text)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
@example("")
def test_public_functions_accept_any_text(text: str) -> None:
    normalize(text)
    tokenize(text)
    is_stopword(text)
    light_stem(text)
    root(text)
    analyze(text)


@settings(max_examples=300, deadline=None)
@given(ARABIC_WORD)
@example("والقوات")
def test_light_stem_output_is_normalized_and_not_longer(word: str) -> None:
    stem = light_stem(word)
    assert normalize(stem) == stem
    assert len(stem) <= len(normalize(word))
    assert stem or not normalize(word)
