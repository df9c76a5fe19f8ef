"""Timed ``POST /publish_task`` requests from a process of their own, for the benches.

A request timed in the bench's own process waits for that process: its event loop decodes the
events and skill calls of the very task being published, and a thread would wait for the GIL
(up to ``sys.getswitchinterval()``, 5 ms) while it does. ``PlainPublisher`` sends each POST from a
spawned process that does nothing else, through one keep-alive connection of the standard
library's ``http.client``, and times it there with ``time.perf_counter()`` (CLOCK_MONOTONIC,
comparable across the processes of a machine).

    publisher = PlainPublisher("http://127.0.0.1:5000", timeout_s=60)
    start, end, task_id = await publisher.publish("bot_0012 go to room_0007")
    publisher.close()
"""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["PlainPublisher", "published_id"]

_connection: http.client.HTTPConnection | None = None  # the spawned process's one connection


def published_id(status: int, body: dict[str, Any]) -> str:
    """The task id of a ``/publish_task`` answer; ``RuntimeError`` with the master's message otherwise."""
    if status != 200:
        raise RuntimeError(f"publish failed: HTTP {status}: {body.get('message')}")
    return body["task_id"]


class PlainPublisher:
    """Publishes tasks from one spawned process (see the module's notes); ``close()`` ends it."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        url = urllib.parse.urlsplit(base_url)
        if url.scheme != "http" or not url.hostname or not url.port:
            raise ValueError(f"expected http://host:port, got {base_url!r}")
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_connect,
                                         initargs=(url.hostname, url.port, timeout_s))

    async def publish(self, text: str) -> tuple[float, float, str]:
        """POST ``text`` as a task: ``time.perf_counter()`` just before sending and once answered, and its id."""
        body = json.dumps({"task": text})
        start, end, status, data = await asyncio.get_running_loop().run_in_executor(self._pool, _post, body)
        return start, end, published_id(status, json.loads(data))

    def close(self) -> None:
        self._pool.shutdown()


def _connect(host: str, port: int, timeout_s: float) -> None:
    global _connection
    _connection = http.client.HTTPConnection(host, port, timeout=timeout_s)


def _post(body: str) -> tuple[float, float, int, bytes]:
    assert _connection is not None, "the publisher's process has no connection"
    start = time.perf_counter()
    _connection.request("POST", "/publish_task", body, {"Content-Type": "application/json"})
    response = _connection.getresponse()
    data = response.read()
    return start, time.perf_counter(), response.status, data
