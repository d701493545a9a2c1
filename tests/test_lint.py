"""The code base stays ruff-clean (DEVELOPERS.md: ruff clean)."""

import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff", path=str(ROOT / ".venv" / "bin")) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
