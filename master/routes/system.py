"""Health, system status and the API's own description."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from master.api import error_response, service, success
from master.errors import MasterError
from master.service import MasterService
from memory import SharedMemory

__all__ = ["bp", "OPENAPI_PATH"]

bp = Blueprint("system", __name__)

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"
HEALTH_TIMEOUT_S = 3.0


@bp.get("/health")
def health() -> ResponseReturnValue:
    svc = service()
    try:
        svc.call(_ping(svc.memory), HEALTH_TIMEOUT_S)
    except MasterError as e:
        return error_response(503, f"shared memory unreachable: {e}", redis="down", planner=svc.planner_name)
    return jsonify({"status": "ok", "message": "ok", "redis": "up", "planner": svc.planner_name})


async def _ping(memory: SharedMemory) -> None:
    try:
        answered = await asyncio.wait_for(memory.ping(), HEALTH_TIMEOUT_S - 0.5)
    except TimeoutError:
        raise MasterError("Redis did not answer PING in time") from None
    if not answered:
        raise MasterError("Redis does not answer PING")


@bp.get("/system_status")
def system_status() -> ResponseReturnValue:
    svc = service()
    data = svc.call(_system_data(svc))
    data["uptime_s"] = round(time.time() - svc.started_at, 3)
    return success("running", data=data)


async def _system_data(svc: MasterService) -> dict[str, Any]:
    """Fleet, task and scene counts, read on the service's loop in one round trip."""
    robots = await svc.memory.robots.list()
    return {
        "robots_online": sum(r.online for r in robots),
        "robots_total": len(robots),
        "tasks_active": svc.scheduler.active_count,
        "scene_version": await svc.memory.scene.version(),
        "planner": svc.planner_name,
    }


@bp.get("/openapi.yaml")
def openapi() -> Response:
    return Response(OPENAPI_PATH.read_text(encoding="utf-8"), mimetype="application/yaml")
