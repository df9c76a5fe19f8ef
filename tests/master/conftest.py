"""Fixtures for the master's tests: masters started on the session's real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient

from brain.planner import Planner
from master.app import create_app
from master.config import MasterConfig
from master.service import MasterService


@dataclass
class Masters:
    """Starts masters on the test's Redis and prefix; stops them all at the end."""

    redis_url: str
    prefix: str
    started: list[MasterService] = field(default_factory=list)

    def start(self, planner: Planner, **config: Any) -> tuple[MasterService, FlaskClient]:
        defaults = {"subtask_timeout_s": 10.0, "max_replans": 1, "offline_check_interval_s": 0.2, "plan_timeout_s": 5.0}
        service = MasterService(MasterConfig(**{**defaults, **config}), self.redis_url, self.prefix, planner)
        service.start()
        self.started.append(service)
        return service, create_app(service).test_client()



@pytest.fixture
def masters(redis_url: str, key_prefix: str) -> Iterator[Masters]:
    m = Masters(redis_url, key_prefix)
    yield m
    for service in m.started:
        service.stop()
