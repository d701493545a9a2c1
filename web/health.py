"""Liveness and readiness for process managers and load balancers."""

from __future__ import annotations

from flask import Blueprint, jsonify

from web import error_response, index_state
from web.state import IndexNotFound

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up and answering (it does not touch the index)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """The index is open: 200 with the generation and document count, else 503."""
    state = index_state()
    try:
        snap = state.snapshot()
        docs = state.document_count()
    except IndexNotFound as exc:
        return error_response(503, "index_not_ready", str(exc))
    return jsonify({"status": "ready", "generation": snap.generation, "documents": docs})
