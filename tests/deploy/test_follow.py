"""``roboos task``'s client: following a task over the master's ``/events`` stream.

The master is faked at the HTTP layer (``httpx.MockTransport``) and writes its events with the real
``master.routes.events.format_event``; each ``/events`` call gets the next scripted body.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.errors import DeployError
from deploy.follow import MasterClient, TaskFollower
from master.routes.events import format_event
from memory.events import Event

TASK = "t1"
SUBTASKS = [{"subtask_id": "s1", "robot": "runner", "text": "Fetch the cup.", "state": "waiting"}]


def _event(event_id: str, kind: str, **data: object) -> str:
    return format_event(event_id, kind, Event(event_id, 0.0, kind, "runner", TASK, dict(data)).to_dict())


class FakeMaster:
    """``/tasks/t1`` and ``/events``; records the ``Last-Event-ID`` of every stream opened."""

    def __init__(self, *streams: Iterator[str] | list[str], state: str = "running") -> None:
        self.streams = list(streams)
        self.state = state
        self.opened_after: list[str | None] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/tasks/{TASK}":
            record = {"task_id": TASK, "state": self.state, "subtasks": SUBTASKS}
            return httpx.Response(200, json={"success": True, "data": record})
        if request.url.path == "/events":
            assert request.url.params["task_id"] == TASK
            self.opened_after.append(request.headers.get("Last-Event-ID"))
            body = (chunk.encode() for chunk in self.streams.pop(0))
            return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=body)
        return httpx.Response(404, json={"success": False, "message": f"no route {request.url.path}"})

    def client(self) -> MasterClient:
        return MasterClient("http://master", transport=httpx.MockTransport(self.handle))


def _follow(master: FakeMaster, timeout_s: float = 30.0) -> tuple[dict[str, object], str]:
    out = io.StringIO()
    record = TaskFollower(master.client(), out).follow(TASK, "100-0", timeout_s)
    return record, out.getvalue()


def test_follows_subtasks_until_the_task_ends() -> None:
    stream = [": connected\n\n", _event("101-0", "subtask_state", subtask_id="s1", state="running"),
              ": keep-alive\n\n", _event("102-0", "subtask_state", subtask_id="s1", state="succeeded"),
              _event("103-0", "task_state", state="succeeded")]
    master = FakeMaster(stream)
    _, printed = _follow(master)
    assert master.opened_after == ["100-0"]
    assert "started    s1 [runner] Fetch the cup." in printed
    assert "succeeded  s1 [runner] in " in printed


def test_a_stream_the_master_ends_is_reopened_after_the_last_event() -> None:
    first = [": connected\n\n", _event("101-0", "subtask_state", subtask_id="s1", state="running")]
    second = [": connected\n\n", _event("102-0", "task_state", state="failed")]
    master = FakeMaster(first, second)
    _follow(master)
    assert master.opened_after == ["100-0", "101-0"]


def test_the_deadline_holds_while_only_keep_alives_come() -> None:
    master = FakeMaster(itertools.repeat(": keep-alive\n\n"))
    with pytest.raises(DeployError, match="task t1 did not finish in time"):
        _follow(master, timeout_s=0.05)


def test_an_error_reply_names_the_status_and_message() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/events":
            return httpx.Response(503, json={"success": False, "message": "no free event stream"})
        return FakeMaster().handle(request)

    client = MasterClient("http://master", transport=httpx.MockTransport(refuse))
    with pytest.raises(DeployError, match="GET /events: HTTP 503: no free event stream"):
        list(client.events(TASK, "100-0", time.monotonic() + 5))


def test_an_event_that_is_not_json_is_a_deploy_error() -> None:
    master = FakeMaster(["id: 101-0\nevent: task_state\ndata: {oops\n\n"])
    with pytest.raises(DeployError, match="not JSON"):
        list(master.client().events(TASK, "100-0", time.monotonic() + 5))


def test_event_data_is_the_events_dict() -> None:
    master = FakeMaster([_event("101-0", "task_state", state="succeeded")])
    (event,) = itertools.islice(master.client().events(TASK, "100-0", time.monotonic() + 5), 1)
    assert (event["id"], event["kind"], event["data"]) == ("101-0", "task_state", {"state": "succeeded"})

