"""Shared fixtures. External evaluation data is read from ../shared, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KASHAF_SHARED", ROOT.parent / "shared"))


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared, or skip the test with a message when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: external test data lives in ../shared beside the project")
    return path
