"""The robot registry: profiles, status and per-robot liveness, joined with the scene graph.

A robot is a hash (``profile`` JSON, ``status``, ``current_subtask``, ``last_heartbeat``,
``degraded``: why it cannot take work though alive, empty when it can) plus a liveness key with a TTL refreshed by its heartbeat; its position and what it holds are read from the
scene graph in the same MULTI/EXEC, so they never disagree with it.
"""

from __future__ import annotations

import json
import logging
import time

import redis.asyncio as aioredis

from memory.errors import SharedMemoryError
from memory.events import EventLog
from memory.keys import Keys
from memory.profiles import RobotProfile, RobotRecord, SceneNode, SceneSnapshot
from memory.scene_graph import SceneGraph, decode_snapshot

__all__ = ["DEFAULT_LIVENESS_TTL_S", "ROBOT_STATUSES", "RobotRegistry"]

logger = logging.getLogger(__name__)

ROBOT_STATUSES = frozenset({"idle", "busy"})
DEFAULT_LIVENESS_TTL_S = 10.0

# KEYS: robot hash, liveness key. ARGV: ttl ms, now. Returns 0 when the robot is not registered.
_HEARTBEAT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
redis.call('HSET', KEYS[1], 'last_heartbeat', ARGV[2])
return 1
"""

# KEYS: robot hash. ARGV: field, value pairs. Returns 0 when the robot is not registered.
_UPDATE_IF_REGISTERED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


class RobotRegistry:
    """Who is in the fleet, what each robot can do, and whether it is alive."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, scene: SceneGraph, events: EventLog) -> None:
        self._redis = redis
        self._keys = keys
        self._scene = scene
        self._events = events
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._update = redis.register_script(_UPDATE_IF_REGISTERED)

    async def register(
        self, profile: RobotProfile, start_place: str | None = None, *, ttl_s: float = DEFAULT_LIVENESS_TTL_S
    ) -> None:
        """Store the profile (status idle, not degraded), mark the robot alive for ``ttl_s``, and give it a scene
        node at ``start_place`` unless the scene already has one (a restarted slaver keeps its place)."""
        name, now = profile.name, time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._keys.robot(name),
                mapping={
                    "profile": json.dumps(profile.to_dict()),
                    "status": "idle",
                    "current_subtask": "",
                    "degraded": "",
                    "last_heartbeat": repr(now),
                    "registered_at": repr(now),
                },
            )
            pipe.sadd(self._keys.robots, name)
            pipe.set(self._keys.alive(name), "1", px=_ttl_ms(ttl_s))
            await pipe.execute()
        await self._ensure_node(profile, start_place)
        logger.info("robot %s registered (%s) at %s", name, profile.embodiment, start_place)

    async def _ensure_node(self, profile: RobotProfile, start_place: str | None) -> None:
        node = SceneNode(profile.name, "robot", parent=start_place, relation="at" if start_place else None)
        info = {"embodiment": profile.embodiment, "start_place": start_place}
        if start_place and await self._scene.get(start_place) is None:
            logger.warning("robot %s starts at %r, not in the scene (yet)", profile.name, start_place)
        created = await self._scene.add_node(node, event_kind="robot_registered", robot=profile.name, **info)
        if not created:
            await self._events.append("robot_registered", robot=profile.name, node=None, **info)

    async def heartbeat(self, name: str, ttl_s: float) -> bool:
        """Keep ``name`` alive for ``ttl_s`` more seconds; False if it is not registered (register again)."""
        alive = await self._heartbeat(
            keys=[self._keys.robot(name), self._keys.alive(name)], args=[_ttl_ms(ttl_s), repr(time.time())]
        )
        return bool(alive)

    async def set_status(self, name: str, status: str, current_subtask: str | None = None) -> None:
        if status not in ROBOT_STATUSES:
            expected = sorted(ROBOT_STATUSES)
            raise SharedMemoryError(f"unknown robot status {status!r}: expected one of {expected}")
        fields = ["status", status, "current_subtask", current_subtask or ""]
        if not await self._update(keys=[self._keys.robot(name)], args=fields):
            raise SharedMemoryError(f"unknown robot {name!r}: register it first")

    async def set_degraded(self, name: str, reason: str | None) -> None:
        """Mark the robot alive but unable to take work (``reason``, e.g. its skill server is
        unreachable), or clear the mark with None; recorded as ``robot_degraded`` / ``robot_recovered``."""
        if not await self._update(keys=[self._keys.robot(name)], args=["degraded", reason or ""]):
            raise SharedMemoryError(f"unknown robot {name!r}: register it first")
        if reason:
            await self._events.append("robot_degraded", robot=name, reason=reason)
        else:
            await self._events.append("robot_recovered", robot=name)

    async def mark_offline(self, name: str) -> None:
        """Drop the robot's liveness now (a clean shutdown) and record it."""
        await self._redis.delete(self._keys.alive(name))
        await self._events.append("robot_offline", robot=name)
        logger.info("robot %s marked offline", name)

    async def get(self, name: str) -> RobotRecord | None:
        records = await self._read([name])
        return records[0] if records else None

    async def list(self) -> list[RobotRecord]:
        """Every registered robot, by name."""
        names = sorted(await self._redis.smembers(self._keys.robots))
        return await self._read(names)

    async def online_names(self) -> set[str]:
        names = sorted(await self._redis.smembers(self._keys.robots))
        if not names:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.exists(self._keys.alive(name))
            alive = await pipe.execute()
        return {name for name, up in zip(names, alive, strict=True) if up}

    async def _read(self, names: list[str]) -> list[RobotRecord]:
        """Robot hashes, liveness and the scene graph in one MULTI/EXEC."""
        if not names:
            return []
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._keys.scene_nodes)
            pipe.get(self._keys.scene_version)
            for name in names:
                pipe.hgetall(self._keys.robot(name))
                pipe.exists(self._keys.alive(name))
            raw_nodes, version, *rows = await pipe.execute()
        scene = decode_snapshot(raw_nodes, int(version or 0))
        records = (_record(row, bool(alive), scene) for row, alive in zip(rows[::2], rows[1::2], strict=True))
        return [r for r in records if r is not None]


def _record(row: dict[str, str], online: bool, scene: SceneSnapshot) -> RobotRecord | None:
    if not row or "profile" not in row:
        return None
    profile = RobotProfile.from_dict(json.loads(row["profile"]))
    return RobotRecord(
        profile=profile,
        status=row.get("status", "idle") if online else "offline",
        online=online,
        position=scene.place_of(profile.name) if profile.name in scene.nodes else None,
        holding=sorted(n.name for n in scene.children(profile.name, "held_by")),
        current_subtask=row.get("current_subtask") or None,
        degraded=row.get("degraded", ""),
        last_heartbeat=float(row.get("last_heartbeat") or 0.0),
    )


def _ttl_ms(ttl_s: float) -> int:
    if ttl_s <= 0:
        raise SharedMemoryError(f"liveness TTL must be positive, got {ttl_s}")
    return max(1, round(ttl_s * 1000))
