"""Health, system status and the API's own description."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from master.api import error_response, service, success
from master.errors import BridgeTimeout, MasterError, MemoryBusy, MemoryUnavailable
from master.service import BUSY_RETRY_AFTER_S, MasterService

__all__ = ["bp", "OPENAPI_PATH"]

bp = Blueprint("system", __name__)

OPENAPI_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"
HEALTH_TIMEOUT_S = 3.0


@bp.get("/health")
def health() -> ResponseReturnValue:
    """200 with ``redis: up``; else 503 with Retry-After and ``redis``: ``busy`` (the master is
    overloaded: no free pool connection, or its loop did not answer, in time; Redis is not known
    to be down) or ``down`` (unreachable, or the master is not running)."""
    svc = service()
    try:
        svc.call(_ping(svc), HEALTH_TIMEOUT_S)
    except BridgeTimeout as e:
        return error_response(503, f"the master is busy: {e}", {"Retry-After": str(BUSY_RETRY_AFTER_S)},
                              redis="busy", planner=svc.planner_name)
    except MemoryUnavailable as e:
        return error_response(503, str(e), {"Retry-After": str(e.retry_after_s)}, redis=e.redis_state,
                              planner=svc.planner_name)
    except MasterError as e:
        return error_response(503, f"shared memory unreachable: {e}", {"Retry-After": "5"}, redis="down",
                              planner=svc.planner_name)
    return jsonify({"status": "ok", "message": "ok", "redis": "up", "planner": svc.planner_name})


async def _ping(svc: MasterService) -> None:
    """PING through the pool; Redis errors propagate so that ``call`` can tell busy from down."""
    redis = svc.memory.redis
    try:
        await asyncio.wait_for(redis.ping(), HEALTH_TIMEOUT_S - 0.5)
    except TimeoutError:
        if not redis.connection_pool.can_get_connection():
            raise MemoryBusy(f"all {redis.connection_pool.max_connections} Redis connections are in use",
                             BUSY_RETRY_AFTER_S) from None
        raise MasterError("Redis did not answer PING in time") from None


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
        "event_streams": svc.feed.subscriber_count,
    }


@bp.get("/openapi.yaml")
def openapi() -> Response:
    return Response(OPENAPI_PATH.read_text(encoding="utf-8"), mimetype="application/yaml")
