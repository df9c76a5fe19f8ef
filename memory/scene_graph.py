"""The scene graph: one hash of node JSON plus a version counter, changed only atomically.

Every change goes through one Lua script that compares the nodes it depends on with what the change
was computed from (compare-and-set), then writes, bumps the version and appends the event, all or
nothing. The new node JSON is computed in Python: Redis' Lua cjson would turn ``[]`` into ``{}`` and
round floats to 14 digits, so the script never re-encodes a node. A compare that fails because
another writer got there first is retried against the new state, where the guards are checked again;
a guard that fails raises ``SceneConflict`` and nothing is written.

A ``SceneGraph`` keeps the node JSON its applies last read or wrote (``prefetch`` reads more) and plans an
``apply`` on it first, so that the commit needs no read before it: the commit compares every node the
plan used, so a node changed meanwhile only costs that apply the read it would have made anyway.

The nodes with no parent (places and doors, the "roots": what routes read) are kept per process once
read with ``neighbourhood(roots=True)``, under the roots stamp that every commit writing one of them
sets anew; while Redis shows that stamp, a read with roots gets only the other nodes from Redis.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from memory.errors import SceneConflict, SharedMemoryError
from memory.events import DEFAULT_EVENT_MAXLEN, encode_event
from memory.keys import Keys
from memory.messages import Effect
from memory.profiles import SceneNode, SceneSnapshot
from memory.writes import Write, WriteRefused, Writes

__all__ = ["RELATIONS", "SCENE_WRITES", "SceneGraph", "apply_effects", "decode_snapshot"]

logger = logging.getLogger(__name__)

RELATIONS = frozenset({"on", "in", "at", "held_by"})
_MAX_ATTEMPTS = 200
_KNOWN_MAX = 20_000  # node JSON kept for planning applies; past it the copy starts again empty

# Shared by the scripts: a node's parent (nil for none), and the children index (one set of child
# names per parent, and one set of the nodes with no parent: the places and doors, the "roots")
# rebuilt from the nodes hash when its marker is missing (a fresh or older store).
# Nodes are only decoded here, never re-encoded.
_LUA_INDEX = """
local function parent_of(json)
  local ok, node = pcall(cjson.decode, json)
  if ok and type(node) == 'table' and type(node['parent']) == 'string' and node['parent'] ~= '' then
    return node['parent']
  end
  return nil
end
local function ensure_index(nodes, marker, prefix, roots)
  if redis.call('EXISTS', marker) == 1 then return end
  local all = redis.call('HGETALL', nodes)
  for j = 1, #all, 2 do
    local parent = parent_of(all[j + 1])
    if parent then redis.call('SADD', prefix .. parent, all[j]) else redis.call('SADD', roots, all[j]) end
  end
  redis.call('SET', marker, '1')
end
"""

# keys: nodes hash, version, events stream, index marker, roots set, roots stamp.
# args: mode ("patch" | "replace"), expected version ("" = any), events maxlen, event JSON,
#       children index prefix, number of checks, number of dropped index sets, the new roots stamp
#       ("" when no node with no parent is written), then check pairs (name, expected JSON or "" for absent),
#       then dropped index sets (replace: every set of the index now, the roots set among them),
#       then write quads (name, new JSON, index set before or "" for none, index set after).
# Replies {"ok", version}, or refuses with {"stale", version} | {"version", version} (``memory.writes``).
_COMMIT = """
local function scene_commit(keys, args)
  local current = tonumber(redis.call('GET', keys[2]) or '0')
  if args[2] ~= '' and tonumber(args[2]) ~= current then
    return false, {'version', current}
  end
  local nchecks = tonumber(args[6])
  local i = 9
  for _ = 1, nchecks do
    local value = redis.call('HGET', keys[1], args[i]) or ''
    if value ~= args[i + 1] then
      return false, {'stale', current}
    end
    i = i + 2
  end
  if args[1] == 'replace' then
    redis.call('DEL', keys[1])
    for _ = 1, tonumber(args[7]) do
      redis.call('DEL', args[i])
      i = i + 1
    end
    redis.call('SET', keys[4], '1')
  else
    ensure_index(keys[1], keys[4], args[5], keys[5])
  end
  while i < #args do
    redis.call('HSET', keys[1], args[i], args[i + 1])
    local before, after = args[i + 2], args[i + 3]
    if before ~= after then
      if before ~= '' then redis.call('SREM', before, args[i]) end
      redis.call('SADD', after, args[i])
    end
    i = i + 4
  end
  if args[8] ~= '' then redis.call('SET', keys[6], args[8]) end
  local version = redis.call('INCR', keys[2])
  redis.call('XADD', keys[3], 'MAXLEN', '~', args[3], '*', 'data', args[4], 'version', version)
  return true, {'ok', version}
end
"""

# The write functions of the scene, for ``memory.writes.Writes``.
SCENE_WRITES = {"scene_commit": _LUA_INDEX + _COMMIT}

# KEYS: nodes hash, version, index marker, roots set, roots stamp.
# ARGV: children index prefix, the roots stamp the caller holds ("" to read no roots, "-" for
#       none), number of names, the names, then the parents whose children to read.
# Returns {version, {name, JSON or "" for absent, ...}, stamp, roots}: the names, their ancestors,
# the children (with their ancestors) of the listed parents, all at one version; when roots are
# asked for, the roots stamp now, and unless it is the caller's, every node with no parent (also
# listed as roots).
_AROUND = _LUA_INDEX + """
ensure_index(KEYS[1], KEYS[3], ARGV[1], KEYS[4])
local found, seen = {}, {}
local function visit(name)
  while name and not seen[name] do
    seen[name] = true
    local json = redis.call('HGET', KEYS[1], name)
    found[#found + 1] = name
    if json then
      found[#found + 1] = json
      name = parent_of(json)
    else
      found[#found + 1] = ''
      name = nil
    end
  end
end
local nnames = tonumber(ARGV[3])
for i = 4, 3 + nnames do
  visit(ARGV[i])
end
for i = 4 + nnames, #ARGV do
  visit(ARGV[i])
  for _, child in ipairs(redis.call('SMEMBERS', ARGV[1] .. ARGV[i])) do
    visit(child)
  end
end
local stamp, roots = '', {}
if ARGV[2] ~= '' then
  stamp = redis.call('GET', KEYS[5]) or ''
  if stamp == '' or stamp ~= ARGV[2] then
    roots = redis.call('SMEMBERS', KEYS[4])
    for _, root in ipairs(roots) do
      visit(root)
    end
  end
end
return {redis.call('GET', KEYS[2]) or '0', found, stamp, roots}
"""


@dataclass
class _Change:
    """What a change read (name -> JSON it saw, "" for absent) and the nodes it writes."""

    checks: dict[str, str] = field(default_factory=dict)
    writes: dict[str, SceneNode] = field(default_factory=dict)
    parents_before: dict[str, str | None] = field(default_factory=dict)  # of the nodes found, for the index


@dataclass
class _Roots:
    """The nodes with no parent (places and doors) as read with roots ``stamp``: their JSON, and
    each one decoded the first time it is asked for."""

    stamp: str
    raw: dict[str, str]
    decoded: dict[str, SceneNode] = field(default_factory=dict)

    def node(self, name: str, value: str) -> SceneNode:
        """Root ``name`` read as ``value``: a copy of the one decoded before (its props a dict of
        its own), or ``value`` decoded when it is not the JSON kept."""
        if self.raw.get(name) != value:
            return _decode_node(value)
        node = self.decoded.get(name)
        if node is None:
            node = self.decoded[name] = _decode_node(value)
        return SceneNode(node.name, node.kind, node.parent, node.relation, dict(node.props))


# The roots last read, per deployment (its stamp key), shared by every SceneGraph of this process: a
# process that serves many simulated robots would otherwise keep a copy per robot, and each robot,
# reading them now and then, would mostly find its own copy out of date. Sharing is safe: a stamp
# is a token of one write, so the roots read with it are those of any store that shows it.
_KEPT_ROOTS: dict[str, _Roots] = {}
_KEPT_ROOTS_MAX = 16  # deployments; past it the store starts again empty


def _keep_roots(stamp_key: str, roots: _Roots) -> None:
    if stamp_key not in _KEPT_ROOTS and len(_KEPT_ROOTS) >= _KEPT_ROOTS_MAX:
        _KEPT_ROOTS.clear()
    _KEPT_ROOTS[stamp_key] = roots


class _Unread(Exception):
    """Planning needed a node the read did not fetch (read again with it)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class SceneGraph:
    """Nodes with one parent each, read as consistent snapshots and changed by guarded effects."""

    def __init__(
        self, redis: aioredis.Redis, keys: Keys, writes: Writes, event_maxlen: int = DEFAULT_EVENT_MAXLEN
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._writes = writes
        self._event_maxlen = event_maxlen
        self._around_script = redis.register_script(_AROUND)
        self._known: dict[str, str] = {}  # name -> JSON ("" for absent) as applies and prefetches last saw it

    # -- reads -------------------------------------------------------------------------------

    async def snapshot(self) -> SceneSnapshot:
        """Every node and the version, read in one MULTI/EXEC."""
        raw, version = await self._read_raw()
        return decode_snapshot(raw, version)

    async def neighbourhood(
        self, names: Iterable[str], *, children_of: Iterable[str] = (), roots: bool = False
    ) -> SceneSnapshot:
        """Part of the graph at one version: ``names``, their ancestors, every child of ``children_of``,
        and with ``roots`` every node that has no parent (the places and doors: what routes read).

        Cheaper than ``snapshot`` on a big scene. Absent names are left out. ``place_of`` is exact for
        every node it holds; ``children`` is complete only for the nodes in ``children_of``.
        """
        raw, version, kept = await self._read_around(names, children_of, roots=roots)
        nodes = {name: kept.node(name, value) if kept is not None and name in kept.raw else _decode_node(value)
                 for name, value in sorted(raw.items()) if value}
        return SceneSnapshot(version=version, nodes=nodes)

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

    async def _read_around(
        self, names: Iterable[str], children_of: Iterable[str] = (), *, roots: bool = False
    ) -> tuple[dict[str, str], int, _Roots | None]:
        """Name -> JSON ("" for absent) of ``names`` and their ancestors (see ``neighbourhood``),
        the version, and with ``roots`` the roots kept that the JSON of the roots came from."""
        names, parents = list(names), list(children_of)
        kept = _KEPT_ROOTS.get(self._keys.scene_roots_stamp)
        held = "" if not roots else kept.stamp if kept is not None else "-"
        keys = [self._keys.scene_nodes, self._keys.scene_version, self._keys.scene_indexed, self._keys.scene_roots,
                self._keys.scene_roots_stamp]
        args = [self._keys.scene_children_prefix, held, len(names), *names, *parents]
        version, found, stamp, listed = await self._around_script(keys=keys, args=args)
        raw = dict(zip(found[::2], found[1::2], strict=True))
        if not roots:
            return raw, int(version), None
        if kept is not None and stamp == kept.stamp:  # no root written since: not sent again
            raw.update((name, value) for name, value in kept.raw.items() if name not in raw)
            return raw, int(version), kept
        kept = _Roots(stamp, {name: raw[name] for name in listed})
        if stamp:
            _keep_roots(self._keys.scene_roots_stamp, kept)
        else:  # a store that no write has stamped yet (or cleared) is read whole each time
            _KEPT_ROOTS.pop(self._keys.scene_roots_stamp, None)
        return raw, int(version), kept

    async def prefetch(self, names: Iterable[str]) -> None:
        """Read ``names`` and their ancestors for the ``apply`` calls to come (e.g. the nodes a
        subtask's actions name, read while it is claimed), so that they commit without a read."""
        raw, _, _ = await self._read_around(names)
        self._remember(raw)

    def _remember(self, raw: Mapping[str, str]) -> None:
        if len(self._known) + len(raw) > _KNOWN_MAX:
            self._known.clear()
        self._known.update(raw)

    def _plan_on_known(self, effects: list[Effect]) -> _Change | None:
        """The change planned on the nodes last seen; None when they lack one or a guard fails on
        them (they may be out of date: only a fresh read may refuse an apply)."""
        try:
            return _plan_change(self._known, effects)
        except (_Unread, SceneConflict):
            return None

    def _index_set(self, parent: str | None) -> str:
        """The index set a node with ``parent`` belongs to: its parent's children, or the roots."""
        return self._keys.scene_children(parent) if parent else self._keys.scene_roots

    # -- writes ------------------------------------------------------------------------------

    async def load(self, nodes: list[SceneNode], *, keep_robots: bool = True) -> int:
        """Replace the whole graph; returns the new version.

        With ``keep_robots`` the robot nodes already present (added by ``RobotRegistry.register``)
        survive unless ``nodes`` names them too, so reloading a scene does not orphan a live fleet.
        """
        _check_unique(nodes)
        names = {n.name for n in nodes}
        for _ in range(_MAX_ATTEMPTS):
            raw, version = await self._read_raw()
            current = decode_snapshot(raw, version).nodes.values()
            kept = [n for n in current if keep_robots and n.kind == "robot" and n.name not in names]
            final = list(nodes) + kept
            change = _Change(writes={n.name: n for n in final})
            dropped = sorted({self._index_set(n.parent) for n in current} | {self._keys.scene_roots})
            event = encode_event("scene_loaded", nodes=[n.to_dict() for n in final])
            status, new_version = await self._commit(
                "replace", change, event, expect_version=version, dropped=dropped
            )
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
        then: Sequence[Write] = (),
    ) -> int:
        """Apply all effects or none; returns the new version. ``SceneConflict`` names the failed guard.

        Only the nodes the effects touch are read (with the ancestors of the new parents, for the
        cycle check), and not even those when the last read or write left them all here; the commit
        compares every one of them with what the change was planned on. ``then``: writes
        made right after the commit, in its round trip, and only with it (e.g. a slaver's report
        of the subtask these effects end); without effects they are not made.
        """
        effects = [e if isinstance(e, Effect) else Effect.from_dict(e) for e in effects]
        wanted = {name for e in effects for name in (e.node, e.parent) if name}
        known = self._plan_on_known(effects) if effects and expect_version is None else None
        for _ in range(_MAX_ATTEMPTS):
            hinted = known is not None
            if hinted:
                change, known = known, None
            else:
                raw, version, _ = await self._read_around(sorted(wanted))
                self._remember(raw)
                _check_version(version, expect_version)
                if not effects:
                    return version
                try:
                    change = _plan_change(raw, effects)
                except _Unread as missing:  # the read covers every ancestor chain; kept as a safety net
                    wanted.add(missing.name)
                    continue
            listed = [e.to_dict() for e in effects]
            event = encode_event("effects", robot=robot, task_id=task_id, effects=listed)
            status, new_version = await self._commit("patch", change, event, expect_version=expect_version,
                                                     then=then)
            if status == "ok":
                logger.debug("scene v%d: %d effects (%s, %s)", new_version, len(effects), robot, task_id)
                return new_version
            if status == "version":
                _check_version(new_version, expect_version)
            for name in change.checks:  # out of date: not planned on again before a read
                self._known.pop(name, None)
            if not hinted:
                await asyncio.sleep(random.uniform(0, 0.002))  # let the writer that won settle
        raise SharedMemoryError(f"scene apply gave up after {_MAX_ATTEMPTS} attempts: too many writers")

    async def add_node(
        self, node: SceneNode, *, event_kind: str, robot: str | None = None, **event_data: Any
    ) -> bool:
        """Create ``node`` if no node has its name (its parent is not checked); False if one exists.

        The event (``event_kind`` with ``node`` and ``event_data``) is appended only when it is created.
        """
        event = encode_event(event_kind, robot=robot, node=node.to_dict(), **event_data)
        change = _Change(checks={node.name: ""}, writes={node.name: node})
        status, _ = await self._commit("patch", change, event, expect_version=None)
        return status == "ok"

    async def _commit(
        self, mode: str, change: _Change, event: str, *, expect_version: int | None,
        dropped: Sequence[str] = (), then: Sequence[Write] = (),
    ) -> tuple[str, int]:
        """Run the compare-and-set (and ``then``, only if it committed); in "replace" mode
        ``dropped`` names every index set now."""
        encoded = {name: _encode_node(node) for name, node in change.writes.items()}
        quads: list[str] = []
        for name, node in change.writes.items():
            found = mode == "patch" and name in change.parents_before
            before = self._index_set(change.parents_before[name]) if found else ""
            quads += [name, encoded[name], before, self._index_set(node.parent)]
        roots_written = mode == "replace" or self._keys.scene_roots in quads[2::4] + quads[3::4]
        stamp = uuid.uuid4().hex if roots_written else ""  # readers that kept the roots read them again
        args: list[Any] = [mode, "" if expect_version is None else expect_version, self._event_maxlen, event,
                           self._keys.scene_children_prefix, len(change.checks), len(dropped), stamp]
        for name, seen in change.checks.items():
            args += [name, seen]
        args += [*dropped, *quads]
        keys = [self._keys.scene_nodes, self._keys.scene_version, self._keys.events, self._keys.scene_indexed,
                self._keys.scene_roots, self._keys.scene_roots_stamp]
        commit = Write("scene_commit", keys, args, lambda reply: (str(reply[0]), int(reply[1])))
        try:
            (status, version), *_ = await self._writes.run([commit, *then])
        except WriteRefused as refused:
            if refused.write is not commit:
                raise
            status, version = refused.result
        if status == "ok":
            if mode == "replace":
                self._known.clear()
            if roots_written:
                _KEPT_ROOTS.pop(self._keys.scene_roots_stamp, None)
            self._remember(encoded)
        return status, version


def _plan_change(
    raw: Mapping[str, Any], effects: list[Effect], decode: Callable[[Any], SceneNode] | None = None
) -> _Change:
    """Check every guard against ``raw`` (name -> node JSON, "" for absent) and compute the nodes to write.

    Effects apply in order, so a later effect sees what an earlier one did. ``_Unread`` names a
    node that ``raw`` does not cover. ``decode`` turns a value of ``raw`` into a node of its own
    (default: from JSON).
    """
    decode = decode or _decode_node
    nodes: dict[str, SceneNode] = {}
    change = _Change()

    def node(name: str | None) -> SceneNode | None:
        if name is None:
            return None
        if name not in nodes:
            if name not in raw:
                raise _Unread(name)
            change.checks.setdefault(name, raw[name])
            if raw[name]:
                nodes[name] = decode(raw[name])
                change.parents_before.setdefault(name, nodes[name].parent)
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
        change.writes[target.name] = target
    return change


def apply_effects(nodes: Mapping[str, SceneNode], effects: Iterable[Effect | dict[str, Any]]) -> dict[str, SceneNode]:
    """The nodes ``effects`` change, as they are after them, by the same rules as a commit (for a
    reader that keeps its own copy of the graph); ``nodes`` is left as it is.

    ``SceneConflict`` when a guard fails on ``nodes`` (the copy is not what the commit saw).
    """
    effects = [e if isinstance(e, Effect) else Effect.from_dict(e) for e in effects]
    return _plan_change(_Copies(nodes), effects, copy.copy).writes


class _Copies(dict[str, Any]):
    """``nodes`` as ``_plan_change`` reads them: every name counts as read, an absent one as "", and
    each node is copied before a change (its props are replaced, never changed in place)."""

    def __init__(self, nodes: Mapping[str, SceneNode]) -> None:
        super().__init__()
        self._nodes = nodes

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> SceneNode | str:
        return self._nodes.get(name) or ""


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
