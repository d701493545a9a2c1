"""The analysis of a fixed, varied sample of surface forms is pinned: exact, stem, root level
(what ``indexer.postings.word_levels`` gives the indexer) and ``root``.

The forms (``tests/data/word_levels.tsv``) are every distinct word of the seed articles plus
variants made from them — conjunction, preposition and article glued on, attached pronouns,
harakat, tatweel, hamza seats, Latin and digits — so the speed-ups of the analysis (pattern
tables, shared readings, set lookups) can be checked against what the analysis gave before
them. The expected values were written by main's code before those changes
(``benchmarks/word_analysis.py --check`` compares all 630k distinct forms of the three
corpora in ../shared the same way). They are computed without gazetteer names, so an edit
of the gazetteer does not move them; ``tests/test_roots.py`` checks protected names.

After an intended change of the analysis, rewrite the file and review its diff:

    .venv/bin/python -m tests.test_word_levels --write
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PINNED = ROOT / "tests" / "data" / "word_levels.tsv"

# Run in a fresh interpreter: other tests register names (register_known_words, protect)
# that change the analysis of some words for the rest of their process.
COMPUTE = r"""
import json, sys
import analyzers
from analyzers import roots, stem
from indexer import postings

roots._clear_protected()
stem._clear_registered()
forms = json.loads(sys.stdin.read())
batch = postings.word_levels(forms)
one_by_one = [postings._levels.__wrapped__(f) for f in forms]
rows = [[*lv[:3], roots.root(f)] for f, lv in zip(forms, batch)]
print(json.dumps({"rows": rows, "same": [list(a[:3]) == list(b) for a, b in zip(batch, one_by_one)]}))
"""

PREFIXES = ("و", "ف", "ب", "ل", "ال", "وال", "بال", "لل", "فال", "وب", "ولل", "ك")
SUFFIXES = ("ها", "هم", "ه", "ات", "ين", "ون", "ي", "ة", "كما", "نا")
HARAKAT = ("\u064e", "\u0650", "\u064f", "\u0651", "\u0652", "\u064b")


def sample_forms() -> list[str]:
    """The seed articles' distinct words and variants made from them (deterministic)."""
    sys.path.insert(0, str(ROOT))
    from analyzers.tokenize import TOKEN_RE

    words: set[str] = set()
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        words.update(TOKEN_RE.findall(path.read_text(encoding="utf-8")))
    seed = sorted(words)
    arabic = [w for w in seed if "\u0621" <= w[0] <= "\u064a" and len(w) >= 3]
    out = set(seed)
    for i, w in enumerate(arabic[::7]):
        out.add(PREFIXES[i % len(PREFIXES)] + w)
        out.add(w + SUFFIXES[i % len(SUFFIXES)])
        out.add(PREFIXES[(i * 5) % len(PREFIXES)] + w + SUFFIXES[(i * 3) % len(SUFFIXES)])
        mark = HARAKAT[i % len(HARAKAT)]
        out.add(w[:1] + mark + w[1:] + mark)  # diacritized
        out.add(w[:2] + "ـــ" + w[2:])  # tatweel
        out.add(w.replace("ا", "أ", 1).replace("ي", "ئ", 1).replace("و", "ؤ", 1))  # hamza seats
    out.update(["شيء", "للاشيء", "اشياء", "سئل", "مسؤول", "مسئولين", "ﻻ", "ISIS", "F16", "٢٠١٨", "2017م"])
    return sorted(out)


def compute(forms: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", COMPUTE],
        input=json.dumps(forms),
        capture_output=True,
        text=True,
        check=True,
        cwd=str(ROOT),
    )
    return json.loads(done.stdout)


def read_pinned() -> list[tuple[str, list[str]]]:
    rows = []
    for line in PINNED.read_text(encoding="utf-8").split("\n"):
        if line and not line.startswith("#"):
            form, *values = line.split("\t")
            rows.append((form, values))
    return rows


def test_sample_is_varied() -> None:
    rows = read_pinned()
    forms = [f for f, _ in rows]
    assert len(forms) >= 300 and len(set(forms)) == len(forms)
    assert forms == sample_forms()  # the file was written from this sample
    assert any(v[1] == "" for _, v in rows)  # stopwords
    assert sum(v[2] != v[1] for _, v in rows) > 100  # roots other than the stem
    assert any(any(c in f for c in HARAKAT) for f in forms) and any("ـ" in f for f in forms)


def test_pinned_analysis() -> None:
    rows = read_pinned()
    got = compute([f for f, _ in rows])
    assert all(got["same"]), "word_levels of a batch differs from _levels one word at a time"
    wrong = [(f, want, have) for (f, want), have in zip(rows, got["rows"], strict=True) if want != have]
    assert not wrong, f"{len(wrong)} forms analyzed differently, first: {wrong[:5]}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    forms = sample_forms()
    rows = compute(forms)["rows"]
    header = "# form\texact\tstem\troot level (lexicon_root)\troot() — see tests/test_word_levels.py\n"
    PINNED.write_text(header + "".join("\t".join([f, *r]) + "\n" for f, r in zip(forms, rows, strict=True)))
    print(f"{PINNED}: {len(forms)} forms")
