"""gunicorn settings for Kashaf: ``gunicorn -c web/gunicorn.conf.py 'web:create_app()'``.

Environment: ``KASHAF_INDEX`` (index directory), ``KASHAF_BIND`` (default
127.0.0.1:8000; put a reverse proxy in front), ``KASHAF_WORKERS`` (default
cores + 1, at most 8 and at most what half the memory holds at ``KASHAF_WORKER_MB``,
default 300, each: web/sizing.py), ``KASHAF_TIMEOUT`` (seconds, default 30),
``KASHAF_LOG_FORMAT=json`` (one JSON object per access-log line and per error).
"""

import os

from web.logs import json_enabled
from web.sizing import workers_from_env


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = os.environ.get("KASHAF_BIND", "127.0.0.1:8000").split(",")
# Searching is CPU-bound Python run one request at a time per worker: cores + 1 workers,
# fewer when the machine's memory (or the cgroup limit) cannot hold them beside the page
# cache (web/sizing.py); KASHAF_WORKERS overrides.
workers = workers_from_env()
# gthread with JSON error answers and client timeouts (web/worker.py): sockets are read and
# written by threads, so a slow or silent client holds one thread, not a process; the app
# still runs one request at a time per process (web.worker.OneAtATime, set in create_app).
worker_class = "web.worker.KashafWorker"
# Connections served at once per worker: threads mostly wait on sockets (the app runs one
# request at a time), so many cost little and let silent or slow clients not crowd others out.
threads = _int_env("KASHAF_THREADS", 32)
# The heartbeat runs in the worker's main thread, so a long (bounded) request or an export
# that keeps streaming is not killed; a worker that stops answering at all still is.
timeout = _int_env("KASHAF_TIMEOUT", 30)
graceful_timeout = 20  # on SIGTERM/HUP, requests in flight get this long to finish
keepalive = 2

# The app is imported in the master and forked (copy-on-write memory, fast worker
# replacement). That is safe because create_app() opens no index: each worker
# opens its own SQLite connection and Whoosh files on its first request, and
# IndexState discards anything inherited across a fork.
preload_app = True
# gunicorn's runtime control socket has one default path per user: two servers on one
# machine would fight over it, and nothing here needs it.
control_socket_disable = True


def when_ready(server) -> None:
    """Load the analyzers' lexicons (a few seconds) and open and warm the published index
    once, in the master, before forking: every worker starts with them, sharing the pages
    (web/state.py, ``IndexState.warm``), so a new worker answers its first request at once.

    The SQLite connections (the root lexicon's, the document store's) are closed again
    before this returns, so no connection crosses the fork.
    """
    from indexer.search import build_query, query_words

    build_query(query_words("انسحبت قوات النظام من الرقة"))
    _warm(server)


def pre_fork(server, worker) -> None:
    """Before each new worker (the first ones, and a replacement): when ``kashaf index`` has
    published a new generation since, warm that one, so the replacement starts warm too."""
    _warm(server)


def _warm(server) -> None:
    import time

    from web.sizing import release_free_memory
    from web.state import WARM_SEARCHES

    state = server.app.wsgi().extensions["kashaf"]
    before = state.open_generation
    started = time.monotonic()
    try:
        if state.warm(WARM_SEARCHES) and state.open_generation != before:
            server.log.info(
                "index generation %s opened and warmed in %.1f s; workers share it",
                state.open_generation,
                time.monotonic() - started,
            )
    except Exception:  # an index that cannot be opened must not stop the server
        server.log.exception("could not warm the index; workers open it themselves")
    # What the warm-up freed, back to the kernel before a fork: else a worker's first
    # vectors reuse the master's freed chunks, and clearing them copies each page.
    release_free_memory()


def post_worker_init(worker) -> None:
    """Streamed exports notify the arbiter between batches (web/heartbeat.py), so a long
    export is not killed by ``timeout``; a request silent that long still is. And one malloc
    arena for the worker's threads (web/sizing.py, before they start)."""
    from web import heartbeat
    from web.sizing import one_malloc_arena

    heartbeat.install(worker)
    one_malloc_arena()


# Bounds at the HTTP layer; the app bounds bodies (1 MiB, 413) and parameters itself.
limit_request_line = 8190  # the longest URL (gunicorn's maximum); a 1000-char Arabic query fits
limit_request_fields = 100
limit_request_field_size = 8190

accesslog = "-"  # stdout
errorlog = "-"  # stderr
loglevel = os.environ.get("KASHAF_LOG_LEVEL", "info")
if json_enabled():
    logger_class = "web.logs.JsonGunicornLogger"
else:
    access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms pid=%(p)s'

proc_name = "kashaf"
