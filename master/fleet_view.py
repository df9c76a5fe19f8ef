"""The master's copy of the fleet and the scene, kept current from the event history.

Reading every robot hash and the whole scene for each task costs time in proportion to the fleet.
Instead the view loads both once, then follows the event history: a scene change carries the
version it produced and is applied in order with the scene graph's own rules (a version that jumps
means one was missed: the scene is read again); an event about a robot (registered, degraded,
recovered, offline) marks that robot to be read again, alone, before the next plan; a result its
slaver posted (which set its status) does too, through ``touch``. A history trimmed past the last event read, or ``invalidate()`` (after an outage), makes it
load everything again.

Liveness has no event (a lease key simply expires), so each ``world()`` asks Redis once which
registered robots have no lease key: a script checks them all inside Redis and answers with the
offline names only, alongside the read of the events. With them come two checks: the number of
registered robots (more than the view knows: it reads the robot list again) and the scene version,
read in the same step as the events (newer than the events gave: it reads the scene again).

    view = FleetView(memory)
    world = await view.world()   # a WorldView; the same object while nothing changed
    view.touch("r1")             # its hash changed without an event of its own (a result it posted)
    view.invalidate()            # load everything at the next world()
    view.built_world()           # the last world, while nothing known changed since; else None
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace

from brain.world import NodeMap, NodeView, RobotView, WorldView
from memory import SharedMemory
from memory.errors import SceneConflict
from memory.events import Event, Since
from memory.robots import Liveness
from memory.profiles import RobotProfile, RobotRecord, SceneNode
from memory.scene_graph import apply_effects

__all__ = ["FleetView"]

logger = logging.getLogger(__name__)

READ_COUNT = 1000
_Placement = tuple[str | None, bool, tuple[str, ...], bool]  # parent, has a node, holding, offline
_ALL = None  # for _changed and _stale: every one (not known which)
# Events naming a robot whose hash they do not change: scene effects (what they change is applied
# to the scene here), and the master's own records of subtasks (the robot's status is its slaver's
# to set, with a result the scheduler then marks it for: ``touch``).
_HASH_UNCHANGED = frozenset({"effects", "subtask_state", "replan"})


class FleetView:
    """Robots (as if online, unplaced) and scene nodes at ``version``, joined into a ``WorldView``."""

    def __init__(self, memory: SharedMemory) -> None:
        self._mem = memory
        self._lock = asyncio.Lock()
        self._last_id: str | None = None  # None: load everything at the next read
        self._robots: dict[str, RobotView] = {}
        self._scene: dict[str, SceneNode] = {}
        self._nodes: dict[str, NodeView] = {}  # by name, in name order; changed in place (worlds get a copy)
        self._held: dict[str, set[str]] = {}  # robot: the nodes held by it
        self._version = 0
        self._scene_stale = False
        self._dirty: set[str] = set()
        self._offline: frozenset[str] = frozenset()
        self._placed: dict[str, tuple[RobotView, _Placement, RobotView]] = {}
        self._profiles: dict[str, tuple[RobotProfile, RobotView]] = {}  # robot: its profile, as a bare view
        self._world: WorldView | None = None
        self._last_world: WorldView | None = None  # the last one built, its state patched for the next
        # Since the last world built: the nodes changed, and the robots to place again (_ALL: all).
        self._changed: set[str] | None = _ALL
        self._stale: set[str] | None = _ALL

    def touch(self, robot: str) -> None:
        """Read ``robot`` again before the next plan (its hash changed with no event naming it)."""
        self._dirty.add(robot)

    def invalidate(self) -> None:
        """Trust nothing cached: load everything at the next read (e.g. Redis may have restarted)."""
        self._last_id = None

    async def world(self) -> WorldView:
        """The fleet and scene now, with liveness read from Redis."""
        async with self._lock:
            # The scene version comes with the events, read in one step: every scene change up to it
            # is among them, so a view behind it after applying them missed one.
            if self._last_id is None:
                liveness, version = await asyncio.gather(self._mem.robots.liveness(), self._catch_up())
            else:
                liveness, version = await self._read_changes()
            if self._version < version:
                logger.info("fleet view: scene version %d, the events gave %d; reading the scene again",
                            version, self._version)
                await self._load_scene()
            await self._read_dirty()
            if liveness.registered > len(self._robots):  # one whose registration it did not see
                self._dirty |= await self._mem.robots.names() - self._robots.keys()
                await self._read_dirty()
            if liveness.offline != self._offline:
                self._restale(liveness.offline ^ self._offline)
                self._offline, self._world = liveness.offline, None
            if self._world is None:
                self._world = self._build()
            return self._world

    def built_world(self) -> WorldView | None:
        """The world last built when nothing this copy knows of changed since (no robot marked to
        read again, the scene not to read again): what ``world()`` returns unless Redis holds news
        (events, liveness) this copy has not read yet. None otherwise."""
        if self._last_id is None or self._dirty or self._scene_stale:
            return None
        return self._world

    async def catch_up(self) -> None:
        """Apply the events written since the last read (keeps the backlog short between tasks)."""
        async with self._lock:
            await self._catch_up()

    # -- reading ---------------------------------------------------------------------------

    async def _read_changes(self) -> tuple[Liveness, int]:
        """Liveness, the events since the last read and the robots marked to read again, in one
        round trip; returns the liveness and the scene version read with the events. The robots'
        hashes are read with the events, so the events' marks on them are already answered."""
        names, self._dirty = self._dirty, set()
        try:
            read = await self._mem.fleet_changes(self._last_id or "0-0", READ_COUNT, sorted(names))
        except BaseException:
            self._dirty |= names
            raise
        touched, self._dirty = self._dirty, set()  # marked while the read was on its way: read again
        version = await self._catch_up(read.since)
        if read.since.trimmed or len(read.since.events) == READ_COUNT:
            self._dirty |= names | touched  # reloaded, or events read after the hashes: read them again
        else:
            self._dirty = (self._dirty - names) | touched
            self._take_records(names, read.robots)
        return read.liveness, version

    async def _catch_up(self, first: Since | None = None) -> int:
        """Apply the events since the last read (``first``: the first batch of them, read already);
        returns the scene version read with the first of them (or loaded)."""
        if self._last_id is None:
            await self._load()
            return self._version
        version = None
        read = first
        while True:
            if read is None:
                read = await self._mem.events.since(self._last_id, READ_COUNT)
            version = read.scene_version if version is None else version
            if read.trimmed:
                logger.warning("fleet view: the event history was trimmed past %s; reading everything", self._last_id)
                await self._load()
                return self._version
            for event in read.events:
                self._apply(event)
            self._last_id = read.next_id
            if len(read.events) < READ_COUNT:
                break
            read = None
        if self._scene_stale:
            await self._load_scene()
        return version

    async def _load(self) -> None:
        last_id = await self._mem.events.newest_id()  # first: what follows may be in the reads already
        await self._load_scene()
        names = await self._mem.robots.names()
        records = await self._mem.robots.unplaced(sorted(names))
        self._robots = {r.name: self._view(r) for r in records}
        self._profiles = {name: known for name, known in self._profiles.items() if name in self._robots}
        self._placed.clear()
        self._stale = _ALL
        self._dirty.clear()
        self._last_id, self._world = last_id, None
        logger.info("fleet view: %d robots, %d scene nodes at version %d", len(self._robots), len(self._scene),
                    self._version)

    async def _load_scene(self) -> None:
        snapshot = await self._mem.scene.snapshot()
        self._set_scene(snapshot.nodes.values())
        self._version, self._scene_stale = snapshot.version, False

    async def _read_dirty(self) -> None:
        if not self._dirty:
            return
        names, self._dirty = self._dirty, set()
        try:
            records = await self._mem.robots.unplaced(sorted(names))
        except BaseException:
            self._dirty |= names
            raise
        self._take_records(names, records)

    def _take_records(self, names: Iterable[str], records: Iterable[RobotRecord]) -> None:
        """The robots ``names`` as read just now (``records``: those of them registered)."""
        found = {r.name: r for r in records}
        for name in names:
            view = self._view(found[name]) if name in found else None
            if view != self._robots.get(name):
                self._world = None
                if view is None or name not in self._robots:  # one gone or new: the order changes
                    self._stale = _ALL
                self._restale([name])
                if view is None:
                    self._robots.pop(name, None)
                    self._profiles.pop(name, None)
                else:
                    self._robots[name] = view

    def _view(self, record: RobotRecord) -> RobotView:
        """The record as the planner sees it (unplaced). Its skills are read into views again only
        when its profile changed: a status or a degraded flag changes far more often."""
        known = self._profiles.get(record.name)
        if known is None or known[0] != record.profile:
            known = record.profile, RobotView.from_dict(record.profile.to_dict())
            self._profiles[record.name] = known
        return replace(known[1], online=record.online, status=record.status, degraded=record.degraded,
                       position=record.position, holding=tuple(record.holding))

    # -- events ----------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        if "version" in event.data:
            self._apply_scene(event, int(event.data["version"]))
        if event.robot and event.kind not in _HASH_UNCHANGED:
            self._dirty.add(event.robot)

    def _apply_scene(self, event: Event, version: int) -> None:
        """One scene change, if it is the next one; else the scene is marked to be read again."""
        if version <= self._version or self._scene_stale:
            return  # already in what was read (or about to be read again)
        if version != self._version + 1:
            logger.info("fleet view: scene version %d after %d; reading the scene again", version, self._version)
            self._scene_stale = True
            return
        try:
            self._change_scene(event)
        except (SceneConflict, KeyError, TypeError, ValueError) as e:
            logger.warning("fleet view: cannot apply %s event %s (%r); reading the scene again", event.kind, event.id, e)
            self._scene_stale = True
            return
        self._version = version

    def _change_scene(self, event: Event) -> None:
        if event.kind == "scene_loaded":
            self._set_scene(SceneNode.from_dict(n) for n in event.data["nodes"])
        elif event.kind == "effects":
            self._set_nodes(apply_effects(self._scene, event.data["effects"]).values())
        elif isinstance(event.data.get("node"), dict):
            self._set_nodes([SceneNode.from_dict(event.data["node"])])
        else:
            raise ValueError(f"a scene change of unknown kind {event.kind!r}")
        self._world = None

    def _set_scene(self, nodes: Iterable[SceneNode]) -> None:
        """The whole scene anew."""
        self._scene = {n.name: n for n in nodes}
        self._nodes = {name: _node_view(self._scene[name]) for name in sorted(self._scene)}
        self._held = {}
        for view in self._nodes.values():
            self._hold(view, add=True)
        self._changed, self._stale, self._world = _ALL, _ALL, None

    def _set_nodes(self, nodes: Iterable[SceneNode]) -> None:
        """Some nodes changed or new: what robots hold and where they are follows."""
        changed = {n.name: n for n in nodes}
        self._scene.update(changed)
        added = False
        for name, node in changed.items():
            old, view = self._nodes.get(name), _node_view(node)
            if old is None:
                added = True
            else:
                self._hold(old, add=False)
            self._hold(view, add=True)
            self._nodes[name] = view
            self._restale([name])  # where a robot is, if the node is one
        if added:
            self._nodes = dict(sorted(self._nodes.items()))
            self._changed = _ALL
        elif self._changed is not _ALL:
            self._changed |= changed.keys()

    def _hold(self, view: NodeView, *, add: bool) -> None:
        """Count ``view`` held by its robot (or no longer); that robot is placed again."""
        if view.relation == "held_by" and view.parent:
            held = self._held.setdefault(view.parent, set())
            if add:
                held.add(view.name)
            else:
                held.discard(view.name)
            self._restale([view.parent])

    def _restale(self, names: Iterable[str]) -> None:
        """Place these robots again at the next build (names of other nodes are passed over there)."""
        if self._stale is not _ALL:
            self._stale.update(names)

    # -- the world view --------------------------------------------------------------------

    def _build(self) -> WorldView:
        """The world from what changed since the last one: only the robots touched are placed again,
        and the nodes come with the names that changed (``NodeMap``), so the state, the planner's
        caches and the lexicon patch rather than compare the whole scene."""
        if self._stale is _ALL:
            robots = {name: self._place(self._robots[name]) for name in sorted(self._robots)}
        else:
            robots = dict(self._last_world.robots) if self._last_world is not None else {}
            robots.update((name, self._place(self._robots[name])) for name in self._stale if name in self._robots)
        last = self._last_world
        if last is not None and self._changed is not _ALL and not self._changed and isinstance(last.nodes, NodeMap):
            nodes = last.nodes  # the same nodes: the same map
        else:
            base = last.nodes if last is not None and isinstance(last.nodes, NodeMap) else None
            nodes = NodeMap(self._nodes, base, self._changed)
        world = WorldView(robots=robots, nodes=nodes, version=self._version).reuse_state(last)
        self._last_world, self._changed, self._stale = world, set(), set()
        return world

    def _place(self, robot: RobotView) -> RobotView:
        """``robot`` with its liveness, and its position and holding from the scene when the scene
        has its node (as ``WorldView.from_dicts`` joins them); reused while none of that changed."""
        node = self._nodes.get(robot.name)
        held = tuple(sorted(self._held.get(robot.name, ())))
        placement = (node.parent if node else None, node is not None, held, robot.name in self._offline)
        cached = self._placed.get(robot.name)
        if cached is not None and cached[0] is robot and cached[1] == placement:
            return cached[2]
        placed = robot
        if placement[3]:
            placed = replace(placed, online=False, status="offline")
        if node is not None:
            placed = replace(placed, position=node.parent or placed.position, holding=placement[2])
        self._placed[robot.name] = (robot, placement, placed)
        return placed


def _node_view(node: SceneNode) -> NodeView:
    return NodeView.from_dict(node.to_dict())
