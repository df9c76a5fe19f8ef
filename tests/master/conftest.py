"""Fixtures for the master's tests: masters started on the session's real Redis."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient

from brain.planner import Planner
from master.app import create_app
from master.config import MasterConfig
from master.server import serve
from master.service import MasterService

SERVE_READY_S = 15.0


@dataclass
class Masters:
    """Starts masters on the test's Redis and prefix; stops them all at the end."""

    redis_url: str
    prefix: str
    started: list[MasterService] = field(default_factory=list)

    def start(self, planner: Planner, **config: Any) -> tuple[MasterService, FlaskClient]:
        defaults = {"subtask_timeout_s": 10.0, "max_replans": 1, "offline_check_interval_s": 0.2, "plan_timeout_s": 5.0,
                    "offline_grace_s": 0.5}
        service = MasterService(MasterConfig(**{**defaults, **config}), self.redis_url, self.prefix, planner)
        service.start()
        self.started.append(service)
        return service, create_app(service).test_client()

    @contextmanager
    def serve(self, planner: Planner, redis_url: str | None = None, **config: Any) -> Iterator[str]:
        """A master served over real HTTP (waitress) on a free loopback port; yields its base URL."""
        config = {"port": free_port(), "plan_timeout_s": 5.0, **config}
        stop = threading.Event()
        args = (MasterConfig(**config), redis_url or self.redis_url, self.prefix, planner, stop)
        thread = threading.Thread(target=serve, args=args, name="test-master", daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{config['port']}"
        try:
            wait_listening(base, thread)
            yield base
        finally:
            stop.set()
            thread.join(SERVE_READY_S)
        assert not thread.is_alive(), "the served master did not stop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(base: str, thread: threading.Thread) -> None:
    """Until ``base`` answers /health (any status), bounded; fail early if the server thread died."""
    deadline = time.monotonic() + SERVE_READY_S
    while time.monotonic() < deadline and thread.is_alive():
        try:
            httpx.get(f"{base}/health", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.05)  # the listener is not bound yet
    raise AssertionError(f"the master at {base} did not start listening")



@pytest.fixture
def masters(redis_url: str, key_prefix: str) -> Iterator[Masters]:
    m = Masters(redis_url, key_prefix)
    yield m
    for service in m.started:
        service.stop()
