"""The fleet: RoboOS's status list and our full records."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from master.api import service, success

__all__ = ["bp"]

bp = Blueprint("robots", __name__)


@bp.get("/robot_status")
def robot_status() -> ResponseReturnValue:
    """RoboOS's shape, for its clients: a bare list, one ``{robot_name, robot_state, ...}`` per robot.

    ``robot_state`` is one of RoboOS's idle | busy | offline, so a degraded robot reads offline;
    our own tools read ``GET /robots``.
    """
    svc = service()
    robots = svc.call(svc.memory.robots.list())
    return jsonify([
        {
            "robot_name": r.name,
            "robot_state": "offline" if r.degraded else r.status,
            "embodiment": r.profile.embodiment,
            "online": r.online,
            "degraded": r.degraded,
            "position": r.position,
            "holding": list(r.holding),
            "current_subtask": r.current_subtask,
            "last_heartbeat": r.last_heartbeat,
        }
        for r in robots
    ])


@bp.get("/robots")
def robots() -> ResponseReturnValue:
    svc = service()
    records = svc.call(svc.memory.robots.list())
    return success(f"{len(records)} robots", data=[r.to_dict() for r in records])
