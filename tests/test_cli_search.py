"""`kashaf search` flags as a user types them (real subprocesses, a real index), and README's
option list and defaults against what `kashaf COMMAND --help` prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_cli_index import kashaf
from tests.test_search import build_corpus

COMMANDS = ("analyze", "index", "stats", "search", "entities", "batch", "serve")


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Path:
    return build_corpus(tmp_path_factory.mktemp("cli-search"))


def found(ix: Path, query: str, *flags: str) -> list[str]:
    result = kashaf("search", query, "--index", str(ix), "--json", *flags)
    assert result.returncode == 0, result.stderr
    return [h["id"] for h in json.loads(result.stdout)["hits"]]


# Expectations written from the documents of tests/test_search.py (DOCS), not from the core.
@pytest.mark.parametrize(
    ("query", "flags", "expected"),
    [
        ("إدلب", ["--group", "nusra"], ["nusra"]),
        ("إدلب", ["--group", "nusra", "--with-successors"], ["hts", "nusra"]),
        ("", ["--group", "hts"], ["hts"]),
        ("مصادر", ["--source", "BBC", "--source", "CNN"], ["aleppo"]),
        ("مصادر", ["--source", "CNN", "--source", "Reuters"], ["aleppo", "reuters"]),
        ("إدلب", ["--from", "2017"], ["hts"]),
        ("إدلب", ["--to", "2016"], ["nusra"]),
        ("إدلب", ["--from", "2015-03", "--to", "2015-03-01"], ["nusra"]),
        ("", ["--place", "sy-deirezzor"], ["alias"]),
        ("", ["--place", "sy-idlib", "--place", "sy-deirezzor"], ["alias", "hts", "nusra"]),
    ],
)
def test_search_filters(ix: Path, query: str, flags: list[str], expected: list[str]) -> None:
    assert sorted(found(ix, query, *flags)) == expected


def test_sort_by_date_newest_first(ix: Path) -> None:
    # معارك: nusra has it in its title (first by relevance); by date hts (2017-07), aleppo
    # (2016-12), nusra (2015-03).
    assert found(ix, "معارك")[0] == "nusra"
    assert found(ix, "معارك", "--sort", "date") == ["hts", "aleppo", "nusra"]
    assert found(ix, "معارك", "--sort", "relevance")[0] == "nusra"


def test_op_limit_and_offset(ix: Path) -> None:
    assert found(ix, "طائرات حلب") == []  # default --op and: both words
    assert sorted(found(ix, "طائرات حلب", "--op", "or")) == ["aleppo", "raqqa"]
    every = found(ix, "", "--source", "BBC")
    assert sorted(every) == ["alias", "hts", "nusra"]
    assert found(ix, "", "--source", "BBC", "--limit", "2") == every[:2]
    assert found(ix, "", "--source", "BBC", "--limit", "2", "--offset", "2") == every[2:]


def test_unreadable_query_exits_2(ix: Path) -> None:
    # README: an unknown place or group, a bad date or a query over 1,000 characters: exit 2.
    for query, flags in (
        ("إدلب", ["--from", "yesterday"]),
        ("إدلب", ["--place", "atlantis"]),
        ("إدلب", ["--group", "nobody"]),
        ("date:2017-13", []),
        ("ب" * 1001, []),
    ):
        bad = kashaf("search", query, "--index", str(ix), *flags)
        assert bad.returncode == 2, (flags, bad.stdout)
        assert bad.stderr.strip()


def test_json_is_the_apis_object(ix: Path) -> None:
    # README: `--json` prints the same object as GET /api/search.
    from web import create_app

    client = create_app(ix).test_client()
    for query, flags, params in [
        ("مدينة", ["--op", "or", "--limit", "3"], {"op": "or", "limit": 3}),
        (
            "إدلب",
            ["--group", "nusra", "--with-successors", "--sort", "date"],
            {"group": "nusra", "with_successors": "true", "sort": "date"},
        ),
    ]:
        cli = kashaf("search", query, "--index", str(ix), "--json", *flags)
        assert cli.returncode == 0, cli.stderr
        api = client.get("/api/search", query_string={"q": query, **params})
        assert json.loads(cli.stdout) == api.get_json()


# --- README and --help agree ---------------------------------------------------------------


def readme_section(command: str) -> str:
    """README's ``### `kashaf COMMAND ...``` section (heading included)."""
    readme = (ROOT / "README.md").read_text("utf-8")
    match = re.search(rf"^### `kashaf {command}\b.*?(?=^##)", readme, re.S | re.M)
    assert match, f"README has no section for kashaf {command}"
    return match.group(0)


def help_text(command: str) -> str:
    """``kashaf COMMAND --help``'s options, one a line: click's wrapped lines joined again
    (a line broken after a hyphen, as in ``./kashaf-`` / ``index``, joins without a space)."""
    result = kashaf(command, "--help")
    assert result.returncode == 0, result.stderr
    lines: list[str] = []
    for line in result.stdout.split("Options:", 1)[1].splitlines():
        if re.match(r"  -", line) or not lines:
            lines.append(line.rstrip())
        else:
            lines[-1] += ("" if lines[-1].endswith("-") else " ") + line.strip()
    return "\n".join(lines)


def help_options(command: str) -> dict[str, str | None]:
    """``{--flag: default or None}`` parsed from the real ``kashaf COMMAND --help``."""
    options = {}
    for line in help_text(
        command
    ).splitlines():  # one option a line: "  --limit INTEGER RANGE  [default: 20; x>=0]"
        names = re.match(r"\s+(?:-\w, )?(--[a-z][a-z-]*)", line)
        if not names or names.group(1) == "--help":
            continue
        default = re.search(r"\[default: (.*?)(?:; [^\]]*)?\]", line)
        options[names.group(1)] = default.group(1) if default else None
    return options


def readme_defaults(section: str) -> dict[str, str]:
    """Defaults README states: ``[--port 8000]`` in a heading, ``--limit N` (default 20)``,
    ``--jobs N`: ... (default: the CPU count)`` in the text."""
    heading = section.splitlines()[0]
    stated = {
        flag: value
        for flag, value in re.findall(r"\[(--[a-z-]+) ([^\]\s|]+)\]", heading)
        if not value.isupper()  # DIR, N, SECONDS are placeholders, not values
    }
    for flag, value in re.findall(r"`(--[a-z-]+)[^`]*`[^`(\n]*?\(default:? `?([^`;,)]+?)`?[;,):]", section):
        stated[flag] = value.strip()
    return stated


def same_value(readme: str, cli: str) -> bool:
    try:
        return float(readme) == float(cli)
    except ValueError:
        return readme == cli


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_lists_every_option_and_its_default(command: str) -> None:
    section = readme_section(command)
    options = help_options(command)
    in_readme = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", section))
    assert set(options) - in_readme == set(), "options README does not mention"
    assert in_readme - set(options) == set(), "options README mentions that the CLI lacks"
    stated = readme_defaults(section)
    for flag, default in options.items():
        if flag == "--index":
            continue  # one rule for every command, checked below
        if default is not None:
            assert flag in stated, f"README does not say {flag} defaults to {default}"
    for flag, value in stated.items():
        cli = options[flag]
        if cli is None:  # a default in words: --help must say the same words
            entry = help_text(command)
            words = re.sub(r"^the ", "", value).lower()
            assert words in " ".join(entry.split()).lower(), (flag, value)
        else:
            assert same_value(value, cli), f"{flag}: README says {value}, --help says {cli}"


def test_index_directory_rule_is_the_same_everywhere() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "`--index DIR`, else `$KASHAF_INDEX`, else `./kashaf-index`" in readme
    for command in COMMANDS:
        if command != "analyze":
            assert help_options(command)["--index"] == "($KASHAF_INDEX or ./kashaf-index)", command


def test_readme_default_parser_reads_the_forms_readme_uses() -> None:
    section = (
        "### `kashaf x [--port 8000] [--index DIR]`\n`--limit N` (default 20), `--op a|b` (default `and`: x)"
    )
    assert readme_defaults(section) == {"--port": "8000", "--limit": "20", "--op": "and"}
