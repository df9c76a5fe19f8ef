"""Which robot does what: capability checks, costs, and handoff chains.

A robot can carry X from A to B when it is online and not avoided, has usable pick and place skills
(and open, when A or B is a closed container), can reach both places (mobile: its zones, all places
when empty; otherwise only its own place), has a free hand and a payload of at least X's weight.

Cost, lowest first: ``moves + 2 * load``, then ``moves``, then the name. ``moves`` counts changes of
place on the way (where it is -> A -> B); ``load`` counts steps already given to it in this plan
(plus one while it is busy), each worth about two moves of waiting. Closer robots win; a free robot
wins over a busy one that is at most one move closer, which spreads independent goals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from brain.symbolic.actions import robot_call, role_values
from brain.symbolic.state import SimState
from brain.world import RobotView, WorldView

__all__ = ["Allocator", "Handoff", "LOAD_WEIGHT"]

LOAD_WEIGHT = 2

Cost = tuple[int, int, str]


@dataclass(frozen=True)
class Handoff:
    """``first`` carries the object to ``via``; ``second`` takes it on from there."""

    first: str
    via: str
    second: str


class Allocator:
    """Answers "who can" and "who should" against the simulated world."""

    def __init__(self, world: WorldView, state: SimState, load: dict[str, int], avoid: Iterable[str] = ()) -> None:
        self.world = world
        self.state = state
        self.load = load
        self.avoid = set(avoid)

    def unusable(self, name: str) -> str | None:
        robot = self.world.robots[name]
        if not robot.online:
            return "it is offline"
        if name in self.avoid:
            return "it is to be avoided in this replan"
        return None

    def reach_problem(self, name: str, nodes: Iterable[str]) -> str | None:
        places = [p for p in (self.state.place_of(n) for n in nodes) if p is not None]
        robot = self.world.robots[name]
        if not robot.mobile:
            here = self.state.place_of(name)
            away = sorted({p for p in places if p != here})
            return f"it cannot move from {here} to {', '.join(away)}" if away else None
        allowed = self.world.reachable_places(name)
        outside = sorted({p for p in places if p not in allowed})
        if outside:
            return f"{', '.join(outside)} is outside its zones ({', '.join(sorted(allowed))})"
        return None

    def carry_problem(self, name: str, obj: str, source: str | None, target: str, relation: str) -> str | None:
        """Why ``name`` cannot bring ``obj`` from ``source`` (None: it holds it) to ``target``."""
        robot = self.world.robots[name]
        checks = (
            self.unusable(name),
            self.pick_problem(robot, obj, source) if source is not None else None,
            self._place_problem(robot, obj, target, relation),
            self.reach_problem(name, [n for n in (source, target) if n is not None]),
        )
        return next((c for c in checks if c), None)

    def pick_problem(self, robot: RobotView, obj: str, source: str) -> str | None:
        if robot_call(robot, "pick", role_values("pick", obj=obj, target=source)) is None:
            return "it has no usable pick skill"
        if self.state.is_closed_container(source) and not self._can(robot, "open", source):
            return f"it cannot open the {source}"
        held = self.state.holding(robot.name)
        if len(held) >= robot.arms:
            return f"it has no free hand (holding {', '.join(held) or 'nothing'} with {robot.arms} arm(s))"
        weight = self.world.nodes[obj].weight_kg
        if weight > robot.payload_kg:
            return f"{obj} weighs {weight:g} kg, more than its payload of {robot.payload_kg:g} kg"
        return None

    def _place_problem(self, robot: RobotView, obj: str, target: str, relation: str) -> str | None:
        if robot_call(robot, "place", role_values("place", obj=obj, target=target, relation=relation)) is None:
            return "it has no usable place skill"
        if relation == "in" and self.state.is_closed_container(target) and not self._can(robot, "open", target):
            return f"it cannot open the {target}"
        return None

    def _can(self, robot: RobotView, kind: str, target: str) -> bool:
        return robot_call(robot, kind, role_values(kind, target=target)) is not None

    def cost(self, name: str, *nodes: str) -> Cost:
        """Cost of sending ``name`` from where it is through ``nodes`` in turn."""
        moves, here = 0, self.state.place_of(name)
        if self.world.robots[name].mobile:
            for node in nodes:
                there = self.state.place_of(node)
                moves += int(there != here)
                here = there
        return (moves + LOAD_WEIGHT * self.load.get(name, 0), moves, name)

    def candidates(self, only: str | None = None) -> list[str]:
        return [only] if only else sorted(self.world.robots)

    def best(self, nodes: Iterable[str | None], problem: Callable[[str], str | None],
             only: str | None = None) -> tuple[str | None, dict[str, str]]:
        """The cheapest robot with no ``problem`` going through ``nodes``, and why each other cannot."""
        route = [n for n in nodes if n]
        problems: dict[str, str] = {}
        able: list[tuple[Cost, str]] = []
        for name in self.candidates(only):
            reason = problem(name)
            if reason:
                problems[name] = reason
            else:
                able.append((self.cost(name, *route), name))
        return (min(able)[1] if able else None), problems

    def best_carrier(self, obj: str, source: str | None, target: str, relation: str,
                     only: str | None = None) -> tuple[str | None, dict[str, str]]:
        return self.best((source, target), lambda n: self.carry_problem(n, obj, source, target, relation), only)

    def best_picker(self, obj: str, source: str, only: str | None = None) -> tuple[str | None, dict[str, str]]:
        def problem(name: str) -> str | None:
            robot = self.world.robots[name]
            checks = (self.unusable(name), self.pick_problem(robot, obj, source), self.reach_problem(name, [source]))
            return next((c for c in checks if c), None)

        return self.best((source,), problem, only)

    def best_operator(self, kind: str, container: str, only: str | None = None) -> tuple[str | None, dict[str, str]]:
        """Who should open or close ``container``."""
        def problem(name: str) -> str | None:
            robot = self.world.robots[name]
            lacks = None if self._can(robot, kind, container) else f"it has no usable {kind} skill"
            return self.unusable(name) or lacks or self.reach_problem(name, [container])

        return self.best((container,), problem, only)

    def best_mover(self, target: str, only: str | None = None) -> tuple[str | None, dict[str, str]]:
        """Who should go to ``target``."""
        def problem(name: str) -> str | None:
            cannot_move = None if self.world.robots[name].mobile else "it cannot move"
            return self.unusable(name) or cannot_move or self.reach_problem(name, [target])

        return self.best((target,), problem, only)

    def best_handoff(self, obj: str, source: str | None, holder: str | None, target: str,
                     relation: str) -> Handoff | None:
        """The cheapest two-robot chain through a piece of furniture both can reach."""
        options: list[tuple[tuple[int, int, bool, str, str, str], Handoff]] = []
        for via in self.world.nodes_of_kind("furniture"):
            if via.name in (source, target):
                continue
            first, first_cost = self._leg(obj, source, via.name, "on", holder)
            if first is None:
                continue
            second, second_cost = self._leg(obj, via.name, target, relation, None, exclude=first)
            if second is None:
                continue
            key = (first_cost[0] + second_cost[0], first_cost[1] + second_cost[1],
                   not via.props.get("handoff"), via.name, first, second)
            options.append((key, Handoff(first, via.name, second)))
        return min(options, key=lambda o: o[0])[1] if options else None

    def _leg(self, obj: str, source: str | None, target: str, relation: str, fixed: str | None,
             exclude: str | None = None) -> tuple[str | None, Cost]:
        able = [
            (self.cost(name, *(n for n in (source, target) if n)), name)
            for name in self.candidates(fixed)
            if name != exclude and self.carry_problem(name, obj, source, target, relation) is None
        ]
        if not able:
            return None, (0, 0, "")
        cost, name = min(able)
        return name, cost
