"""`kashaf analyze` as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SENTENCE = "وانسحبت قوات النظام من الرقّة"
COLUMNS = ["token", "start", "end", "normalized", "stopword", "stem", "root"]


def kashaf(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kashaf", path=str(Path(sys.executable).parent))
    assert exe, "the kashaf console script is not installed next to this Python"
    return subprocess.run([exe, *args], input=stdin, capture_output=True, text=True, check=False, timeout=60)


def readme_example() -> tuple[str, list[list[str]]]:
    """README's ``kashaf analyze`` console example: the command's TEXT and its table rows."""
    readme = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r'```console\n\$ kashaf analyze "([^"]+)"\n(.*?)```', readme, re.S)
    assert block, "README lost its `kashaf analyze` example"
    lines = block.group(2).splitlines()
    assert lines[0].split() == COLUMNS
    return block.group(1), [ln.split() for ln in lines[1:]]


def test_table_is_readmes_example() -> None:
    # README's table is the spec (written by hand): the CLI must print the same cells.
    text, expected = readme_example()
    result = kashaf("analyze", text)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == COLUMNS
    assert [ln.split() for ln in lines[1:]] == expected


def test_json_rows_have_exactly_the_contract_keys() -> None:
    result = kashaf("analyze", SENTENCE, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    for r in rows:
        assert list(r) == COLUMNS
        assert SENTENCE[r["start"] : r["end"]] == r["token"]
    # Written from README's example table.
    assert [[r[c] for c in COLUMNS] for r in rows] == [
        ["وانسحبت", 0, 7, "وانسحبت", False, "وانسحبت", "سحب"],
        ["قوات", 8, 12, "قوات", False, "قوه", "قوي"],
        ["النظام", 13, 19, "النظام", False, "نظام", "نظم"],
        ["من", 20, 22, "من", True, "من", "من"],
        ["الرقّة", 23, 29, "الرقه", False, "رقه", "رقه"],
    ]


@pytest.mark.parametrize(
    ("word", "stem", "root"),
    [
        # Known names keep their letters at the stem and root levels (README: "kept whole ...
        # rather than rooted to رقق"); clitics still come off.
        ("الرقّة", "رقه", "رقه"),
        ("بالرقة", "رقه", "رقه"),
        ("لدمشق", "دمشق", "دمشق"),
        ("والبوكمال", "بوكمال", "بوكمال"),
        ("وحلب", "حلب", "حلب"),
    ],
)
def test_known_names_stay_whole(word: str, stem: str, root: str) -> None:
    result = kashaf("analyze", word, "--json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["stem"], row["root"]) == (stem, root)


def test_reads_standard_input() -> None:
    result = kashaf("analyze", "--json", stdin="حلـــب")
    assert json.loads(result.stdout)[0]["normalized"] == "حلب"
