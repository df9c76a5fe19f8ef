"""What a fault-injection trial did to its task, read from the slavers' logs, the master's task
record and the event history.

- **lost**: a subtask the master recorded dispatched or running that never reached a terminal
  state, a task not terminal at the end, or a terminal state whose event is missing from the history;
- **duplicated**: a (task, subtask) claimed more than once (more than one ``running`` line over all
  runs of all slavers), or a skill call logged after the master had recorded the subtask terminal;
- **stuck**: a task not terminal within its deadline;
- **recovered**: seconds from the fault to the task's terminal state.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = ["ClaimLog", "ScenarioResult", "Trial", "audit_trial", "read_claims", "task_events"]

TERMINAL_TASK = frozenset({"succeeded", "failed", "cancelled"})
OPEN_SUBTASK = frozenset({"dispatched", "running"})
# ``2026-11-26 02:57:39,093 INFO slaver.agent: robot=r1 task=t subtask=s1 running``
_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ slaver\.agent: "
                   r"robot=(\S+) task=(\S+) subtask=(\S+) (running|calling .*)$")


@dataclass
class Trial:
    """One task published under one fault."""

    task_id: str
    robot: str  # the robot the fault was aimed at
    published_at: float
    deadline_s: float
    fault_at: float | None = None  # when the component was killed (or the fault began)
    terminal_at: float | None = None  # when the harness saw the task terminal (None: not within the deadline)
    notes: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)  # the task as GET /tasks/<id> gave it at the end
    lost: int = 0
    duplicated: int = 0
    stuck: bool = False

    @property
    def succeeded(self) -> bool:
        return self.record.get("state") == "succeeded"

    @property
    def recovered_s(self) -> float | None:
        """Seconds from the fault to the task's recorded end."""
        finished = self.record.get("finished_at")
        start = self.fault_at if self.fault_at is not None else self.published_at
        return None if finished is None else max(0.0, finished - start)


@dataclass
class ScenarioResult:
    name: str
    trials: list[Trial] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.trials)

    @property
    def duplicated(self) -> int:
        return sum(t.duplicated for t in self.trials)

    @property
    def stuck(self) -> int:
        return sum(t.stuck for t in self.trials)

    @property
    def succeeded(self) -> int:
        return sum(t.succeeded for t in self.trials)

    @property
    def ok(self) -> bool:
        return self.lost == self.duplicated == self.stuck == 0

    def line(self) -> str:
        """``slaver kill -9: 20 trials, 0 lost, 0 duplicated, 0 stuck, recovered p50 1.2 s, 18 succeeded``"""
        recovered = [t.recovered_s for t in self.trials if t.recovered_s is not None]
        p50 = f"recovered p50 {statistics.median(recovered):.1f} s" if recovered else "recovered p50 -"
        return (f"{self.name}: {len(self.trials)} trials, {self.lost} lost, {self.duplicated} duplicated, "
                f"{self.stuck} stuck, {p50}, {self.succeeded} succeeded")

    def problems(self) -> list[str]:
        """One line per trial that lost, duplicated or got stuck, with its notes."""
        return [f"{self.name}: task {t.task_id} (robot {t.robot}): {t.lost} lost, {t.duplicated} duplicated, "
                f"stuck={t.stuck}; " + "; ".join(t.notes) for t in self.trials if t.lost or t.duplicated or t.stuck]


@dataclass(frozen=True)
class ClaimLine:
    at: float
    robot: str
    task_id: str
    subtask_id: str
    what: str  # "running" or "calling <tool>(...)"
    log: str


@dataclass
class ClaimLog:
    """Every ``running`` and ``calling`` line of every slaver run, by (task, subtask)."""

    lines: list[ClaimLine] = field(default_factory=list)

    def of(self, task_id: str) -> list[ClaimLine]:
        return [line for line in self.lines if line.task_id == task_id]


def read_claims(logs: Iterable[Path]) -> ClaimLog:
    claims = ClaimLog()
    for path in logs:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for raw in text.splitlines():
            match = _LINE.match(raw)
            if match:
                stamp, ms, robot, task_id, subtask_id, what = match.groups()
                at = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000
                claims.lines.append(ClaimLine(at, robot, task_id, subtask_id, what, path.name))
    return claims


def audit_trial(trial: Trial, claims: ClaimLog, events: list[dict[str, Any]] | None) -> None:
    """Fill ``trial``'s counts from its final record, the slavers' claim lines and its events."""
    record = trial.record
    subtasks = {s["subtask_id"]: s for s in record.get("subtasks", [])}
    if record.get("state") not in TERMINAL_TASK:
        trial.lost += 1
        trial.notes.append(f"task is {record.get('state', 'unknown')} at the end")
    for sub in subtasks.values():
        if sub["state"] in OPEN_SUBTASK:
            trial.lost += 1
            trial.notes.append(f"subtask {sub['subtask_id']} ({sub['robot']}) still {sub['state']}")
    _audit_claims(trial, claims.of(trial.task_id), subtasks)
    if events is None:
        trial.lost += 1
        trial.notes.append("GET /events could not be read, so no state change can be shown recorded")
    else:
        _audit_events(trial, events, subtasks)


def _audit_claims(trial: Trial, lines: list[ClaimLine], subtasks: dict[str, dict[str, Any]]) -> None:
    runs = Counter(line.subtask_id for line in lines if line.what == "running")
    for subtask_id, count in runs.items():
        if count > 1:
            trial.duplicated += count - 1
            where = ", ".join(f"{line.log}@{line.at:.3f}" for line in lines
                              if line.subtask_id == subtask_id and line.what == "running")
            trial.notes.append(f"subtask {subtask_id} claimed {count} times ({where})")
        if subtask_id not in subtasks:
            trial.duplicated += 1
            trial.notes.append(f"subtask {subtask_id} ran but the task does not record it")
    late = {line.subtask_id: line for line in lines if line.what.startswith("calling")
            and (finished := subtasks.get(line.subtask_id, {}).get("finished_at")) is not None
            and subtasks[line.subtask_id]["state"] not in OPEN_SUBTASK and line.at > finished}
    for subtask_id, line in late.items():
        trial.duplicated += 1
        trial.notes.append(f"subtask {subtask_id}: {line.what} logged by {line.log} at {line.at:.3f}, after the "
                           f"master recorded it {subtasks[subtask_id]['state']} at "
                           f"{subtasks[subtask_id]['finished_at']:.3f}")


def _audit_events(trial: Trial, events: list[dict[str, Any]], subtasks: dict[str, dict[str, Any]]) -> None:
    """Every terminal state in the record has its event (a state change and its event are one write)."""
    seen = {(e["data"].get("subtask_id"), e["data"].get("state")) for e in events if e["kind"] == "subtask_state"}
    for sub in subtasks.values():
        settled = sub["state"] not in OPEN_SUBTASK and sub["state"] != "waiting"
        if settled and (sub["subtask_id"], sub["state"]) not in seen:
            trial.lost += 1
            trial.notes.append(f"no {sub['state']} event for subtask {sub['subtask_id']}")
    state = trial.record.get("state")
    told = any(e["kind"] == "task_state" and e["data"].get("state") == state for e in events)
    if state in TERMINAL_TASK and not told:
        trial.lost += 1
        trial.notes.append(f"no task_state {state} event")


def task_events(master_url: str, task_id: str, timeout_s: float = 5.0) -> list[dict[str, Any]] | None:
    """The task's events from ``GET /events?since=0&task_id=``, read up to its terminal ``task_state``
    event (or for ``timeout_s``); None when the stream could not be opened."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        with httpx.stream("GET", f"{master_url}/events", params={"since": "0", "task_id": task_id},
                          timeout=httpx.Timeout(timeout_s, read=min(2.0, timeout_s))) as response:
            if response.status_code != 200:
                return None
            for line in response.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    events.append(event)
                    if event["kind"] == "task_state" and event["data"].get("state") in TERMINAL_TASK:
                        break
                if time.monotonic() > deadline:
                    break
    except httpx.ReadTimeout:
        pass  # the replay ended and nothing more came: what was read is all there is
    except httpx.HTTPError:
        return None
    return events
