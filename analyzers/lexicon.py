"""Arabic word → root lexicon, read from the Arramooz dictionary package.

Arramooz (GPL, by Taha Zerrouki, the pyarabic author) ships a SQLite dictionary
of ~30k nouns and ~14k verbs with their roots. We read it read-only at first
use (~0.1 s) and keep plain dicts; nothing of it is copied into Kashaf.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from importlib import resources

from analyzers.normalize import normalize, strip_marks

# Roots are written the way the gold data writes them: every hamza / alef-hamza
# shape as ء and alef maqsura as ي.
_ROOT_FOLD = str.maketrans({"أ": "ء", "إ": "ء", "آ": "ء", "ؤ": "ء", "ئ": "ء", "ٱ": "ء", "ى": "ي"})


def fold_root(root: str) -> str:
    """Write a root in Kashaf's root alphabet: hamza shapes → ء, ى → ي.

    >>> fold_root("أخذ"), fold_root("رمى")
    ('ءخذ', 'رمي')
    """
    return strip_marks(root).translate(_ROOT_FOLD)


def _database() -> sqlite3.Connection:
    path = resources.files("arramooz") / "data" / "arabicdictionary.sqlite"
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


@lru_cache(maxsize=1)
def _tables() -> tuple[dict, dict, dict, dict]:
    """One pass over the dictionary: word → roots, word → roots of its own entries,
    singular → broken plurals, broken plural → singulars (all normalized)."""
    table: dict[str, set[str]] = {}
    own: dict[str, set[str]] = {}
    plurals: dict[str, set[str]] = {}
    singulars: dict[str, set[str]] = {}

    def add(word: str, root: str) -> None:
        if word and 3 <= len(root) <= 4:
            table.setdefault(normalize(word), set()).add(root)

    with _database() as db:
        nouns = db.execute("SELECT unvocalized, root, broken_plural, single FROM nouns").fetchall()
        verbs = db.execute("SELECT unvocalized, root FROM verbs").fetchall()
    for word, raw, given, single in nouns:
        root = fold_root(raw or "")
        add(word, root)
        if word and not (single or "").strip():
            own.setdefault(normalize(word), set()).add(root)
        one = normalize(word or "")
        for plural in (given or "").split(";"):
            bare = strip_marks(plural.strip())
            add(bare, root)
            many = normalize(bare)
            if one and many and many != one:
                plurals.setdefault(one, set()).add(many)
                singulars.setdefault(many, set()).add(one)
    for word, raw in verbs:
        root = fold_root(raw or "")
        add(word, root)
        if word:
            own.setdefault(normalize(word), set()).add(root)

    def frozen(d: dict[str, set[str]]) -> dict[str, frozenset[str]]:
        return {k: frozenset(v) for k, v in d.items()}

    return frozen(table), frozen(own), frozen(plurals), frozen(singulars)


def word_roots() -> dict[str, frozenset[str]]:
    """Normalized word (singular, broken plural, verb past form) → its roots.

    >>> sorted(word_roots()["انسحاب"])
    ['سحب']
    """
    return _tables()[0]


@lru_cache(maxsize=1)
def known_roots() -> frozenset[str]:
    """Every root the lexicon knows (~6k), for validating candidate roots."""
    return frozenset(r for roots in word_roots().values() for r in roots)


def own_entries() -> dict[str, frozenset[str]]:
    """Normalized word → the roots of its entries *as a word of its own* (a noun that is
    not listed as another's plural, or a verb). A broken plural listed only as a plural
    has none.

    >>> sorted(own_entries()["اسود"]), "جيوش" in own_entries()
    (['سود'], False)
    """
    return _tables()[1]


def broken_plurals() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """``(singular → broken plurals, broken plural → singulars)``, normalized, from Arramooz.

    >>> sorted(broken_plurals()[0]["جيش"]), sorted(broken_plurals()[1]["معارك"])
    (['جيوش'], ['معركه'])
    """
    return _tables()[2], _tables()[3]
