"""What each robot of the fleet can do, where it can get, and what sending it costs.

Computed once per planning call from the world at its start: a robot's places are those its routes
lead to within its zones, through doors that are not locked (closed ones get opened on the way).
What was computed for an earlier world is reused (``_Known``) while what it depends on is the same:
a robot's places while it is in the same place with the same zones and no place or door changed;
whether it can pick, place and open while it has the same skills and body; its whole ``Ability``
while its view is the very same object, in the same place, on the same map; and the last fleet
as a whole, with only the robots whose view or place may have changed worked out again.
Costs estimate time: when the robot is free (``busy_s``, the steps already given to it) plus its
travel; the cheapest robot finishes first, which spreads independent goals over the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import compress
from operator import is_not
from typing import Any

from brain.symbolic.actions import MANIPULATION_S, can_call
from brain.world import NodeView, RobotView, WorldView, changed_nodes
from memory.world import WorldState, body_limit

__all__ = ["Ability", "Fleet"]

_FEW_CHANGES = 64  # nodes changed since the last fleet, beyond which a fleet is built afresh


@dataclass(frozen=True)
class Ability:
    """One usable robot: its view, the places it can get to, and the skills it can use (shared
    between planning calls, so never changed)."""

    robot: RobotView
    places: frozenset[str]
    handles: bool  # it can pick and place
    opens: bool  # it can open and close

    @property
    def name(self) -> str:
        return self.robot.name


@dataclass
class Fleet:
    """The usable robots (online, not degraded, not avoided) and their bookkeeping during one planning call."""

    world: WorldView
    state: WorldState
    avoid: set[str] = field(default_factory=set)
    busy_s: dict[str, float] = field(default_factory=dict)
    abilities: dict[str, Ability] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _known.refresh(self.world)
        changed = _known.changed_robots(self.world, self.state, self.avoid)
        if changed is None:
            robots: Iterable[RobotView] = self.world.robots.values()
        else:  # the last fleet's robots, with those that changed worked out again
            last = _known.fleet
            assert last is not None
            # abilities and unusable are not changed once built: shared while no robot changed
            self.abilities, self.unusable = (dict(last.abilities), dict(last.unusable)) if changed else (
                last.abilities, last.unusable)
            self.busy_s = dict(last.busy_s)
            robots = [self.world.robots[name] for name in changed]
        for robot in robots:
            self._admit(robot)
        _known.remember_fleet(self)

    def _admit(self, robot: RobotView) -> None:
        """``robot``'s ability, or why it cannot be used, and when it is free."""
        name = robot.name
        self.abilities.pop(name, None)
        self.unusable.pop(name, None)
        if not robot.online:
            self.unusable[name] = "it is offline"
        elif robot.degraded:
            self.unusable[name] = robot.degraded  # "its skill server is unreachable"
        elif name in self.avoid:
            self.unusable[name] = "it is to be avoided in this replan"
        else:
            self.abilities[name] = self._ability(robot)
        self.busy_s[name] = 2 * MANIPULATION_S if robot.status == "busy" else 0.0

    def _ability(self, robot: RobotView) -> Ability:
        here = self.state.place_of(robot.name)
        known = _known.ability(robot, here)
        if known is not None:
            return known
        places = _known.places(robot, here) or self._places(robot, here)
        handles, opens = _known.skills(robot) or _skills(robot)
        ability = Ability(robot, places, handles, opens)
        _known.remember(robot, here, ability)
        return ability

    def _places(self, robot: RobotView, here: str | None) -> frozenset[str]:
        places = {here} if here else set()
        if robot.mobile and here:
            places |= set(self.state.routes(here, robot.zones, through_closed=True))
        return frozenset(places)

    def usable(self, only: str | None = None) -> list[Ability]:
        if only is not None:
            return [self.abilities[only]] if only in self.abilities else []
        return [self.abilities[n] for n in sorted(self.abilities)]

    def could_reach(self, name: str, node: str) -> str | None:
        """Why robot ``name`` could not act on ``node`` even after travelling, or None."""
        ability = self.abilities[name]
        where = self.state.door_places(node) if self.state.kind.get(node) == "door" else (self.state.place_of(node),)
        if not set(where) & ability.places:
            return f"it cannot get to the {' or the '.join(p or '?' for p in where)}"
        return body_limit(self.state, name, node)

    def can_pick(self, name: str, obj: str, at: str | None = None) -> str | None:
        """Why ``name`` could not pick ``obj`` (lying on ``at``, default where it is), or None."""
        ability = self.abilities[name]
        if not ability.handles:
            return "it has no gripper or no usable pick and place skills"
        held = self.state.holding(name)
        if self.state.holder(obj) != name and len(held) >= ability.robot.arms:
            return f"it has no free gripper (holding {', '.join(held)})"
        weight, payload = self.state.weight_kg(obj), ability.robot.payload_kg
        if weight > payload:
            return f"{obj} weighs {weight:g} kg, more than its payload of {payload:g} kg"
        return self.could_reach(name, at or obj)

    def travel_s(self, name: str, *nodes: str) -> float:
        """Travel time of ``name`` from where it is through ``nodes`` in turn (inf if it cannot)."""
        total, here = 0.0, self.state.place_of(name)
        robot = self.abilities[name].robot
        for node in nodes:
            sides = self.state.door_places(node) if self.state.kind.get(node) == "door" else (self.state.place_of(node),)
            if here in sides:
                continue
            routes = [self.state.route(here, there, robot.zones, through_closed=True)
                      for there in sides if there is not None and robot.mobile and here]
            route = min((r for r in routes if r is not None), key=lambda r: r.travel_s, default=None)
            if route is None:
                return float("inf")
            total, here = total + route.travel_s, route.places[-1]
        return total

    def cost(self, name: str, *nodes: str) -> tuple[float, str]:
        """When ``name`` would be done going through ``nodes``: (busy time + travel, name)."""
        return (self.busy_s.get(name, 0.0) + self.travel_s(name, *nodes), name)

    def best(self, names: Iterable[str], *nodes: str) -> str | None:
        options = [self.cost(n, *nodes) for n in names]
        options = [o for o in options if o[0] != float("inf")]
        return min(options)[1] if options else None


def _skills(robot: RobotView) -> tuple[bool, bool]:
    """Whether ``robot`` can pick and place, and whether it can open and close."""
    handles = robot.arms > 0 and can_call(robot, "pick", obj="x") and can_call(robot, "place", obj="x", target="y")
    opens = robot.arms > 0 and robot.body.can_open and can_call(robot, "open", target="x")
    return handles, opens


class _Known:
    """Robots' places and skills computed for earlier worlds, with what each depends on.

    Places depend on the robot's place, mobility and zones, and on the map: the places' passages
    and the doors' locks (closed doors count as passable). Any change to a node that is or was a
    place, or to a node's ``passages`` or ``locked`` prop, forgets every robot's places; a world
    with other node names forgets them too. Skills depend on the robot's skills (views are
    replaced, never changed, so the same skills object means the same skills) and its body.
    """

    def __init__(self) -> None:
        self._nodes: Mapping[str, NodeView] = {}
        self._places: dict[str, tuple[tuple[Any, ...], frozenset[str]]] = {}
        self._skills: dict[str, tuple[tuple[Any, ...], tuple[bool, bool]]] = {}
        self._abilities: dict[str, tuple[RobotView, str | None, Ability]] = {}  # the last, per robot
        self.fleet: _LastFleet | None = None  # the last fleet built, as it was built

    def refresh(self, world: WorldView) -> None:
        """Forget the places of every robot if ``world``'s map may differ from the last one's."""
        if world.nodes is not self._nodes:
            changed = changed_nodes(self._nodes, world.nodes)
            if changed is None or any(_map_part(self._nodes[n]) != _map_part(world.nodes[n]) for n in changed):
                self._places.clear()
                self._abilities.clear()
                self.fleet = None
            self._nodes = world.nodes
        if len(self._skills) > 2 * len(world.robots) + 64:  # robots that left, kept no longer
            self._skills = {n: v for n, v in self._skills.items() if n in world.robots}
            self._abilities = {n: v for n, v in self._abilities.items() if n in world.robots}

    def ability(self, robot: RobotView, here: str | None) -> Ability | None:
        """The robot's last ability while its view is the same object (views are replaced, never
        changed) and it is in the same place on an unchanged map."""
        robot_then, here_then, ability = self._abilities.get(robot.name, (None, None, None))
        return ability if robot_then is robot and here_then == here else None

    def changed_robots(self, world: WorldView, state: WorldState, avoid: set[str]) -> list[str] | None:
        """The robots of ``world`` whose part of the last fleet may differ (their view is another
        object, or a node on their way up to their place changed), or None when the last fleet
        cannot be the start (none, other robots, other names to avoid, or a changed map)."""
        last = self.fleet
        if last is None or last.avoid != avoid or list(last.robots) != list(world.robots):
            return None
        nodes = changed_nodes(last.nodes, world.nodes)
        if nodes is None or len(nodes) > _FEW_CHANGES:  # another world, or much changed: afresh
            return None
        names = set(compress(world.robots, map(is_not, last.robots.values(), world.robots.values())))
        for node in nodes:
            names |= _robots_under(state, node, world.robots)
        return sorted(names)

    def remember_fleet(self, fleet: Fleet) -> None:
        """``fleet`` as built (its bookkeeping copied: planning changes it)."""
        self.fleet = _LastFleet(fleet.world.robots, fleet.world.nodes, frozenset(fleet.avoid), fleet.abilities,
                                fleet.unusable, dict(fleet.busy_s))

    def places(self, robot: RobotView, here: str | None) -> frozenset[str] | None:
        key, places = self._places.get(robot.name, (None, None))
        return places if key == _place_key(robot, here) else None

    def skills(self, robot: RobotView) -> tuple[bool, bool] | None:
        key, known = self._skills.get(robot.name, (None, None))
        return known if key is not None and _same_skills(key, robot) else None

    def remember(self, robot: RobotView, here: str | None, ability: Ability) -> None:
        self._places[robot.name] = (_place_key(robot, here), ability.places)
        self._skills[robot.name] = ((robot.skills, robot.body), (ability.handles, ability.opens))
        self._abilities[robot.name] = (robot, here, ability)


@dataclass(frozen=True)
class _LastFleet:
    """What a fleet was built from (the robots' views, the nodes, the robots to avoid) and its parts."""

    robots: Mapping[str, RobotView]
    nodes: Mapping[str, NodeView]
    avoid: frozenset[str]
    abilities: dict[str, Ability]
    unusable: dict[str, str]
    busy_s: dict[str, float]


def _robots_under(state: WorldState, node: str, robots: Mapping[str, RobotView]) -> set[str]:
    """The robots that are ``node`` or below it (whose place a change to ``node`` may change)."""
    found, todo = set(), [node]
    while todo:
        name = todo.pop()
        if name in robots:
            found.add(name)
        todo.extend(state.children.get(name, ()))
    return found


def _place_key(robot: RobotView, here: str | None) -> tuple[Any, ...]:
    return here, robot.mobile, robot.zones


def _same_skills(key: tuple[Any, ...], robot: RobotView) -> bool:
    return key[0] is robot.skills and key[1] == robot.body


def _map_part(node: NodeView) -> tuple[Any, ...]:
    """What of a node the routes read."""
    return node.kind == "place", node.props.get("passages"), node.props.get("locked")


_known = _Known()
