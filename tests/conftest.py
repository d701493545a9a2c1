"""Shared fixtures and the CI rule for skips.

External evaluation data is read from ../shared, never copied. Locally a test that
needs ../shared or Chromium skips with a message saying what is missing; in CI
(``CI`` set to anything but ``""``, ``0``, ``false``, ``no``) every skip is a failure,
so a missing data folder, browser or declared test dependency can never turn a
README figure into a silent pass.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KASHAF_SHARED", ROOT.parent / "shared"))
# Debian's package puts it here; .ci/run installs it when `chromium` is not on PATH.
CHROMIUM_FALLBACK = Path("/usr/bin/chromium")


def in_ci() -> bool:
    """Whether the suite runs in CI (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared, or skip the test with a message when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: external test data lives in ../shared beside the project")
    return path


def chromium_path() -> Path | None:
    """The Chromium the browser tests drive: ``chromium`` on PATH (what .ci/run checks), else
    Debian's /usr/bin/chromium, else None."""
    found = shutil.which("chromium")
    if found:
        return Path(found)
    return CHROMIUM_FALLBACK if CHROMIUM_FALLBACK.exists() else None


# --- CI: a skip is a failure ---------------------------------------------------------------


def _ci_failure(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turn a skipped report into a failed one that says why."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI (CI is set, so a skip is a failure): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        _ci_failure(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:  # e.g. a module-level pytest.skip / importorskip
        _ci_failure(report)


# --- real gunicorn, as README starts it ----------------------------------------------------


@pytest.fixture(scope="session")
def live_server():
    """Start ``gunicorn -c web/gunicorn.conf.py 'web:create_app()'`` from the project directory
    with ``KASHAF_INDEX`` set (README's production command) on a free loopback port.

    Use as a context manager: ``with live_server(index_dir, workers=2) as server: server.url``.
    The server is stopped (SIGTERM, then SIGKILL) when the block ends.
    """
    from benchmarks.load import gunicorn

    return gunicorn
