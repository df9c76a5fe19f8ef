"""The robot registry: profiles, status and per-robot liveness, joined with the scene graph.

A robot is a hash (``profile`` JSON, ``status``, ``current_subtask``, ``last_heartbeat``,
``degraded``: why it cannot take work though alive, empty when it can) plus a liveness key with
a TTL refreshed by its heartbeat. The liveness key is also the robot's lease: it holds the token of
the one slaver serving the robot, so a second slaver cannot serve it too (``acquire``), and one
whose lease was taken over learns it at its next heartbeat. One sorted set indexes the leases by
when they run out, so that finding the offline robots does not read every robot's key. Its
position and what it holds are read from the scene graph in the same MULTI/EXEC, so they never
disagree with it.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from memory.errors import SharedMemoryError
from memory.events import EventLog, encode_event
from memory.keys import Keys
from memory.profiles import RobotProfile, RobotRecord, SceneNode, SceneSnapshot
from memory.scene_graph import SceneGraph, decode_snapshot

__all__ = ["DEFAULT_LIVENESS_TTL_S", "OFFLINE_FUNCTION", "ROBOT_STATUSES", "SHARED_LEASE", "Liveness", "RobotRegistry",
           "liveness_of", "unplaced_records"]

logger = logging.getLogger(__name__)

ROBOT_STATUSES = frozenset({"idle", "busy"})
DEFAULT_LIVENESS_TTL_S = 10.0
# The lease of callers that do not fence (tools, tests): every such caller holds the same one.
SHARED_LEASE = "1"

# The lease index (``Keys.leases``) holds each registered robot's lease deadline, so that finding
# the offline robots costs the offline ones, not the fleet. Only registered robots are in it (so it
# is complete when it is as big as the fleet), and every script that sets or drops a liveness key
# sets the robot's entry with it, by Redis's clock (6.2 needs replicate_commands before a write
# that follows TIME).
_NOW_MS = """
local function now_ms()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
"""
_LEASE_INDEX = _NOW_MS + """
local function index_lease(robots, leases, name, ttl_ms)
  if redis.call('SISMEMBER', robots, name) == 1 then
    redis.call('ZADD', leases, string.format('%.0f', now_ms() + tonumber(ttl_ms)), name)
  end
end
"""

# The liveness key is also the robot's lease: its value is the token of the one slaver serving the
# robot. KEYS: liveness key, robot names set, lease index. ARGV: token, ttl ms, the token of a
# holder known to be dead ("" = none), robot name. Takes the lease when it is free, already ours or
# that dead holder's; returns the holder's token when another slaver holds it, else "".
_ACQUIRE = "redis.replicate_commands()" + _LEASE_INDEX + """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] and holder ~= ARGV[3] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
index_lease(KEYS[2], KEYS[3], ARGV[4], ARGV[2])
return ''
"""

# KEYS: robot hash, liveness key, robot names set, lease index. ARGV: ttl ms, now, token, robot
# name. Returns 0 when the robot is not registered, -1 when another slaver holds its lease (this one
# was fenced out), else 1.
_HEARTBEAT = "redis.replicate_commands()" + _LEASE_INDEX + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[3] then return -1 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[1])
redis.call('HSET', KEYS[1], 'last_heartbeat', ARGV[2])
index_lease(KEYS[3], KEYS[4], ARGV[4], ARGV[1])
return 1
"""

# KEYS: robot hash, liveness key, robot names set, lease index. ARGV: ttl ms, token, robot name,
# then the hash's field, value pairs. Takes the lease like _ACQUIRE (no dead holder), then writes
# the hash and registers the robot; returns the holder's token when another slaver holds the
# lease (nothing written), else "".
_REGISTER = "redis.replicate_commands()" + _LEASE_INDEX + """
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[2] then return holder end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('SADD', KEYS[3], ARGV[3])
index_lease(KEYS[3], KEYS[4], ARGV[3], ARGV[1])
return ''
"""

# KEYS: liveness key, lease index. ARGV: token, robot name. Drops the lease if it is ours (its
# index entry says released); returns 0 when another holds it.
_RELEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZADD', KEYS[2], 'XX', 0, ARGV[2])
return 1
"""

# KEYS: robot hash, event stream. ARGV: event JSON ("" = none), event maxlen, then field, value
# pairs. The fields and the event are written together. Returns 0 when the robot is not registered.
_UPDATE_IF_REGISTERED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if ARGV[1] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'data', ARGV[1])
end
return 1
"""

# KEYS: robot names set, lease index. ARGV: the liveness key prefix. Indexes every registered
# robot the index lacks (a store written before it, or robots that have not beaten since) by its
# liveness key's time to live; returns how many.
_INDEX_LEASES = "redis.replicate_commands()" + _NOW_MS + """
local now, added = now_ms(), 0
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not redis.call('ZSCORE', KEYS[2], name) then
    local ttl = redis.call('PTTL', ARGV[1] .. name)
    local deadline = '0'
    if ttl == -1 then deadline = '+inf' elseif ttl >= 0 then deadline = string.format('%.0f', now + ttl) end
    redis.call('ZADD', KEYS[2], deadline, name)
    added = added + 1
  end
end
return added
"""

# KEYS: robot names set, lease index. ARGV: the liveness key prefix. Returns {number registered,
# the names without a liveness key...}: one round trip and a reply the size of the offline part of
# the fleet, whatever its size. When the index is complete (as big as the fleet), only the robots
# whose lease ran out by it are checked; their liveness keys have the last word (a slaver that does
# not keep the index still keeps its key). Otherwise every registered robot's key is checked: one
# EXISTS counts a chunk, and only a chunk with a key missing is checked name by name.
OFFLINE_FUNCTION = _NOW_MS + """
local function offline(robots, leases, alive_prefix)
  local count = redis.call('SCARD', robots)
  local found = {count}
  if redis.call('ZCARD', leases) == count then
    local ended = redis.call('ZRANGEBYSCORE', leases, '-inf', string.format('(%.0f', now_ms()))
    for _, name in ipairs(ended) do
      if redis.call('EXISTS', alive_prefix .. name) == 0 then found[#found + 1] = name end
    end
    return found
  end
  local names = redis.call('SMEMBERS', robots)
  for first = 1, #names, 500 do
    local last = math.min(first + 499, #names)
    local keys = {}
    for i = first, last do keys[#keys + 1] = alive_prefix .. names[i] end
    if redis.call('EXISTS', unpack(keys)) < #keys then
      for i = first, last do
        if redis.call('EXISTS', keys[i - first + 1]) == 0 then found[#found + 1] = names[i] end
      end
    end
  end
  return found
end
"""
_OFFLINE = OFFLINE_FUNCTION + "return offline(KEYS[1], KEYS[2], ARGV[1])"


@dataclass(frozen=True)
class Liveness:
    """How many robots are registered, and which of them are offline (no liveness key)."""

    registered: int
    offline: frozenset[str]


class RobotRegistry:
    """Who is in the fleet, what each robot can do, and whether it is alive."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, scene: SceneGraph, events: EventLog) -> None:
        self._redis = redis
        self._keys = keys
        self._scene = scene
        self._events = events
        self._acquire = redis.register_script(_ACQUIRE)
        self._register = redis.register_script(_REGISTER)
        self._index_leases = redis.register_script(_INDEX_LEASES)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._release = redis.register_script(_RELEASE)
        self._update = redis.register_script(_UPDATE_IF_REGISTERED)
        self._offline = redis.register_script(_OFFLINE)

    async def acquire(self, name: str, lease: str, ttl_s: float, *, dead_holder: str = "") -> str | None:
        """Take ``name``'s lease (its liveness key) for ``ttl_s``: None when taken (free, already held
        by ``lease``, or held by ``dead_holder``, a slaver known to be gone), else the holder's token."""
        holder = await self._acquire(keys=[self._keys.alive(name), self._keys.robots, self._keys.leases],
                                     args=[lease, _ttl_ms(ttl_s), dead_holder, name])
        return holder or None

    async def register(
        self, profile: RobotProfile, start_place: str | None = None, *, ttl_s: float = DEFAULT_LIVENESS_TTL_S,
        lease: str = SHARED_LEASE,
    ) -> None:
        """Store the profile (status idle, not degraded), mark the robot alive for ``ttl_s`` under
        ``lease``, and give it a scene node at ``start_place`` unless the scene already has one (a
        restarted slaver keeps its place). ``SharedMemoryError`` when another slaver holds the lease."""
        name, now = profile.name, repr(time.time())
        fields = {"profile": json.dumps(profile.to_dict()), "status": "idle", "current_subtask": "", "degraded": "",
                  "last_heartbeat": now, "registered_at": now}
        holder = await self._register(keys=self._lease_keys(name),
                                      args=[_ttl_ms(ttl_s), lease, name, *itertools.chain(*fields.items())])
        if holder:
            raise SharedMemoryError(f"robot {name!r} is served by another slaver (lease {holder!r})")
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

    async def heartbeat(self, name: str, ttl_s: float, lease: str = SHARED_LEASE) -> bool:
        """Keep ``name`` alive for ``ttl_s`` more seconds; False if it is not registered (register again).

        ``SharedMemoryError`` when another slaver holds the robot's lease: this one must stop serving.
        """
        args = [_ttl_ms(ttl_s), repr(time.time()), lease, name]
        alive = await self._heartbeat(keys=self._lease_keys(name), args=args)
        if alive == -1:
            raise SharedMemoryError(f"robot {name!r} is now served by another slaver: its lease was taken over")
        return bool(alive)

    def _lease_keys(self, name: str) -> list[str]:
        """The keys of ``_HEARTBEAT`` and ``_REGISTER``."""
        return [self._keys.robot(name), self._keys.alive(name), self._keys.robots, self._keys.leases]

    async def set_status(self, name: str, status: str, current_subtask: str | None = None) -> None:
        if status not in ROBOT_STATUSES:
            expected = sorted(ROBOT_STATUSES)
            raise SharedMemoryError(f"unknown robot status {status!r}: expected one of {expected}")
        fields = ["status", status, "current_subtask", current_subtask or ""]
        if not await self._update(keys=[self._keys.robot(name), self._keys.events], args=["", 0, *fields]):
            raise SharedMemoryError(f"unknown robot {name!r}: register it first")

    async def set_degraded(self, name: str, reason: str | None) -> None:
        """Mark the robot alive but unable to take work (``reason``, e.g. its skill server is
        unreachable), or clear the mark with None; recorded as ``robot_degraded`` / ``robot_recovered``."""
        event = encode_event("robot_degraded", robot=name, reason=reason) if reason else encode_event(
            "robot_recovered", robot=name)
        args = [event, self._events.maxlen, "degraded", reason or ""]
        if not await self._update(keys=[self._keys.robot(name), self._keys.events], args=args):
            raise SharedMemoryError(f"unknown robot {name!r}: register it first")

    async def mark_offline(self, name: str, lease: str = SHARED_LEASE) -> None:
        """Drop the robot's liveness now (a clean shutdown) and record it; nothing when another
        slaver holds the lease by now."""
        if not await self._release(keys=[self._keys.alive(name), self._keys.leases], args=[lease, name]):
            return
        await self._events.append("robot_offline", robot=name)
        logger.info("robot %s marked offline", name)

    async def lapse(self, name: str) -> None:
        """End ``name``'s lease now, whoever holds it, as if its heartbeats had stopped (no event):
        the robot is offline until its slaver beats again. For tools and tests."""
        holder = await self._redis.get(self._keys.alive(name))
        if holder is not None:
            await self._release(keys=[self._keys.alive(name), self._keys.leases], args=[holder, name])

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

    async def liveness(self) -> Liveness:
        """The registered count and the offline names, checked inside Redis (cheap for a big fleet)."""
        keys = [self._keys.robots, self._keys.leases]
        return liveness_of(await self._offline(keys=keys, args=[self._keys.alive("")]))

    async def index_leases(self) -> int:
        """Index the leases of registered robots the lease index lacks (a store written before it);
        returns how many. Until it is complete, ``liveness`` reads every robot's key."""
        return int(await self._index_leases(keys=[self._keys.robots, self._keys.leases], args=[self._keys.alive("")]))

    async def names(self) -> set[str]:
        return set(await self._redis.smembers(self._keys.robots))

    async def unplaced(self, names: list[str]) -> list[RobotRecord]:
        """The robots ``names`` as if online, without position or holding (for a caller that joins
        its own copy of the scene and its own liveness); unregistered names are left out."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(self._keys.robot(name))
            return unplaced_records(await pipe.execute())

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


_NO_SCENE = SceneSnapshot(version=0)


def liveness_of(reply: list[str]) -> Liveness:
    """``Liveness`` from the reply of the ``offline`` Lua function (``OFFLINE_FUNCTION``)."""
    count, *offline = reply
    return Liveness(int(count), frozenset(offline))


def unplaced_records(rows: list[dict[str, str]]) -> list[RobotRecord]:
    """Robot hashes as ``RobotRegistry.unplaced`` gives them; hashes of no robot are left out."""
    records = (_record(row, True, _NO_SCENE) for row in rows)
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
