"""gunicorn settings for Kashaf: ``gunicorn -c web/gunicorn.conf.py 'web:create_app()'``.

Environment: ``KASHAF_INDEX`` (index directory), ``KASHAF_BIND`` (default
127.0.0.1:8000; put a reverse proxy in front), ``KASHAF_WORKERS`` (default
2 × cores + 1, at most 8), ``KASHAF_TIMEOUT`` (seconds, default 30),
``KASHAF_LOG_FORMAT=json`` (one JSON object per access-log line and per error).
"""

import os

from web.logs import json_enabled


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = os.environ.get("KASHAF_BIND", "127.0.0.1:8000").split(",")
# Searching is CPU-bound Python: processes, not threads, give parallelism; more than
# ~2 per core only adds memory (each worker holds its own index snapshot).
workers = _int_env("KASHAF_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8))
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
    """Load the analyzers' lexicons (a few seconds) once, in the master, before forking.

    The root lexicon's SQLite connection is closed again before this returns, so no
    connection crosses the fork.
    """
    from indexer.search import build_query, query_words

    build_query(query_words("انسحبت قوات النظام من الرقة"))


def post_worker_init(worker) -> None:
    """Streamed exports notify the arbiter between batches (web/heartbeat.py), so a long
    export is not killed by ``timeout``; a request silent that long still is."""
    from web import heartbeat

    heartbeat.install(worker)


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
