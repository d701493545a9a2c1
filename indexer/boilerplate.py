"""Whole-line boilerplate patterns for scraped pages (indexer/data/boilerplate.tsv)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def patterns() -> tuple[re.Pattern[str], ...]:
    """The reviewed patterns; each must match a whole (stripped) line."""
    text = resources.files("indexer").joinpath("data/boilerplate.tsv").read_text("utf-8")
    rows = (line.split("\t", 1)[0] for line in text.splitlines())
    return tuple(re.compile(r, re.IGNORECASE) for r in rows if r.strip() and not r.startswith("#"))


def is_boilerplate(line: str) -> bool:
    """True when the whole line is page furniture, never for an article sentence.

    >>> is_boilerplate("ت + ت - الحجم الطبيعي"), is_boilerplate(" Email ")
    (True, True)
    >>> is_boilerplate("واحد × أربعة ="), is_boilerplate("0")
    (True, True)
    >>> is_boilerplate("جنيف وأستانة"), is_boilerplate("قتل 30 آخرون في كمين")
    (False, False)
    """
    s = line.strip()
    return bool(s) and any(p.fullmatch(s) for p in patterns())


def strip_boilerplate(lines: list[str]) -> list[str]:
    """The lines without boilerplate (blank lines are kept for the caller to handle)."""
    return [line for line in lines if not is_boilerplate(line)]
