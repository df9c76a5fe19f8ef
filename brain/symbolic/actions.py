"""Grounded tool calls and one robot's step as it is being planned.

Tool names and argument names are never assumed: a call is built from the robot's skill of the
needed kind (navigate, pick, place, open, close), filling the arguments its semantics' roles name.
Every action is checked and applied with the world model's rules (``memory.world.act``) as it is
added, so a plan the planner emits obeys the same rules as the simulated robots.
"""

from __future__ import annotations

from typing import Any

from brain.errors import PlanningError
from brain.world import RobotView, SkillView
from memory.world import DEFAULT_TRAVEL_S, RuleViolation, WorldState, act

__all__ = ["MANIPULATION_S", "StepDraft", "call_roles", "display", "ground_call", "robot_call", "role_values"]

# The role that a skill without declared roles fills with its only argument.
_PRIMARY_ROLE = {"navigate": "target", "pick": "object", "open": "target", "close": "target"}
MANIPULATION_S = DEFAULT_TRAVEL_S  # the planner's estimate of one pick, place, open or close


def ground_call(skill: SkillView, values: dict[str, str]) -> dict[str, Any] | None:
    """``{"name", "arguments"}`` for ``skill`` with its roles filled from ``values``.

    None when a required argument has no value (the skill wants something the planner cannot give).
    """
    arguments = {arg: values[role] for role, arg in skill.roles.items() if role in values}
    properties = skill.parameters.get("properties") or {}
    primary = _PRIMARY_ROLE.get(skill.kind)
    if not skill.roles and primary in values and len(properties) == 1:
        arguments = {next(iter(properties)): values[primary]}
    if any(required not in arguments for required in skill.parameters.get("required", [])):
        return None
    return {"name": skill.name, "arguments": arguments}


def call_roles(skill: SkillView, arguments: dict[str, Any]) -> dict[str, Any]:
    """The reverse of ``ground_call``: role -> value for a call of ``skill`` with ``arguments``."""
    if skill.roles:
        return {role: arguments[arg] for role, arg in skill.roles.items() if arg in arguments}
    primary = _PRIMARY_ROLE.get(skill.kind)
    if primary is not None and len(arguments) == 1:
        return {primary: next(iter(arguments.values()))}
    return {}


def robot_call(robot: RobotView, kind: str, values: dict[str, str]) -> dict[str, Any] | None:
    """The first of the robot's skills of ``kind`` (by name) that can be called with ``values``."""
    for skill in robot.skills_of_kind(kind):
        call = ground_call(skill, values)
        if call is not None:
            return call
    return None


def role_values(kind: str, *, obj: str | None = None, target: str | None = None,
                relation: str | None = None) -> dict[str, str]:
    """What each role of an action of ``kind`` is filled with."""
    if kind == "navigate":
        return {"target": target or "", "destination": target or "", "place": target or ""}
    if kind == "pick":
        values = {"object": obj or ""}
        return values | ({"source": target} if target else {})
    if kind == "place":
        return {"object": obj or "", "target": target or "", "relation": relation or "on"}
    if kind == "handover":
        return {"object": obj or "", "target": target or "", "robot": target or ""}
    return {"target": target or "", "object": target or "", "container": target or ""}


def can_call(robot: RobotView, kind: str, **roles: str | None) -> bool:
    """Whether the robot has a skill of ``kind`` it can call with these roles."""
    return robot_call(robot, kind, role_values(kind, **roles)) is not None


def display(name: str) -> str:
    """How a node reads in a sentence: "the kitchen table", "table 2"."""
    words = name.replace("_", " ")
    return words if words.split()[-1].isdigit() else f"the {words}"


class StepDraft:
    """One robot's actions and sentence, applied to the world state as they are added."""

    def __init__(self, robot: RobotView, state: WorldState) -> None:
        self.robot = robot
        self.state = state
        self.actions: list[dict[str, Any]] = []
        self.phrases: list[str] = []
        self.touched: set[str] = set()  # nodes whose state this step reads or changes
        self.waits_for: set[str] = set()  # robots that must be done with their steps so far (a taker)
        self.duration_s = 0.0

    def go(self, node: str) -> None:
        """Navigate to ``node``'s place (a door: the nearer side) unless already there (the doors on
        the way must be open by now)."""
        here = self.state.place_of(self.robot.name)
        there = self._destination(here, node)
        if here == there or not self.robot.mobile:
            return
        route = self.state.route(here, there, self.robot.zones) if here and there else None
        node = self._landmark(node, there)
        self._do("navigate", role_values("navigate", target=node), f"go to {display(node)}", target=node)
        self.touched |= set(route.doors if route else ())
        if self.robot.body.cargo:  # its cargo goes too: wait for whoever loads or unloads it
            self.touched.add(self.robot.body.cargo)

    def _destination(self, here: str | None, node: str) -> str | None:
        if self.state.kind.get(node) != "door":
            return self.state.place_of(node)
        sides = self.state.door_places(node)
        if here in sides or here is None:
            return here
        routes = self.state.routes(here, self.robot.zones)
        reachable = [p for p in sides if p in routes]
        return min(reachable, key=lambda p: routes[p].travel_s) if reachable else (sides[0] if sides else None)

    def _landmark(self, node: str, place: str) -> str:
        """What to navigate to for ``node``: it or the furniture or container it is on or in, unless
        that travels with a robot (then its place)."""
        chain = [node, *(p for p, _ in self.state.ancestors(node))]
        if any(self.state.kind.get(n) == "robot" for n in chain) or self.state.kind.get(node) == "door":
            return place
        return next(n for n in chain if self.state.kind.get(n) in ("furniture", "container", "place"))

    def set_open(self, target: str, open_: bool) -> None:
        self.go(target)
        kind = "open" if open_ else "close"
        self._do(kind, role_values(kind, target=target), f"{kind} {display(target)}", target=target)
        self.touched.add(target)

    def pick(self, obj: str) -> None:
        source = self.state.parent.get(obj) or ""
        self.go(obj)
        self._do("pick", role_values("pick", obj=obj, target=source),
                 f"pick up {display(obj)} from {display(source)}", object=obj)
        self.touched |= {obj, *self._shared(source)}

    def place(self, obj: str, target: str) -> None:
        self.go(target)
        relation = "in" if self.state.kind.get(target) == "container" else "on"
        done = [p for p in self.phrases if not p.startswith("go to ")]
        just_picked = bool(done) and done[-1].startswith(f"pick up {display(obj)} ")
        values = role_values("place", obj=obj, target=target, relation=relation)
        self._do("place", values, f"place {'it' if just_picked else display(obj)} {relation} {display(target)}",
                 object=obj, target=target)
        self.touched |= {obj, *self._shared(target)}

    def hand_over(self, obj: str, taker: str) -> None:
        """Hand ``obj`` to ``taker``, which waits in the place this robot goes to."""
        self.go(taker)
        self._do("handover", role_values("handover", obj=obj, target=taker), f"hand {display(obj)} to {taker}",
                 object=obj, target=taker)
        self.touched |= {obj, taker}
        self.waits_for.add(taker)

    def _shared(self, node: str) -> set[str]:
        """``node`` when other steps' use of it matters: a container (open or not) or a surface with a
        capacity; steps that only share a table do not wait for each other."""
        kind = self.state.kind.get(node)
        return {node} if kind == "container" or self.state.capacity(node) is not None else set()

    def sentence(self) -> str:
        """The subtask in words; movements are left out when the step does more than move."""
        phrases = [p for p in self.phrases if not p.startswith("go to ")] or self.phrases
        text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        return text[:1].upper() + text[1:] + "."

    def _do(self, kind: str, values: dict[str, str], phrase: str, **roles: str) -> None:
        call = robot_call(self.robot, kind, values)
        if call is None:  # allocation checked this robot can; reaching here is a planner bug
            raise PlanningError(f"robot {self.robot.name} has no usable {kind} skill for: {phrase}")
        try:
            outcome = act(self.state, self.robot.name, kind, roles)
        except RuleViolation as e:
            raise PlanningError(f"{self.robot.name} cannot {phrase}: {e}") from e
        self.state.apply(outcome.effects)
        self.duration_s += outcome.travel_s if kind == "navigate" else MANIPULATION_S
        self.actions.append(call)
        self.phrases.append(phrase)
