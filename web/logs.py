"""JSON logs: one JSON object per line for every access-log entry and every error.

Switched on by ``KASHAF_LOG_FORMAT=json`` (read by ``web/gunicorn.conf.py``, by
``kashaf serve`` and by :func:`configure_app`). Plain text stays the default
because it is what people read in a terminal.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from flask.logging import default_handler
from gunicorn import glogging


def json_enabled() -> bool:
    """True when ``$KASHAF_LOG_FORMAT`` asks for JSON logs."""
    return os.environ.get("KASHAF_LOG_FORMAT", "").strip().lower() == "json"


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON; access records carry their fields in ``record.access``."""

    def format(self, record: logging.LogRecord) -> str:
        obj = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        access = getattr(record, "access", None)
        if access is not None:
            obj["type"] = "access"
            obj.update(access)
        else:
            obj["type"] = "log"
            obj["message"] = record.getMessage()
        if record.exc_info:
            # Kept in the log, never in a response.
            obj["exception"] = self.formatException(record.exc_info)
        return json.dumps(obj, ensure_ascii=False, default=str)


class JsonGunicornLogger(glogging.Logger):
    """gunicorn's logger with JSON lines for its error log and the access log."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in [*self.error_log.handlers, *self.access_log.handlers]:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        fields = {
            "remote": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or "",
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "ms": round(request_time.total_seconds() * 1000, 2),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "referer": environ.get("HTTP_REFERER"),
        }
        self.access_log.info("access", extra={"access": fields})


def configure_app(logger: logging.Logger) -> None:
    """Give the Flask app's logger (and ``kashaf.*``) a JSON stderr handler when JSON logs are on.

    Idempotent: a later app built without JSON logs gets the loggers back as they were.
    """
    state_log = logging.getLogger("kashaf")
    for log in (logger, state_log):
        for handler in [h for h in log.handlers if getattr(h, "_kashaf_json", False)]:
            log.removeHandler(handler)
        log.propagate = True
    if not json_enabled():
        return
    logger.removeHandler(default_handler)  # Flask's text handler (to wsgi.errors): no mixed lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._kashaf_json = True  # type: ignore[attr-defined]
    for log in (logger, state_log):
        log.addHandler(handler)
        log.propagate = False
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
