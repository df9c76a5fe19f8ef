"""Publish a task to a master and follow it live from its event stream (server-sent events)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from httpx_sse import SSEError, connect_sse

from deploy.errors import DeployError
from memory.messages import TERMINAL_TASK_STATES, SubtaskState

__all__ = ["MasterClient", "TaskFollower"]

logger = logging.getLogger(__name__)

STREAM_TIMEOUT = httpx.Timeout(10.0, read=30.0)
REOPEN_PAUSE_S = 0.5  # before reopening a stream that ended without an event

TERMINAL = {str(state) for state in TERMINAL_TASK_STATES}
SUBTASK_END = {str(state) for state in SubtaskState if state.terminal}


class MasterClient:
    """A thin HTTP client of the master API that turns error envelopes into ``DeployError``.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``).
    """

    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise DeployError(f"cannot reach the master at {self.base_url}: {e}") from e
        try:
            body = response.json()
        except ValueError:
            raise DeployError(f"{method} {path}: HTTP {response.status_code}, not JSON: {response.text[:200]}") from None
        if response.status_code >= 400:
            details = "; ".join(body.get("errors") or [])
            raise DeployError(f"{method} {path}: HTTP {response.status_code}: {body.get('message')}"
                              + (f" ({details})" if details else ""))
        return body

    def publish(self, task: str) -> dict[str, Any]:
        return self.request("POST", "/publish_task", json={"task": task})

    def task(self, task_id: str) -> dict[str, Any]:
        return self.request("GET", f"/tasks/{task_id}")["data"]

    def scene(self) -> dict[str, Any]:
        return self.request("GET", "/scene")["data"]

    def events(self, task_id: str, since: str, deadline: float) -> Iterator[dict[str, Any]]:
        """Server-sent events of one task after event id ``since``, as dicts, until the caller stops.

        ``DeployError`` once ``deadline`` (``time.monotonic()``) passes, checked on every chunk the
        master sends (a keep-alive comment every 15 s, so even when no event comes); a silent
        connection fails after 30 s. A stream the master ends (it cuts off a reader that falls far
        behind) is reopened with ``Last-Event-ID``: nothing is lost or repeated.
        """
        last_id = since
        while True:
            opened_after = last_id
            try:
                with connect_sse(self.http, "GET", "/events", params={"task_id": task_id},
                                 headers={"Last-Event-ID": last_id}, timeout=STREAM_TIMEOUT) as source:
                    self._check_stream(source.response)
                    source.response.stream = _UntilDeadline(source.response.stream, deadline, task_id)
                    for sse in source.iter_sse():
                        if sse.data:  # keep-alives come as events without data once an id was seen
                            last_id = sse.id or last_id
                            yield json.loads(sse.data)
            except (httpx.HTTPError, SSEError) as e:
                raise DeployError(f"lost the event stream of {self.base_url}: {e}") from e
            except ValueError as e:
                raise DeployError(f"the event stream of {self.base_url} sent an event that is not JSON: {e}") from e
            _check_deadline(deadline, task_id)
            logger.info("event stream of task %s ended; reopening after event %s", task_id, last_id)
            if last_id == opened_after:  # it ended without news: do not hammer the master
                time.sleep(REOPEN_PAUSE_S)

    def _check_stream(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
            try:
                message = response.json().get("message")
            except ValueError:
                message = response.text[:200]
            raise DeployError(f"GET /events: HTTP {response.status_code}: {message}")


class _UntilDeadline(httpx.SyncByteStream):
    """A response body that raises ``DeployError`` at its first chunk after ``deadline``.

    httpx-sse reports no comment lines, so the master's keep-alives reach only this layer.
    """

    def __init__(self, stream: httpx.SyncByteStream, deadline: float, task_id: str) -> None:
        self.stream, self.deadline, self.task_id = stream, deadline, task_id

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            _check_deadline(self.deadline, self.task_id)
            yield chunk

    def close(self) -> None:
        self.stream.close()


def _check_deadline(deadline: float, task_id: str) -> None:
    if time.monotonic() > deadline:
        raise DeployError(f"task {task_id} did not finish in time")


@dataclass
class SubtaskLine:
    subtask_id: str
    robot: str
    text: str
    started: float | None = None


class TaskFollower:
    """Prints each subtask as it starts and ends, then returns the final task record."""

    def __init__(self, client: MasterClient, out: TextIO) -> None:
        self.client = client
        self.out = out
        self.subtasks: dict[str, SubtaskLine] = {}
        self.t0 = time.monotonic()

    def run(self, task: str, timeout_s: float) -> dict[str, Any]:
        since = f"{int((time.time() - 5) * 1000)}-0"
        self.t0 = time.monotonic()
        reply = self.client.publish(task)
        task_id = reply["task_id"]
        self._print_plan(task_id, reply["data"])
        return self.follow(task_id, since, timeout_s)

    def follow(self, task_id: str, since: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        record = self.client.task(task_id)
        self._learn_subtasks(record)
        if record["state"] in TERMINAL:
            return record
        try:
            for event in self.client.events(task_id, since, deadline):
                if self._on_event(task_id, event):
                    break
        except DeployError as e:
            raise DeployError(f"{e} (followed for {timeout_s:.0f} s; see GET /tasks/{task_id})") from e
        return self.client.task(task_id)

    def _print_plan(self, task_id: str, data: dict[str, Any]) -> None:
        steps = data.get("subtask_list", [])
        self._say(f"task {task_id}: {len(steps)} subtasks planned. {data.get('reasoning_explanation', '')}")
        for step in steps:
            after = f" (after {', '.join(step['depends_on'])})" if step.get("depends_on") else ""
            self._say(f"  {step.get('subtask_id', '?')} [{step['robot_name']}] {step['subtask']}{after}")

    def _learn_subtasks(self, record: dict[str, Any]) -> None:
        for sub in record.get("subtasks", []):
            if sub["subtask_id"] not in self.subtasks:
                self.subtasks[sub["subtask_id"]] = SubtaskLine(sub["subtask_id"], sub["robot"], sub["text"])

    def _on_event(self, task_id: str, event: dict[str, Any]) -> bool:
        """Handle one event; True when the task is over."""
        kind, data = event.get("kind"), event.get("data", {})
        if kind == "subtask_state":
            self._on_subtask(task_id, data)
        elif kind == "replan":
            self._say(f"replanning ({data.get('replans', '?')}): {data.get('reason', '')}")
            self._learn_subtasks(self.client.task(task_id))
        elif kind == "task_state":
            return data.get("state") in TERMINAL
        return False

    def _on_subtask(self, task_id: str, data: dict[str, Any]) -> None:
        sub_id, state = data.get("subtask_id", "?"), data.get("state")
        if sub_id not in self.subtasks:
            self._learn_subtasks(self.client.task(task_id))
        line = self.subtasks.get(sub_id) or SubtaskLine(sub_id, data.get("robot", "?"), "")
        if state == "running":
            line.started = time.monotonic()
            self._say(f"{'started':<10} {sub_id} [{line.robot}] {line.text}")
        elif state in SUBTASK_END:
            took = f" in {time.monotonic() - line.started:.2f} s" if line.started else ""
            reason = f": {data['reason']}" if data.get("reason") else ""
            self._say(f"{state:<10} {sub_id} [{line.robot}]{took}{reason}")
            for outcome in data.get("outcomes") or []:
                mark = "" if outcome.get("ok") else " (failed)"
                self._say(f"{'':<10}   {outcome.get('name')}{mark}: {outcome.get('message', '')}")

    def _say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.2f}s] {text}", file=self.out, flush=True)


def summary(record: dict[str, Any]) -> list[str]:
    """Lines describing how a task ended: one per subtask, then the task."""
    lines = []
    for sub in record.get("subtasks", []):
        took = ""
        if sub.get("started_at") and sub.get("finished_at"):
            took = f"{sub['finished_at'] - sub['started_at']:.2f} s"
        lines.append(f"  {sub['subtask_id']:<8} {sub['robot']:<14} {sub['state']:<11} {took:>8}  {sub['text']}")
    total = ""
    if record.get("finished_at") and record.get("created_at"):
        total = f" in {record['finished_at'] - record['created_at']:.2f} s"
    info = record.get("plan_info", {})
    planner = info.get("planner")
    by = f" (plan by the {planner} planner)" if planner else ""
    if info.get("fallback_from"):
        why = (info.get("llm") or {}).get("reason", "")
        by = f" (plan by the {planner} planner, as fallback: the {info['fallback_from']} planner failed: {why[:300]})"
    reason = f": {record['reason']}" if record.get("reason") else ""
    lines.append(f"task {record['task_id']} {record['state']}{total}{by}{reason}")
    return lines
