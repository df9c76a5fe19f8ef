"""The brain's read-only view of the fleet and the scene.

Built from plain dicts (``RobotRecord.to_dict()`` list and ``SceneSnapshot.to_dict()``) so the brain
imports no other component::

    world = WorldView.from_dicts([r.to_dict() for r in records], snapshot.to_dict())
    world.place_of("apple")            # "kitchen"
    world.reachable_places("runner")   # {"kitchen", "pass"}
    world.robots_with_kind("pick")     # robots that have a skill of that kind
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import compress
from operator import is_not
from typing import Any

from memory.world import Body, WorldState

__all__ = ["NodeMap", "NodeView", "RobotView", "SkillView", "WorldView", "changed_nodes"]


@dataclass(frozen=True)
class SkillView:
    """One skill of a robot: its JSON schema and its action semantics (kind, roles)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)  # JSON schema of the arguments
    kind: str = "other"  # navigate | pick | place | open | close | generate_actions | other
    roles: dict[str, str] = field(default_factory=dict)  # role (object, target...) -> argument name

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SkillView:
        """From a ``SkillSpec.to_dict()``."""
        semantics = data.get("semantics") or {}
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            parameters=dict(data.get("input_schema") or data.get("parameters") or {}),
            kind=semantics.get("kind", "other"),
            roles=dict(semantics.get("roles") or {}),
        )


@dataclass(frozen=True)
class RobotView:
    """A robot as the planner sees it: identity, liveness, where it is, what it holds and can do."""

    name: str
    embodiment: str
    online: bool = True
    status: str = "idle"
    degraded: str = ""  # why it cannot take work though online (its skill server is unreachable)
    position: str | None = None  # the scene node it is at (a place or a piece of furniture)
    holding: tuple[str, ...] = ()
    skills: dict[str, SkillView] = field(default_factory=dict)
    capabilities: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobotView:
        """From a ``RobotRecord.to_dict()``; a bare ``RobotProfile.to_dict()`` reads as online."""
        profile = data.get("profile", data)
        skills = [SkillView.from_dict(s) for s in profile.get("skills") or []]
        return cls(
            name=profile["name"],
            embodiment=profile.get("embodiment", ""),
            online=bool(data.get("online", "profile" not in data)),
            status=data.get("status", "idle"),
            degraded=data.get("degraded") or "",
            position=data.get("position"),
            holding=tuple(data.get("holding") or ()),
            skills={s.name: s for s in skills},
            capabilities=dict(profile.get("capabilities") or {}),
        )

    def skills_of_kind(self, kind: str) -> list[SkillView]:
        """The robot's skills of one action kind, by name (deterministic)."""
        return sorted((s for s in self.skills.values() if s.kind == kind), key=lambda s: s.name)

    def has_kind(self, kind: str) -> bool:
        return any(s.kind == kind for s in self.skills.values())

    @cached_property
    def body(self) -> Body:
        """Its body in the world model: the declared capabilities, moving only with a navigate skill."""
        body = Body.from_capabilities(self.capabilities)
        return replace(body, mobile=body.mobile and self.has_kind("navigate"))

    @property
    def mobile(self) -> bool:
        """Can move between places: it has a navigate skill and its body does not say otherwise."""
        return self.body.mobile

    @property
    def arms(self) -> int:
        """Grippers to hold things with."""
        return self.body.grippers

    @property
    def payload_kg(self) -> float:
        """Heaviest object it may carry (``inf`` when not declared)."""
        return self.body.payload_kg

    @property
    def zones(self) -> tuple[str, ...]:
        """Places it may go; empty means anywhere."""
        return self.body.zones


@dataclass(frozen=True)
class NodeView:
    """A scene node: ``kind`` place | furniture | container | object | robot, one parent, props."""

    name: str
    kind: str
    parent: str | None = None
    relation: str | None = None  # on | in | at | held_by
    props: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeView:
        return cls(
            name=data["name"],
            kind=data.get("kind", "object"),
            parent=data.get("parent"),
            relation=data.get("relation"),
            props=dict(data.get("props") or {}),
        )



@dataclass(frozen=True)
class WorldView:
    """A consistent, read-only snapshot of robots and scene nodes at scene ``version``."""

    robots: dict[str, RobotView] = field(default_factory=dict)
    nodes: dict[str, NodeView] = field(default_factory=dict)
    version: int = 0

    @classmethod
    def from_dicts(cls, robots: list[dict[str, Any]], scene: dict[str, Any]) -> WorldView:
        """From ``[RobotRecord.to_dict(), ...]`` and ``SceneSnapshot.to_dict()``.

        A robot's position and what it holds come from the scene graph when the graph has the
        robot's node (so they never disagree with it), else from the record.
        """
        raw_nodes = scene.get("nodes") or []
        if isinstance(raw_nodes, dict):
            raw_nodes = list(raw_nodes.values())
        nodes = {n.name: n for n in (NodeView.from_dict(d) for d in raw_nodes)}
        views = (_with_scene_state(RobotView.from_dict(d), nodes) for d in robots)
        return cls(robots={r.name: r for r in views}, nodes=nodes, version=int(scene.get("version", 0)))

    def node(self, name: str) -> NodeView | None:
        return self.nodes.get(name)

    def nodes_of_kind(self, *kinds: str) -> list[NodeView]:
        """Nodes of the given kinds, by name."""
        return sorted((n for n in self.nodes.values() if n.kind in kinds), key=lambda n: n.name)

    def place_of(self, name: str) -> str | None:
        """The place a node (or robot) is in, walking up parents; a place is its own place."""
        seen: set[str] = set()
        current: str | None = name
        while current is not None and current not in seen:
            seen.add(current)
            node = self.nodes.get(current)
            if node is None:
                robot = self.robots.get(current)
                current = robot.position if robot else None
                continue
            if node.kind == "place":
                return node.name
            current = node.parent
        return None

    @cached_property
    def state(self) -> WorldState:
        """The world model's state of this view (robots as nodes at their position, with their
        bodies); copy it before changing it."""
        robots = [NodeView(r.name, "robot", r.position, "at") for r in self.robots.values() if r.name not in self.nodes]
        bodies = {r.name: r.body for r in self.robots.values()}
        state = WorldState.from_nodes([*self.nodes.values(), *robots], bodies)
        for robot in self.robots.values():
            for item in robot.holding:
                state.move(item, robot.name, "held_by")
        return state

    def reuse_state(self, previous: WorldView | None) -> WorldView:
        """This view, its ``state`` patched from ``previous``'s where that one was built and only a
        few nodes differ (the same as building it afresh, at the cost of the changes); returns self."""
        state = _patched_state(previous, self) if previous is not None and "state" in previous.__dict__ else None
        if state is not None:
            self.__dict__["state"] = state  # what the cached property would have stored
        return self

    def is_open(self, name: str) -> bool:
        """Whether a container (or door) is open, by the world model's rule."""
        return name in self.nodes and self.state.is_open(name)

    def holder_of(self, name: str) -> str | None:
        """The robot holding a node, if any."""
        node = self.nodes.get(name)
        if node is not None and node.relation == "held_by":
            return node.parent
        return next((r.name for r in self.robots.values() if name in r.holding), None)

    def reachable_places(self, robot: str) -> set[str]:
        """Places a robot can get to from where it is, within its zones, through doors that are not
        locked (closed ones opened on the way); a robot that cannot move has only its own place."""
        here = self.place_of(robot)
        if not self.robots[robot].mobile:
            return {here} if here else set()
        if here is None:  # nowhere known yet: anywhere in its zones
            zones = set(self.robots[robot].zones)
            return {p.name for p in self.nodes_of_kind("place") if not zones or p.name in zones}
        return set(self.state.routes(here, self.robots[robot].zones, through_closed=True)) | {here}

    def robots_with_kind(self, kind: str) -> list[RobotView]:
        """Robots with at least one skill of that action kind, by name."""
        return [self.robots[n] for n in sorted(self.robots) if self.robots[n].has_kind(kind)]

    def online_robots(self) -> list[RobotView]:
        """Robots that can take work: online and not degraded, by name."""
        return [r for n in sorted(self.robots) if (r := self.robots[n]).online and not r.degraded]


def _with_scene_state(robot: RobotView, nodes: dict[str, NodeView]) -> RobotView:
    node = nodes.get(robot.name)
    if node is None:
        return robot
    held = tuple(sorted(n.name for n in nodes.values() if n.relation == "held_by" and n.parent == robot.name))
    return replace(robot, position=node.parent or robot.position, holding=held)


def _patched_state(old: WorldView, new: WorldView) -> WorldState | None:
    """``new.state`` from ``old.state``, or None where ``new`` has other node or robot names (or a
    robot whose view changed holds a thing with no node): then the order of the state's names could
    differ from a fresh build. Only what changed is set again, as ``state`` sets it: the changed
    nodes and what the changed robots (views that are not the very ones in ``old``) hold or held
    from their nodes, those robots placed when they have no node, their bodies, and what they hold
    put in their grippers, as is a changed node that a robot whose view did not change holds."""
    changed = changed_nodes(old.nodes, new.nodes)
    if changed is None or list(old.robots) != list(new.robots):
        return None
    moved = list(compress(new.robots.values(), map(is_not, new.robots.values(), old.robots.values())))
    held = {item for robot in moved for item in (*robot.holding, *old.robots[robot.name].holding)}
    if not held <= new.nodes.keys():
        return None
    state = old.state.copy()
    kept_holders = {name: holder for name in changed if (holder := old.state.holder(name)) is not None
                    and holder in new.robots and new.robots[holder] is old.robots[holder]}
    for name in {*changed, *held}:  # in any order: each ends at its own parent
        state.put(new.nodes[name])
    for robot in moved:
        if robot.name not in new.nodes:
            state.move(robot.name, robot.position, "at")
        state.set_body(robot.name, robot.body)
    for robot in moved:
        for item in robot.holding:
            state.move(item, robot.name, "held_by")
    for name, holder in kept_holders.items():
        if name in new.robots[holder].holding:
            state.move(name, holder, "held_by")
    return state


class NodeMap(dict[str, NodeView]):
    """A world's nodes by name that also says which names hold other views than in ``base``, the
    map it was made from (None: not known). Made by a reader that follows the changes (the
    master's fleet view), so that comparing two worlds costs the changes, not the scene. The base
    is held weakly: a chain of worlds does not keep the older ones alive."""

    __slots__ = ("_base", "changed", "__weakref__")

    def __init__(self, nodes: Mapping[str, NodeView], base: NodeMap | None = None,
                 changed: Iterable[str] | None = None) -> None:
        super().__init__(nodes)
        known = base is not None and changed is not None
        self._base = weakref.ref(base) if known else None
        self.changed = frozenset(changed) if known else None

    @property
    def base(self) -> NodeMap | None:
        return self._base() if self._base is not None else None


def changed_nodes(old: Mapping[str, NodeView], new: Mapping[str, NodeView]) -> list[str] | None:
    """The names whose view in ``new`` is not the very one in ``old`` (views are replaced, never
    changed), or None when the two do not have the same names in the same order. Cheap: it compares
    identities, not contents, and a ``NodeMap`` made from ``old`` tells them without comparing."""
    if isinstance(new, NodeMap) and new.base is old and new.changed is not None:
        return sorted(new.changed)
    if len(old) != len(new) or list(old) != list(new):
        return None
    return list(compress(new, map(is_not, old.values(), new.values())))
