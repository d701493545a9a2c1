"""Fused analysis for indexing: one tokenization feeds all three levels of a text.

Running the three Whoosh field analyzers tokenizes and maps every word three
times, and Whoosh's ``Format.word_values`` loops over the tokens again per field.
Here each text is tokenized once, each distinct surface form is analyzed once per
process (``_levels``, memoized: news vocabulary is Zipfian), and the posting
tuples Whoosh's writer takes — ``(term bytes, frequency, weight, encoded value)`` —
are built directly. ``tests/test_postings.py`` checks that the result equals what
the fields' own analyzers and formats produce.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from whoosh.formats import Characters
from whoosh.system import pack_uint

from analyzers.normalize import normalize
from analyzers.roots import lexicon_root
from analyzers.stem import light_stem
from analyzers.stopwords import is_stopword
from analyzers.tokenize import TOKEN_RE

_CHARS = Characters()


@lru_cache(maxsize=500_000)
def _levels(surface: str) -> tuple[str, str, str]:
    """(exact, stem, root) terms of a surface form; stem and root are "" for stopwords.

    >>> _levels("وبالغارات")[0], _levels("من")
    ('وبالغارات', ('من', '', ''))
    """
    exact = normalize(surface)
    if is_stopword(surface):
        return exact, "", ""
    return exact, light_stem(surface), lexicon_root(surface)


def text_postings(text: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Posting tuples of ``text`` for its exact, stem and root fields.

    Exact: positions and characters (phrases, highlights), stopwords kept.
    Stem and root: frequencies, stopwords dropped; positions count every word.

    >>> exact, stem, root_ = text_postings("قصف الغارات والغارات")
    >>> sorted(f for _, f, _, _ in stem)  # الغارات and والغارات share one stem
    [1, 2]
    """
    chars: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    stems: dict[str, int] = defaultdict(int)
    roots: dict[str, int] = defaultdict(int)
    for pos, m in enumerate(TOKEN_RE.finditer(text)):
        exact, stem, rt = _levels(m.group())
        if exact:
            chars[exact].append((pos, m.start(), m.end()))
        if stem:
            stems[stem] += 1
        if rt:
            roots[rt] += 1
    encode = _CHARS.encode
    return (
        [(w.encode(), len(p), float(len(p)), encode(p)) for w, p in chars.items()],
        [(w.encode(), f, float(f), pack_uint(f)) for w, f in stems.items()],
        [(w.encode(), f, float(f), pack_uint(f)) for w, f in roots.items()],
    )
