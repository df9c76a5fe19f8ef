"""Health, system status (with this machine's load, as RoboOS reports it) and the API's own description."""

from __future__ import annotations

import asyncio
import os
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
MEMINFO = Path("/proc/meminfo")


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
    """Our counters in ``data``; this machine's ``cpu_load`` and ``memory_usage`` (percent) at the
    top level, where RoboOS's clients read them."""
    svc = service()
    data = svc.call(_system_data(svc))
    data["uptime_s"] = round(time.time() - svc.started_at, 3)
    return success("running", cpu_load=cpu_load(), memory_usage=memory_usage(), data=data)


def cpu_load() -> float:
    """The last minute's load average as a percent of this machine's CPUs (at most 100)."""
    return round(min(100.0, 100.0 * os.getloadavg()[0] / (os.cpu_count() or 1)), 1)


def memory_usage() -> float | None:
    """The percent of this machine's memory in use (not available to new work); None off Linux."""
    try:
        lines = MEMINFO.read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    kib: dict[str, int] = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if name in ("MemTotal", "MemAvailable"):
            kib[name] = int(rest.split()[0])
    total, available = kib.get("MemTotal"), kib.get("MemAvailable")
    if not total or available is None:
        return None
    return round(100.0 * (total - available) / total, 1)


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
