"""Live events as server-sent events.

``GET /events`` streams every new event; ``?since=<id>`` (or the ``Last-Event-ID`` header a
reconnecting browser sends) replays retained events after that id first (``since=0``: all);
``?task_id=`` keeps one task's events. Each event is ``id:``, ``event: <kind>``, ``data: <json>``;
a comment line keeps idle connections open. The stream ends when the client goes away (the
next write fails) or the master stops.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator

from flask import Blueprint, Response, request

from master.api import APIError, service
from master.errors import MasterError
from master.service import MasterService

__all__ = ["bp", "KEEPALIVE_S", "format_event"]

logger = logging.getLogger(__name__)

bp = Blueprint("events", __name__)

STREAM_ID = re.compile(r"^\d+(-\d+)?$")
BLOCK_MS = 1000
KEEPALIVE_S = 15.0


@bp.get("/events")
def events() -> Response:
    since = request.args.get("since") or request.headers.get("Last-Event-ID")
    if since is not None and not STREAM_ID.match(since):
        raise APIError(400, f"'since' must be an event id like 1712345678901-0 (or 0 for all), got {since!r}")
    task_id = request.args.get("task_id") or None
    svc = service()
    start = since or _latest_id(svc)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(_stream(svc, start, task_id), mimetype="text/event-stream", headers=headers)


def format_event(event_id: str, kind: str, data: dict) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _latest_id(svc: MasterService) -> str:
    recent = svc.call(svc.memory.events.recent(1))
    return recent[-1].id if recent else "0-0"


def _stream(svc: MasterService, last_id: str, task_id: str | None) -> Iterator[str]:
    yield ": connected\n\n"
    quiet_since = time.monotonic()
    while True:
        try:
            batch = svc.call(svc.memory.events.after(last_id, block_ms=BLOCK_MS), BLOCK_MS / 1000 + 5)
        except MasterError as e:
            logger.info("event stream ends: %s", e)
            return
        for event in batch:
            last_id = event.id
            if task_id is None or event.task_id == task_id:
                quiet_since = time.monotonic()
                yield format_event(event.id, event.kind, event.to_dict())
        if time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
