"""Arabic text analysis for Kashaf: normalize → tokenize → stopwords → light stem → root.

Every stage is a plain function that can be called and shown on its own
(``kashaf analyze``); the Whoosh analyzers in ``analyzers.whoosh_analysis``
are built from the same functions.
"""

from analyzers.gazetteer import protected_names
from analyzers.normalize import normalize
from analyzers.roots import lexicon_root, protect, root
from analyzers.stem import light_stem, register_known_words
from analyzers.stopwords import is_stopword
from analyzers.tokenize import Token, tokenize

# Gazetteer names stay whole in the stem and root fields (بالرقة → رقه, not the
# root رقق). Done at import so every process, indexer workers included, agrees.
register_known_words(protected_names())
protect(protected_names())

__all__ = ["Token", "analyze", "is_stopword", "lexicon_root", "light_stem", "normalize", "root", "tokenize"]


def analyze(text: str) -> list[dict]:
    """Every stage for every token of ``text``, as ``kashaf analyze --json`` prints it.

    >>> analyze("الرقّة")[0]["normalized"]
    'الرقه'
    """
    return [
        {
            "token": t.text,
            "start": t.start,
            "end": t.end,
            "normalized": normalize(t.text),
            "stopword": is_stopword(t.text),
            "stem": light_stem(t.text),
            "root": lexicon_root(t.text),
        }
        for t in tokenize(text)
    ]
