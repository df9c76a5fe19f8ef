"""``GET /metrics``: the master's figures in the Prometheus text format (see master/metrics.py)."""

from __future__ import annotations

from flask import Blueprint, Response

from master.api import service
from master.metrics import CONTENT_TYPE

__all__ = ["bp"]

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Always 200 while the master runs: what could not be read (Redis away) is left out and
    ``roboos_shared_memory_up`` says so; open like every GET endpoint (no token needed)."""
    body = service().metrics.exposition()
    return Response(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
