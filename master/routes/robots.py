"""The fleet: a RoboOS-compatible status list and the full records."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from master.api import service, success

__all__ = ["bp"]

bp = Blueprint("robots", __name__)


@bp.get("/robot_status")
def robot_status() -> ResponseReturnValue:
    svc = service()
    robots = svc.call(svc.memory.robots.list())
    data = [
        {
            "name": r.name,
            "embodiment": r.profile.embodiment,
            "state": "offline" if r.degraded else r.status,  # RoboOS knows idle | busy | offline
            "online": r.online,
            "degraded": r.degraded,
            "position": r.position,
            "holding": list(r.holding),
            "current_subtask": r.current_subtask,
            "last_heartbeat": r.last_heartbeat,
        }
        for r in robots
    ]
    return success(f"{sum(r.online for r in robots)} of {len(robots)} robots online", data=data)


@bp.get("/robots")
def robots() -> ResponseReturnValue:
    svc = service()
    records = svc.call(svc.memory.robots.list())
    return success(f"{len(records)} robots", data=[r.to_dict() for r in records])
