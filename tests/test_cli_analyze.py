"""`kashaf analyze` as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from analyzers import lexicon_root, light_stem, normalize

SENTENCE = "وانسحبت قوات النظام من الرقّة"


def kashaf(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kashaf", path=str(Path(sys.executable).parent))
    assert exe, "the kashaf console script is not installed next to this Python"
    return subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, check=False, timeout=60)


def test_json_rows_have_exactly_the_contract_keys() -> None:
    result = kashaf("analyze", SENTENCE, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["token"] for r in rows] == ["وانسحبت", "قوات", "النظام", "من", "الرقّة"]
    for r in rows:
        assert list(r) == ["token", "start", "end", "normalized", "stopword", "stem", "root"]
        assert SENTENCE[r["start"] : r["end"]] == r["token"]
        assert r["normalized"] == normalize(r["token"])
        assert r["stem"] == light_stem(r["token"])
        assert r["root"] == lexicon_root(r["token"])
    assert [r["stopword"] for r in rows] == [False, False, False, True, False]
    assert rows[4]["normalized"] == "الرقه"
    assert rows[0]["root"] == "سحب"
    assert rows[1]["stem"] == light_stem("والقوات")


def test_table_shows_every_stage() -> None:
    result = kashaf("analyze", SENTENCE)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["token", "start", "end", "normalized", "stopword", "stem", "root"]
    assert len(lines) == 1 + 5
    assert "الرقه" in lines[5] and "yes" in lines[4]


def test_reads_standard_input() -> None:
    result = kashaf("analyze", "--json", stdin="حلـــب")
    assert json.loads(result.stdout)[0]["normalized"] == "حلب"
