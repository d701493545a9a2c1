"""Whoosh analyzers for Kashaf's three matching levels: exact, stem and root.

Each is ``KashafTokenizer() | MapFilter(fn)``: the tokenizer yields the original
surface form with its character offsets (diacritics kept inside), and one filter
maps it to the indexed term. Positions count every word, stopwords included, so
phrase queries line up across fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from whoosh.analysis import Composable, Filter, Tokenizer
from whoosh.analysis.acore import Token

from analyzers.normalize import normalize
from analyzers.roots import lexicon_root
from analyzers.stem import light_stem
from analyzers.stopwords import is_stopword
from analyzers.tokenize import TOKEN_RE


class KashafTokenizer(Tokenizer):
    """Arabic-aware tokenizer (see ``analyzers.tokenize``) as a Whoosh tokenizer.

    ``الرقّة`` stays one token (Whoosh's default splits it at the shadda).
    """

    def __call__(  # noqa: PLR0917 - Whoosh's tokenizer protocol
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: object,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for pos, match in enumerate(TOKEN_RE.finditer(value)):
            t.text = match.group()
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = t.text
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            yield t


class MapFilter(Filter):
    """Replace each token's text by ``fn(surface)``; drop stopwords and empties.

    ``MapFilter(light_stem)`` turns ``وبالغارات`` into the stem of ``غارات``.
    """

    def __init__(self, fn: Callable[[str], str], stops: bool = True) -> None:
        self.fn = fn
        self.stops = stops

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MapFilter) and (self.fn, self.stops) == (other.fn, other.stops)

    def __hash__(self) -> int:
        return hash((self.fn, self.stops))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        fn, stops = self.fn, self.stops
        for t in tokens:
            surface = t.text
            if stops and is_stopword(surface):
                if t.removestops:
                    continue
                t.stopped = True
            t.text = fn(surface)
            if t.text:
                yield t


def exact_analyzer(stops: bool = False) -> Composable:
    """Normalized surface forms (``الرقّة`` → ``الرقه``); stopwords kept for phrases."""
    return KashafTokenizer() | MapFilter(normalize, stops=stops)


def stem_analyzer() -> Composable:
    """Light stems (``وبالغارات`` and ``الغارة`` → one term); stopwords dropped."""
    return KashafTokenizer() | MapFilter(light_stem)


def root_analyzer() -> Composable:
    """Roots where the lexicon vouches (``وانسحبت`` and ``المنسحبين`` → ``سحب``), other words
    whole (``ترمب`` stays ``ترمب``, see ``lexicon_root``); stopwords dropped."""
    return KashafTokenizer() | MapFilter(lexicon_root)
