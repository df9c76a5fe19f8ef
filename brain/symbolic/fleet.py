"""What each robot of the fleet can do, where it can get, and what sending it costs.

Computed once per planning call from the world at its start: a robot's places are those its routes
lead to within its zones, through doors that are not locked (closed ones get opened on the way).
Costs estimate time: when the robot is free (``busy_s``, the steps already given to it) plus its
travel; the cheapest robot finishes first, which spreads independent goals over the fleet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from brain.symbolic.actions import MANIPULATION_S, can_call
from brain.world import RobotView, WorldView
from memory.world import WorldState, body_limit

__all__ = ["Ability", "Fleet"]


@dataclass
class Ability:
    """One usable robot: its view, the places it can get to, and the skills it can use."""

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
        for robot in self.world.online_robots():
            if robot.name in self.avoid:
                self.unusable[robot.name] = "it is to be avoided in this replan"
            else:
                self.abilities[robot.name] = self._ability(robot)
        for robot in self.world.robots.values():
            if not robot.online:
                self.unusable[robot.name] = "it is offline"
            elif robot.degraded:
                self.unusable[robot.name] = robot.degraded  # "its skill server is unreachable"
            self.busy_s.setdefault(robot.name, 2 * MANIPULATION_S if robot.status == "busy" else 0.0)

    def _ability(self, robot: RobotView) -> Ability:
        here = self.state.place_of(robot.name)
        places = {here} if here else set()
        if robot.mobile and here:
            places |= set(self.state.routes(here, robot.zones, through_closed=True))
        handles = robot.arms > 0 and can_call(robot, "pick", obj="x") and can_call(robot, "place", obj="x", target="y")
        opens = robot.arms > 0 and robot.body.can_open and can_call(robot, "open", target="x")
        return Ability(robot, frozenset(places), handles, opens)

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
