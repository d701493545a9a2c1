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
def word_roots() -> dict[str, frozenset[str]]:
    """Normalized word (singular, broken plural, verb past form) → its roots.

    >>> sorted(word_roots()["انسحاب"])
    ['سحب']
    """
    table: dict[str, set[str]] = {}

    def add(word: str, root: str) -> None:
        root = fold_root(root or "")
        if word and 3 <= len(root) <= 4:
            table.setdefault(normalize(word), set()).add(root)

    with _database() as db:
        for word, root, plurals in db.execute("SELECT unvocalized, root, broken_plural FROM nouns"):
            add(word, root)
            for plural in (plurals or "").split(";"):
                add(strip_marks(plural.strip()), root)
        for word, root in db.execute("SELECT unvocalized, root FROM verbs"):
            add(word, root)
    return {word: frozenset(roots) for word, roots in table.items()}


@lru_cache(maxsize=1)
def known_roots() -> frozenset[str]:
    """Every root the lexicon knows (~6k), for validating candidate roots."""
    return frozenset(r for roots in word_roots().values() for r in roots)


@lru_cache(maxsize=1)
def own_entries() -> dict[str, frozenset[str]]:
    """Normalized word → the roots of its entries *as a word of its own* (a noun that is
    not listed as another's plural, or a verb). A broken plural listed only as a plural
    has none.

    >>> sorted(own_entries()["اسود"]), "جيوش" in own_entries()
    (['سود'], False)
    """
    out: dict[str, set[str]] = {}
    with _database() as db:
        rows = [*db.execute("SELECT unvocalized, root, single FROM nouns")]
        rows += [(w, r, "") for w, r in db.execute("SELECT unvocalized, root FROM verbs")]
    for word, root, single in rows:
        if word and not (single or "").strip():
            out.setdefault(normalize(word), set()).add(fold_root(root or ""))
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def broken_plurals() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """``(singular → broken plurals, broken plural → singulars)``, normalized, from Arramooz.

    >>> sorted(broken_plurals()[0]["جيش"]), sorted(broken_plurals()[1]["معارك"])
    (['جيوش'], ['معركه'])
    """
    plurals: dict[str, set[str]] = {}
    singulars: dict[str, set[str]] = {}
    with _database() as db:
        rows = db.execute("SELECT unvocalized, broken_plural FROM nouns WHERE broken_plural != ''")
        for word, given in rows:
            one = normalize(word)
            for plural in (given or "").split(";"):
                many = normalize(strip_marks(plural.strip()))
                if one and many and many != one:
                    plurals.setdefault(one, set()).add(many)
                    singulars.setdefault(many, set()).add(one)
    return (
        {k: frozenset(v) for k, v in plurals.items()},
        {k: frozenset(v) for k, v in singulars.items()},
    )
