"""The scene graph: one hash of node JSON plus a version counter, changed only atomically.

Every change goes through one Lua script that compares the nodes it depends on with what the change
was computed from (compare-and-set), then writes, bumps the version and appends the event, all or
nothing. The new node JSON is computed in Python: Redis' Lua cjson would turn ``[]`` into ``{}`` and
round floats to 14 digits, so the script never re-encodes a node. A compare that fails because
another writer got there first is retried against the new state, where the guards are checked again;
a guard that fails raises ``SceneConflict`` and nothing is written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from memory.errors import SceneConflict, SharedMemoryError
from memory.events import DEFAULT_EVENT_MAXLEN, encode_event
from memory.keys import Keys
from memory.messages import Effect
from memory.profiles import SceneNode, SceneSnapshot

__all__ = ["RELATIONS", "SceneGraph", "decode_snapshot"]

logger = logging.getLogger(__name__)

RELATIONS = frozenset({"on", "in", "at", "held_by"})
_MAX_ATTEMPTS = 200

# KEYS: nodes hash, version, events stream.
# ARGV: mode ("patch" | "replace"), expected version ("" = any), events maxlen, event JSON,
#       number of checks, then check pairs (name, expected JSON or "" for absent),
#       then write pairs (name, new JSON).
# Returns {"ok", version} | {"stale", version} | {"version", version}.
_COMMIT = """
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= current then
  return {'version', current}
end
local nchecks = tonumber(ARGV[5])
local i = 6
for _ = 1, nchecks do
  local value = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if value ~= ARGV[i + 1] then
    return {'stale', current}
  end
  i = i + 2
end
if ARGV[1] == 'replace' then
  redis.call('DEL', KEYS[1])
end
while i < #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local version = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'data', ARGV[4], 'version', version)
return {'ok', version}
"""


@dataclass
class _Change:
    """What a change read (name -> JSON it saw, "" for absent) and what it writes."""

    checks: dict[str, str] = field(default_factory=dict)
    writes: dict[str, str] = field(default_factory=dict)


class SceneGraph:
    """Nodes with one parent each, read as consistent snapshots and changed by guarded effects."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, event_maxlen: int = DEFAULT_EVENT_MAXLEN) -> None:
        self._redis = redis
        self._keys = keys
        self._event_maxlen = event_maxlen
        self._commit_script = redis.register_script(_COMMIT)

    # -- reads -------------------------------------------------------------------------------

    async def snapshot(self) -> SceneSnapshot:
        """Every node and the version, read in one MULTI/EXEC."""
        raw, version = await self._read_raw()
        return decode_snapshot(raw, version)

    async def get(self, name: str) -> SceneNode | None:
        raw = await self._redis.hget(self._keys.scene_nodes, name)
        return _decode_node(raw) if raw else None

    async def version(self) -> int:
        return int(await self._redis.get(self._keys.scene_version) or 0)

    async def _read_raw(self) -> tuple[dict[str, str], int]:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._keys.scene_nodes)
            pipe.get(self._keys.scene_version)
            raw, version = await pipe.execute()
        return raw, int(version or 0)

    # -- writes ------------------------------------------------------------------------------

    async def load(self, nodes: list[SceneNode], *, keep_robots: bool = True) -> int:
        """Replace the whole graph; returns the new version.

        With ``keep_robots`` the robot nodes already present (added by ``RobotRegistry.register``)
        survive unless ``nodes`` names them too, so reloading a scene does not orphan a live fleet.
        """
        _check_unique(nodes)
        for _ in range(_MAX_ATTEMPTS):
            raw, version = await self._read_raw()
            names = {n.name for n in nodes}
            current = decode_snapshot(raw, version).nodes.values()
            kept = [n for n in current if keep_robots and n.kind == "robot" and n.name not in names]
            final = list(nodes) + kept
            change = _Change(writes={n.name: _encode_node(n) for n in final})
            event = encode_event("scene_loaded", nodes=[n.to_dict() for n in final])
            status, new_version = await self._commit("replace", change, event, expect_version=version)
            if status == "ok":
                logger.info("scene loaded: %d nodes, version %d", len(final), new_version)
                return new_version
        raise SharedMemoryError(f"scene load gave up after {_MAX_ATTEMPTS} attempts: too many writers")

    async def apply(
        self,
        effects: Iterable[Effect | dict[str, Any]],
        *,
        robot: str | None = None,
        task_id: str | None = None,
        expect_version: int | None = None,
    ) -> int:
        """Apply all effects or none; returns the new version. ``SceneConflict`` names the failed guard."""
        effects = [e if isinstance(e, Effect) else Effect.from_dict(e) for e in effects]
        for _ in range(_MAX_ATTEMPTS):
            raw, version = await self._read_raw()
            _check_version(version, expect_version)
            if not effects:
                return version
            change = _plan_change(raw, effects)
            listed = [e.to_dict() for e in effects]
            event = encode_event("effects", robot=robot, task_id=task_id, effects=listed)
            status, new_version = await self._commit("patch", change, event, expect_version=expect_version)
            if status == "ok":
                logger.debug("scene v%d: %d effects (%s, %s)", new_version, len(effects), robot, task_id)
                return new_version
            if status == "version":
                _check_version(new_version, expect_version)
            await asyncio.sleep(random.uniform(0, 0.002))  # let the writer that won settle
        raise SharedMemoryError(f"scene apply gave up after {_MAX_ATTEMPTS} attempts: too many writers")

    async def add_node(
        self, node: SceneNode, *, event_kind: str, robot: str | None = None, **event_data: Any
    ) -> bool:
        """Create ``node`` if no node has its name (its parent is not checked); False if one exists.

        The event (``event_kind`` with ``node`` and ``event_data``) is appended only when it is created.
        """
        event = encode_event(event_kind, robot=robot, node=node.to_dict(), **event_data)
        change = _Change(checks={node.name: ""}, writes={node.name: _encode_node(node)})
        status, _ = await self._commit("patch", change, event, expect_version=None)
        return status == "ok"

    async def _commit(
        self, mode: str, change: _Change, event: str, *, expect_version: int | None
    ) -> tuple[str, int]:
        args: list[Any] = [mode, "" if expect_version is None else expect_version, self._event_maxlen, event]
        args.append(len(change.checks))
        for name, seen in change.checks.items():
            args += [name, seen]
        for name, value in change.writes.items():
            args += [name, value]
        keys = [self._keys.scene_nodes, self._keys.scene_version, self._keys.events]
        status, version = await self._commit_script(keys=keys, args=args)
        return status, int(version)


def _plan_change(raw: dict[str, str], effects: list[Effect]) -> _Change:
    """Check every guard against ``raw`` (name -> node JSON) and compute the nodes to write.

    Effects apply in order, so a later effect sees what an earlier one did.
    """
    nodes: dict[str, SceneNode] = {}
    change = _Change()

    def node(name: str | None) -> SceneNode | None:
        if name is None:
            return None
        if name not in nodes:
            change.checks.setdefault(name, raw.get(name, ""))
            if name in raw:
                nodes[name] = _decode_node(raw[name])
        return nodes.get(name)

    for effect in effects:
        target = node(effect.node)
        if target is None:
            raise SceneConflict(f"unknown node {effect.node!r} in {effect.op!r} effect; nothing applied")
        _check_expect_parent(target, effect)
        if effect.op == "move":
            _move(target, effect, node)
        elif effect.op == "set":
            _set(target, effect)
        else:
            raise SceneConflict(f"unknown effect op {effect.op!r} on {effect.node!r}: use 'move' or 'set'")
        change.writes[target.name] = _encode_node(target)
    return change


def _check_expect_parent(target: SceneNode, effect: Effect) -> None:
    if effect.expect_parent is not None and target.parent != effect.expect_parent:
        raise SceneConflict(
            f"guard failed: {target.name!r} is {target.relation or 'under'} {target.parent!r}, "
            f"expected {effect.expect_parent!r}; nothing applied"
        )


def _move(target: SceneNode, effect: Effect, node: Any) -> None:
    if not effect.parent:
        raise SceneConflict(f"'move' of {target.name!r} names no parent; nothing applied")
    relation = effect.relation or target.relation
    if relation not in RELATIONS:
        raise SceneConflict(
            f"unknown relation {relation!r} moving {target.name!r}: expected one of {sorted(RELATIONS)}"
        )
    ancestor = node(effect.parent)
    if ancestor is None:
        raise SceneConflict(f"unknown parent {effect.parent!r} for {target.name!r}; nothing applied")
    seen: set[str] = set()
    while ancestor is not None and ancestor.name not in seen:
        if ancestor.name == target.name:
            raise SceneConflict(f"moving {target.name!r} under {effect.parent!r} would make a cycle")
        seen.add(ancestor.name)
        ancestor = node(ancestor.parent)
    target.parent, target.relation = effect.parent, relation


def _set(target: SceneNode, effect: Effect) -> None:
    if not isinstance(effect.props, dict):
        raise SceneConflict(f"'set' on {target.name!r} needs props (an object); nothing applied")
    target.props = {**target.props, **effect.props}


def _check_version(version: int, expected: int | None) -> None:
    if expected is not None and version != expected:
        raise SceneConflict(f"guard failed: scene version is {version}, expected {expected}; nothing applied")


def _check_unique(nodes: list[SceneNode]) -> None:
    seen: set[str] = set()
    for n in nodes:
        if n.name in seen:
            raise SharedMemoryError(f"scene names node {n.name!r} twice")
        seen.add(n.name)


def _encode_node(node: SceneNode) -> str:
    return json.dumps(node.to_dict())


def _decode_node(raw: str) -> SceneNode:
    return SceneNode.from_dict(json.loads(raw))


def decode_snapshot(raw: dict[str, str], version: int) -> SceneSnapshot:
    """A snapshot from the raw node hash (used by readers that fetch it in their own pipeline)."""
    nodes = (_decode_node(value) for value in raw.values())
    return SceneSnapshot(version=version, nodes={n.name: n for n in sorted(nodes, key=lambda n: n.name)})
