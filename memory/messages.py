"""Messages that cross Redis between master, slavers and skills.

Every message is a dataclass with ``to_dict()`` / ``from_dict()``; on the wire it is JSON.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Effect",
    "SubtaskMessage",
    "SubtaskResult",
    "SubtaskState",
    "TaskState",
    "ToolCall",
    "ToolOutcome",
    "TERMINAL_TASK_STATES",
]


class TaskState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_TASK_STATES = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED})


class SubtaskState(StrEnum):
    WAITING = "waiting"  # dependencies not done yet
    DISPATCHED = "dispatched"  # in the robot's stream, not started
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its slaver died mid-run; reported, never silently re-run
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # dropped by a replan

    @property
    def terminal(self) -> bool:
        return self not in (SubtaskState.WAITING, SubtaskState.DISPATCHED, SubtaskState.RUNNING)


@dataclass
class ToolCall:
    """One grounded call of a robot skill (an MCP tool)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": dict(self.arguments)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        return cls(name=data["name"], arguments=dict(data.get("arguments") or {}))


@dataclass
class Effect:
    """A structured change to the shared world, reported by a skill and applied by the slaver.

    ``op`` is one of:
      - ``"move"``: node ``node`` gets parent ``parent`` with relation ``relation``
        (``on``/``in``/``at``/``held_by``); ``expect_parent`` (optional) guards the change.
      - ``"set"``: node ``node`` gets the properties in ``props`` merged into its own.
    """

    op: str
    node: str
    parent: str | None = None
    relation: str | None = None
    expect_parent: str | None = None
    props: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"op": self.op, "node": self.node, "parent": self.parent, "relation": self.relation,
                "expect_parent": self.expect_parent, "props": None if self.props is None else dict(self.props)}
        return {k: v for k, v in data.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Effect:
        return cls(
            op=data["op"],
            node=data["node"],
            parent=data.get("parent"),
            relation=data.get("relation"),
            expect_parent=data.get("expect_parent"),
            props=data.get("props"),
        )


@dataclass
class SubtaskMessage:
    """What the master appends to a robot's subtask stream."""

    task_id: str
    subtask_id: str
    robot: str
    text: str
    actions: list[ToolCall] = field(default_factory=list)
    timeout_s: float = 60.0
    attempt: int = 0
    dispatched_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "subtask_id": self.subtask_id, "robot": self.robot, "text": self.text,
                "actions": [a.to_dict() for a in self.actions], "timeout_s": self.timeout_s, "attempt": self.attempt,
                "dispatched_at": self.dispatched_at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubtaskMessage:
        return cls(
            task_id=data["task_id"],
            subtask_id=data["subtask_id"],
            robot=data["robot"],
            text=data["text"],
            actions=[ToolCall.from_dict(a) for a in data.get("actions") or []],
            timeout_s=float(data.get("timeout_s", 60.0)),
            attempt=int(data.get("attempt", 0)),
            dispatched_at=float(data.get("dispatched_at", 0.0)),
        )


@dataclass
class ToolOutcome:
    """What one skill call returned, as recorded in a subtask result."""

    name: str
    arguments: dict[str, Any]
    ok: bool
    message: str = ""
    effects: list[Effect] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": dict(self.arguments), "ok": self.ok, "message": self.message,
                "effects": [e.to_dict() for e in self.effects], "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolOutcome:
        return cls(
            name=data["name"],
            arguments=dict(data.get("arguments") or {}),
            ok=bool(data["ok"]),
            message=data.get("message", ""),
            effects=[Effect.from_dict(e) for e in data.get("effects") or []],
            duration_s=float(data.get("duration_s", 0.0)),
        )


@dataclass
class SubtaskResult:
    """What a slaver appends to the results stream when a subtask ends."""

    task_id: str
    subtask_id: str
    robot: str
    state: SubtaskState  # SUCCEEDED, FAILED or INTERRUPTED
    reason: str = ""
    outcomes: list[ToolOutcome] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0
    attempt: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "subtask_id": self.subtask_id, "robot": self.robot, "state": str(self.state),
                "reason": self.reason, "outcomes": [o.to_dict() for o in self.outcomes], "started_at": self.started_at,
                "finished_at": self.finished_at, "attempt": self.attempt}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubtaskResult:
        return cls(
            task_id=data["task_id"],
            subtask_id=data["subtask_id"],
            robot=data["robot"],
            state=SubtaskState(data["state"]),
            reason=data.get("reason", ""),
            outcomes=[ToolOutcome.from_dict(o) for o in data.get("outcomes") or []],
            started_at=float(data.get("started_at", 0.0)),
            finished_at=float(data.get("finished_at", 0.0)),
            attempt=int(data.get("attempt", 0)),
        )
