"""The gunicorn worker Kashaf runs: threads for connections, one search at a time per process.

gunicorn's ``sync`` worker gives each connection a whole process: five clients that
open a connection and send nothing (or half a request) stall five workers until
the timeout kills them, and a CSV export longer than the timeout is cut off after
its 200 header. The ``gthread`` worker keeps its heartbeat in the main thread and
reads and writes sockets in a pool of threads, so a slow or silent client costs one
thread, not the process, and a long export keeps streaming. Searching stays one
request at a time per process (:class:`OneAtATime`): no SQLite connection or Whoosh
searcher is ever used by two threads at once, and per-process memory is unchanged.

Errors gunicorn answers itself (a request line over the limit, a malformed request)
keep the API's JSON shape and the security headers, instead of gunicorn's bare HTML.
See docs/serving.md.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator

from gunicorn import util
from gunicorn.workers import gthread

from web import caches

# A client must send each part of its request, and take each part of the response,
# within this many seconds; else its connection is closed (slow-loris, stalled reader).
CLIENT_TIMEOUT = float(os.environ.get("KASHAF_CLIENT_TIMEOUT") or 30)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The same headers as web.create_app's after_request hook (kept here: this module is
# imported by the gunicorn master before the app).
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed"}
_CODES |= {431: "request_header_fields_too_large", 500: "internal_error", 501: "not_implemented"}


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answer, in the API's shape: ``{"error": {"code", "message"}}``."""
    code = _CODES.get(status_int, reason.lower().replace(" ", "_"))
    body = json.dumps({"error": {"code": code, "message": mesg or reason}}, ensure_ascii=False).encode()
    head = [f"HTTP/1.1 {status_int} {reason}", "Connection: close"]
    head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in SECURITY_HEADERS]
    util.write_nonblock(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class _TimedConn(gthread.TConn):
    """A connection whose blocking reads and writes give up after :data:`CLIENT_TIMEOUT`.

    gthread calls ``init()`` right after ``setblocking(True)`` (which clears any timeout)
    before every request on a connection, kept-alive ones included.
    """

    closed = False

    def init(self) -> None:
        super().init()
        self.sock.settimeout(CLIENT_TIMEOUT)

    def close(self, graceful: bool = False) -> None:
        """Close once: :meth:`KashafWorker.handle` closes in its thread, and gthread's
        ``finish_request`` calling again on the main thread must then cost nothing."""
        if self.closed:
            return
        self.closed = True
        super().close(graceful)


class _SlowClients(logging.Filter):
    """A client timeout is the client's doing: one warning line, not an error with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
            record.msg, record.args, record.exc_info = (
                "client too slow: connection closed after %g s",
                (CLIENT_TIMEOUT,),
                None,
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class KashafWorker(gthread.ThreadWorker):
    """gthread with JSON error answers and per-connection timeouts."""

    def init_process(self) -> None:
        util.write_error = write_error  # base.Worker.handle_error calls util.write_error
        gthread.TConn = _TimedConn
        # A new connection holds a thread while it waits for its first byte (5 s by
        # default), then goes back to the poller, where waiting costs nothing: wait 1 s.
        gthread.DEFAULT_WORKER_DATA_TIMEOUT = min(1.0, CLIENT_TIMEOUT)
        self.log.error_log.addFilter(_SlowClients())
        super().init_process()

    def handle(self, conn: gthread.TConn):
        """gthread's ``handle``, then, when the connection ends here, its graceful close in
        this pool thread.

        gthread 27.0.1 leaves that close to ``finish_request`` on the main thread, and a
        graceful close (``util.close_graceful``) waits up to 2 s for the client's FIN. A
        client that stops mid-request and keeps its socket open costs the heartbeat those
        2 s; the callbacks of connections that timed out together run back to back without
        a ``notify()``, so six such clients on one worker (12 s) got it killed by a 10 s
        ``timeout`` (tests/test_hostile_serving.py), fifteen by the default 30 s. Here the
        wait holds one of the pool's threads, and the main loop keeps beating.
        """
        result = super().handle(conn)
        if not result:  # False: the connection is done (a deferred one is ``_DEFER``, truthy)
            conn.close(graceful=True)
        return result


class OneAtATime:
    """WSGI middleware: one request at a time in the app per process, I/O outside the lock.

    The request body (at most ``max_body`` bytes, which the app refuses past anyway) is
    read before the lock is taken, and the response is sent between the lock's turns, so a
    slow client never holds it. ``/healthz`` does not take it: it touches no index.
    """

    def __init__(self, app, max_body: int) -> None:
        self.app = app
        self.max_body = max_body
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") in BODY_METHODS:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length <= self.max_body:
                stream = environ["wsgi.input"]
                data = stream.read(length) if length else stream.read(self.max_body + 1)
                environ["wsgi.input"] = io.BytesIO(data)
                if not length:
                    environ["CONTENT_LENGTH"] = str(len(data))
        with self.lock:
            result = self.app(environ, start_response)
        return _Turns(result, self.lock)


class _Turns:
    """A response iterable whose chunks are produced under the lock and sent outside it."""

    def __init__(self, result: Iterable[bytes], lock: threading.Lock) -> None:
        self.result = result
        self.lock = lock

    def __iter__(self) -> Iterator[bytes]:
        it = iter(self.result)
        while True:
            with self.lock:
                try:
                    chunk = next(it)
                except StopIteration:
                    return
            yield chunk

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        with self.lock:
            if close is not None:
                close()
            caches.trim()  # the request's new words: keep the memos within the worker's plan
