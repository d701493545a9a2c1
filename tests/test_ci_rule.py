"""The CI rule of tests/conftest.py: with CI set, a skipped test is a failure; locally a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SKIPPING = """
import pytest

def test_needs_data():
    pytest.skip("../shared/x is absent")

def test_fine():
    pass
"""


def run(tmp_path: Path, ci: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            str(tmp_path / "test_skipping.py"),
        ],
        cwd=ROOT,
        env={**os.environ, "CI": ci},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("ci", ["true"])
def test_a_skip_fails_in_ci(tmp_path: Path, ci: str) -> None:
    result = run(tmp_path, ci)
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed" in result.stdout
    assert "skipped in CI" in result.stdout and "../shared/x is absent" in result.stdout


@pytest.mark.parametrize("ci", ["", "false"])
def test_a_skip_is_a_skip_locally(tmp_path: Path, ci: str) -> None:
    result = run(tmp_path, ci)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout
