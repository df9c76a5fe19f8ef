"""``GET /api/events``: the master's server-sent events, relayed to the browser unchanged.

Bounded: at most ``max_streams`` relays at once (503 beyond), each for at most ``stream_s``
seconds; then it ends and the browser's EventSource reconnects with ``Last-Event-ID``, which is
passed to the master so it replays what the browser missed.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator

import httpx
from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from deploy.ui.app import ui
from deploy.ui.master_proxy import MasterUnavailable

__all__ = ["bp"]

logger = logging.getLogger(__name__)

bp = Blueprint("relay", __name__)

EVENT_ID = re.compile(r"[0-9]{1,20}(-[0-9]{1,20})?", re.ASCII)
RECONNECT_MS = 1000
FULL_RETRY_AFTER_S = 5


def _slots() -> threading.BoundedSemaphore:
    return current_app.extensions.setdefault("roboos_ui_streams",
                                             threading.BoundedSemaphore(ui().settings.max_streams))


@bp.get("/api/events")
def events() -> ResponseReturnValue:
    """The relay; ``?since=0`` (or an event id) replays the retained history first, unless the
    reconnecting browser's ``Last-Event-ID`` says where it stopped."""
    last_id = request.headers.get("Last-Event-ID") or request.args.get("since") or None
    if last_id is not None and not EVENT_ID.fullmatch(last_id):
        return jsonify(status="error", message=f"Last-Event-ID and since must be event ids, got {last_id!r}"), 400
    slots = _slots()
    if not slots.acquire(blocking=False):
        return jsonify(status="error", message="too many live streams; retry later"), 503, \
            {"Retry-After": str(FULL_RETRY_AFTER_S)}
    stack = contextlib.ExitStack()
    stack.callback(slots.release)
    try:
        upstream = stack.enter_context(ui().proxy.events(g.session.token, last_id))
        if upstream.status_code != 200:
            upstream.read()
            stack.close()
            return jsonify(status="error", message=f"the master's /events answered HTTP {upstream.status_code}: "
                                                   f"{upstream.text[:200]}"), 502
    except BaseException:
        stack.close()
        raise
    disconnected = request.environ.get("waitress.client_disconnected", lambda: False)
    deadline = time.monotonic() + ui().settings.stream_s
    response = Response(_relay(upstream, disconnected, deadline), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(stack.close)
    return response


def _relay(upstream: httpx.Response, disconnected: Callable[[], bool], deadline: float) -> Iterator[bytes]:
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    try:
        for chunk in upstream.iter_raw():
            yield chunk
            if disconnected() or time.monotonic() > deadline:
                return
    except (httpx.HTTPError, MasterUnavailable) as e:
        logger.info("event relay ends: %s", e)
