"""Kashaf web: the Flask app factory. Thin: it turns HTTP into calls of the search core.

Production: ``gunicorn -c web/gunicorn.conf.py 'web:create_app()'`` with the index
directory in ``$KASHAF_INDEX``; local use: ``kashaf serve``.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from web import logs
from web.state import IndexNotFound, IndexState

# No inline script or style from anywhere: every asset is served from /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
MAX_BODY_BYTES = 1 << 20  # the largest request body (a POST /api/batch); more is 413


def create_app(index_dir: str | os.PathLike[str] | None = None) -> Flask:
    """Build the Kashaf web app over the index in ``index_dir``.

    ``index_dir`` defaults to ``$KASHAF_INDEX``, else ``./kashaf-index``.
    """
    app = Flask(__name__)
    # Never the debugger or debug pages, whatever FLASK_DEBUG says: this app faces the network.
    app.config["DEBUG"] = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    logs.configure_app(app.logger)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    # "//" stays part of a document id (and is a 404 when none has it), not a redirect.
    app.url_map.merge_slashes = False
    index_dir = Path(index_dir or os.environ.get("KASHAF_INDEX") or "kashaf-index")
    app.extensions["kashaf"] = IndexState(index_dir)

    from web import api, entities, health, pages

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    app.register_blueprint(pages.bp)
    from web import feeds  # /search.atom (web/feeds.py)

    app.register_blueprint(feeds.bp)
    app.register_blueprint(entities.bp)

    from web.worker import OneAtATime

    # One request at a time in the app per process, whatever the worker's threads
    # (web/worker.py): the snapshot's SQLite connection and searcher are never shared.
    app.wsgi_app = OneAtATime(app.wsgi_app, MAX_BODY_BYTES)

    @app.before_request
    def body_limit():
        # Flask enforces MAX_CONTENT_LENGTH only when a view reads the body; refuse a
        # declared oversize body on every endpoint, before routing and any work.
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise RequestEntityTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            resp, status = error_response(
                exc.code or 500, exc.name.lower().replace(" ", "_"), exc.description or ""
            )
            for key, value in exc.get_headers():
                if key.lower() == "allow":  # a 405 says which methods are allowed (RFC 9110)
                    resp.headers[key] = value
            return resp, status
        return exc

    @app.errorhandler(IndexNotFound)
    def index_not_ready(exc: IndexNotFound):
        # No index yet (or it cannot be opened): the service is not ready, it is not broken.
        if wants_json():
            return error_response(503, "index_not_ready", str(exc))
        return Response(f"index not ready: {exc}", status=503, mimetype="text/plain")

    from indexer.engines.sphinx import ClusterError

    @app.errorhandler(ClusterError)
    def cluster_unavailable(exc: ClusterError):
        # The cluster's head did not answer (KASHAF_CLUSTER): unavailable, not broken.
        if wants_json():
            return error_response(503, "cluster_unavailable", str(exc))
        return Response(f"search cluster unavailable: {exc}", status=503, mimetype="text/plain")

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        # Never a stack trace in a response; the log keeps it.
        app.logger.exception("unhandled error on %s", request.path)
        if wants_json():
            return error_response(500, "internal_error", "internal error; see the server log")
        return Response("internal error; see the server log", status=500, mimetype="text/plain")

    return app


def index_state() -> IndexState:
    """The current app's index holder."""
    from flask import current_app

    return current_app.extensions["kashaf"]


def wants_json() -> bool:
    """JSON for /api/*, the *.json twins, and clients that ask for it."""
    path = request.path
    return (
        path.startswith("/api/")
        or path.endswith(".json")
        or path in ("/healthz", "/readyz")
        or request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, code: str, message: str):
    """The one error shape: ``{"error": {"code", "message"}}``."""
    return jsonify({"error": {"code": code, "message": message}}), status
