"""Live events as server-sent events.

``GET /events`` streams every new event; ``?since=<id>`` (or the ``Last-Event-ID`` header a
reconnecting browser sends, which wins) replays retained events after that id first (``since=0``: all);
``?task_id=`` keeps one task's events. Each event is ``id:``, ``event: <kind>``, ``data: <json>``;
a comment line keeps idle connections open. The stream ends when the client goes away, falls too
far behind (it reconnects with ``Last-Event-ID``) or the master stops.

Streams do not read Redis while they wait: the master's one ``EventFeed`` reads the history and
fans it out. Everything that can fail (a bad id, no free stream slot, Redis down for the first
replay page) is answered with a 4xx/503 before the 200 starts.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, request

from master.api import APIError, service
from master.errors import MasterError
from master.event_feed import FeedFull, Subscription, stream_id_key
from master.service import MasterService
from memory.events import Event

__all__ = ["bp", "KEEPALIVE_S", "format_event", "parse_stream_id"]

logger = logging.getLogger(__name__)

bp = Blueprint("events", __name__)

STREAM_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?", re.ASCII)
MAX_ID_PART = 2**64 - 1
REPLAY_BATCH = 500
WAKE_S = 1.0  # how often a quiet stream checks whether its client went away
KEEPALIVE_S = 15.0
FULL_RETRY_AFTER_S = 5


def parse_stream_id(raw: str) -> str:
    """``raw`` if it is an event id (``<ms>`` or ``<ms>-<seq>``, each below 2**64, ASCII digits only)."""
    match = STREAM_ID.fullmatch(raw)
    if match is None or any(int(part) > MAX_ID_PART for part in match.groups() if part is not None):
        raise APIError(400, f"'since' must be an event id like 1712345678901-0 (or 0 for all), got {raw!r}")
    return raw


@bp.get("/events")
def events() -> Response:
    since = _replay_from()
    task_id = request.args.get("task_id") or None
    svc = service()
    try:
        subscription = svc.feed.subscribe()
    except FeedFull as e:
        raise APIError(503, f"no free event stream ({e}); retry later", {"Retry-After": str(FULL_RETRY_AFTER_S)}) from None
    try:
        first = _replay_page(svc, since) if since is not None else []
    except BaseException:
        subscription.close()
        raise
    disconnected = request.environ.get("waitress.client_disconnected", _never)
    stream = _stream(svc, subscription, since, first, task_id, disconnected)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    response = Response(stream, mimetype="text/event-stream", headers=headers)
    response.call_on_close(subscription.close)
    return response


def _replay_from() -> str | None:
    """The id to replay after, or None for only new events.

    ``Last-Event-ID`` wins over ``since``: a reconnecting EventSource keeps the URL it first
    opened, ``since`` included. Each one given must be an id, an empty one too.
    """
    given = [parse_stream_id(raw) for raw in (request.headers.get("Last-Event-ID"), request.args.get("since"))
             if raw is not None]
    return given[0] if given else None


def format_event(event_id: str, kind: str, data: dict) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _never() -> bool:
    return False


def _replay_page(svc: MasterService, after_id: str) -> list[Event]:
    return svc.call(svc.memory.events.after(after_id, block_ms=0, count=REPLAY_BATCH))


def _stream(svc: MasterService, subscription: Subscription, since: str | None, first: list[Event],
            task_id: str | None, disconnected: Callable[[], bool]) -> Iterator[str]:
    yield ": connected\n\n"
    cursor = since
    page = first
    while page:  # replay what Redis retains, page by page, until it has nothing after the cursor
        yield from _frames(page, task_id)
        cursor = page[-1].id
        try:
            page = _replay_page(svc, cursor)
        except MasterError as e:
            logger.info("event stream ends during replay: %s", e)
            return
    yield from _live(subscription, cursor, task_id, disconnected)


def _live(subscription: Subscription, cursor: str | None, task_id: str | None,
          disconnected: Callable[[], bool]) -> Iterator[str]:
    """What the feed delivers after ``cursor`` (the replay may have sent some already)."""
    seen = stream_id_key(cursor) if cursor is not None else (-1, -1)
    quiet_since = time.monotonic()
    while not disconnected():
        batch = [e for e in subscription.take(WAKE_S) if stream_id_key(e.id) > seen]
        if subscription.ended is not None:
            logger.debug("event stream ends: %s", subscription.ended)
            return
        frames = list(_frames(batch, task_id))
        if frames:
            quiet_since = time.monotonic()
            yield "".join(frames)
        elif time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"


def _frames(events: list[Event], task_id: str | None) -> Iterator[str]:
    for event in events:
        if task_id is None or event.task_id == task_id:
            yield format_event(event.id, event.kind, event.to_dict())
