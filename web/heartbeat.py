"""Tell gunicorn's arbiter that a worker streaming a long response is alive.

A sync worker reports to the arbiter only between requests, so a streamed export
that takes longer than ``timeout`` would be killed mid-file. The export calls
:func:`beat` between batches; under gunicorn the hook in web/gunicorn.conf.py
installs the worker's ``notify``, elsewhere (tests, ``flask run``) it does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

_notify: Callable[[], None] | None = None


def install(worker) -> None:
    """Called by gunicorn's ``post_worker_init`` hook with the worker process."""
    global _notify  # noqa: PLW0603 - one worker per process: a process-wide hook is what it is
    _notify = worker.notify


def beat() -> None:
    """The request is still working: keep the worker from being timed out."""
    if _notify is not None:
        _notify()
