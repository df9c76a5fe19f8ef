"""What ``roboos status`` shows of a running master: each robot and the latest tasks.

Everything comes from the master's HTTP API (``GET /system_status``, ``/robots``, ``/tasks``). A robot
offline for longer than ``gone_after_s`` (by its ``last_heartbeat``) is hidden unless ``show_all``: a
robot of an earlier run stays registered in a kept Redis, but it is no part of this fleet.

    status = fetch_status(client, tasks=10)
    write_status(status, sys.stdout, gone_after_s=60.0)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, TextIO

from deploy.follow import MasterClient
from master.log_format import escape_controls

__all__ = ["MasterStatus", "age", "fetch_status", "visible_robots", "write_status", "write_status_json"]


@dataclass
class MasterStatus:
    """One reading of a master: its counters, every robot record and the latest task records."""

    url: str
    system: dict[str, Any]
    robots: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    now: float  # when it was read (this machine's clock, as the master's timestamps on one machine)


def fetch_status(client: MasterClient, tasks: int) -> MasterStatus:
    """Read counters, robots and the ``tasks`` newest tasks (0: none) from the master behind ``client``."""
    system = client.request("GET", "/system_status")
    robots = client.request("GET", "/robots").get("data") or []
    records = (client.request("GET", "/tasks", params={"limit": tasks}).get("data") or []) if tasks else []
    return MasterStatus(client.base_url, system, robots, records, time.time())


def visible_robots(status: MasterStatus, gone_after_s: float, show_all: bool) -> list[dict[str, Any]]:
    """The robots to show: online ones, and offline ones heard from within ``gone_after_s`` (all if ``show_all``)."""
    if show_all:
        return list(status.robots)
    return [r for r in status.robots
            if r.get("online") or status.now - float(r.get("last_heartbeat") or 0.0) <= gone_after_s]


def age(seconds: float) -> str:
    """``seconds`` as a short age: 42s, 7m, 3h, 2d."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def write_status(status: MasterStatus, out: TextIO, *, gone_after_s: float, show_all: bool = False) -> None:
    """The status as text: a headline, a table of robots, a table of the latest tasks."""
    robots = visible_robots(status, gone_after_s, show_all)
    print(_headline(status), file=out)
    print(f"robots ({len(robots)} shown):" if robots else "robots: none shown", file=out)
    if robots:
        _table(out, None, [_robot_row(status, robot) for robot in robots])
    hidden = len(status.robots) - len(robots)
    if hidden:
        print(f"  ({hidden} robot{'s' * (hidden != 1)} offline for more than {gone_after_s:g} s not shown; "
              "--all shows them)", file=out)
    print(f"latest tasks ({len(status.tasks)}):" if status.tasks else "latest tasks: none", file=out)
    if status.tasks:
        _table(out, ("TASK", "STATE", "AGE", "INSTRUCTION"), [_task_row(status, task) for task in status.tasks])


def write_status_json(status: MasterStatus, out: TextIO, *, gone_after_s: float, show_all: bool = False) -> None:
    """The status as one JSON object: ``master``, ``system`` (counters), ``robots``, ``hidden_robots``, ``tasks``."""
    robots = visible_robots(status, gone_after_s, show_all)
    document = {
        "master": status.url,
        "system": status.system.get("data") or {},
        "robots": [{**_robot_summary(status, r), "seen_s_ago": _seen(status, r)} for r in robots],
        "hidden_robots": [r.get("profile", {}).get("name", "") for r in status.robots if r not in robots],
        "tasks": [{"task_id": t.get("task_id"), "state": t.get("state"), "text": t.get("text"),
                   "created_at": t.get("created_at"), "age_s": round(status.now - t.get("created_at", 0.0), 1)}
                  for t in status.tasks],
    }
    print(json.dumps(document, indent=2), file=out)


def _headline(status: MasterStatus) -> str:
    data = status.system.get("data") or {}
    online = sum(bool(r.get("online")) for r in status.robots)
    parts = [f"{online} of {len(status.robots)} robots online", f"{data.get('tasks_active', 0)} active tasks",
             f"scene version {data.get('scene_version', '?')}", f"planner {data.get('planner', '?')}"]
    if "uptime_s" in data:
        parts.append(f"up {age(float(data['uptime_s']))}")
    return f"master {status.url}: {status.system.get('message', '')}; " + ", ".join(parts)


def _robot_summary(status: MasterStatus, robot: dict[str, Any]) -> dict[str, Any]:
    profile = robot.get("profile") or {}
    return {
        "name": profile.get("name", "?"),
        "embodiment": profile.get("embodiment", ""),
        "state": "degraded" if robot.get("degraded") else robot.get("status", "?"),
        "online": bool(robot.get("online")),
        "place": robot.get("position"),
        "holding": list(robot.get("holding") or []),
        "subtask": _subtask_text(status, robot.get("current_subtask")),
    }


def _robot_row(status: MasterStatus, robot: dict[str, Any]) -> tuple[str, ...]:
    summary = _robot_summary(status, robot)
    seen = _seen(status, robot)
    return (summary["name"], summary["embodiment"], summary["state"], f"at {summary['place'] or '?'}",
            f"holding {', '.join(summary['holding']) or 'nothing'}",
            "never seen" if seen is None else f"seen {age(seen)} ago",
            f"on {summary['subtask']}" if summary["subtask"] else "")


def _seen(status: MasterStatus, robot: dict[str, Any]) -> float | None:
    """Seconds since the robot's last heartbeat; None if it never sent one."""
    last = float(robot.get("last_heartbeat") or 0.0)
    return round(status.now - last, 1) if last else None


def _subtask_text(status: MasterStatus, subtask_id: str | None) -> str | None:
    """``subtask_id`` with its sentence when one of the listed tasks holds it."""
    if not subtask_id:
        return None
    for task in status.tasks:
        for subtask in task.get("subtasks") or []:
            if subtask.get("subtask_id") == subtask_id:
                return f"{subtask_id}: {escape_controls(str(subtask.get('text', '')))}"
    return subtask_id


def _task_row(status: MasterStatus, task: dict[str, Any]) -> tuple[str, ...]:
    text = escape_controls(str(task.get("text", "")))  # a client's text must not repaint this terminal
    created = float(task.get("created_at") or status.now)
    return (str(task.get("task_id", "?")), str(task.get("state", "?")), age(status.now - created),
            text if len(text) <= 60 else text[:57] + "...")


def _table(out: TextIO, header: tuple[str, ...] | None, rows: list[tuple[str, ...]]) -> None:
    """``rows`` in aligned columns, under ``header`` if one is given."""
    lines = [header, *rows] if header else rows
    widths = [max(len(str(cell)) for cell in column) for column in zip(*lines)]
    for row in lines:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
