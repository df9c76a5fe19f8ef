"""What the dashboard shows of the master's records: small, flat dicts for the template and the JSON."""

from __future__ import annotations

from typing import Any

__all__ = ["TERMINAL", "robot_view", "task_view"]

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def robot_view(record: dict[str, Any]) -> dict[str, Any]:
    profile = record.get("profile") or {}
    return {
        "name": str(profile.get("name", "?")),
        "embodiment": str(profile.get("embodiment", "")),
        "online": bool(record.get("online")),
        "state": str(record.get("status", "")),
        "degraded": str(record.get("degraded") or ""),
        "place": str(record.get("position") or ""),
        "holding": [str(h) for h in record.get("holding") or []],
        "current_subtask": str(record.get("current_subtask") or ""),
    }


def task_view(record: dict[str, Any]) -> dict[str, Any]:
    state = str(record.get("state", ""))
    return {
        "task_id": str(record.get("task_id", "?")),
        "text": str(record.get("text", "")),
        "state": state,
        "reason": str(record.get("reason") or ""),
        "cancellable": state not in TERMINAL,
        "subtasks": [_subtask_view(s) for s in record.get("subtasks") or []],
    }


def _subtask_view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "subtask_id": str(record.get("subtask_id", "?")),
        "robot": str(record.get("robot", "")),
        "text": str(record.get("text", "")),
        "state": str(record.get("state", "")),
        "reason": str(record.get("reason") or ""),
        "depends_on": [str(d) for d in record.get("depends_on") or []],
    }
