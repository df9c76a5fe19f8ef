"""Grounded tool calls and one robot's step as it is being planned.

Tool names and argument names are never assumed: a call is built from the robot's skill of the
needed kind (navigate, pick, place, open, close), filling the arguments its semantics' roles name.
"""

from __future__ import annotations

from typing import Any

from brain.symbolic.state import SimState
from brain.world import RobotView, SkillView

__all__ = ["StepDraft", "call_roles", "display", "ground_call", "robot_call"]

# The role that a skill without declared roles fills with its only argument.
_PRIMARY_ROLE = {"navigate": "target", "pick": "object", "open": "target", "close": "target"}


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
    return {"target": target or "", "object": target or "", "container": target or ""}


def display(name: str) -> str:
    """How a node reads in a sentence: "the kitchen table", "table 2"."""
    words = name.replace("_", " ")
    return words if words.split()[-1].isdigit() else f"the {words}"


class StepDraft:
    """One robot's actions and sentence, applied to the simulated world as they are added."""

    def __init__(self, robot: RobotView, state: SimState) -> None:
        self.robot = robot
        self.state = state
        self.actions: list[dict[str, Any]] = []
        self.phrases: list[str] = []
        self.touched: set[str] = set()  # nodes whose state this step reads or changes

    def go(self, node: str) -> None:
        """Navigate to ``node`` unless already there (a robot that cannot move stays put)."""
        if not self.robot.mobile or self.state.location.get(self.robot.name) == node:
            return
        self._call("navigate", role_values("navigate", target=node), f"go to {display(node)}")
        self.state.location[self.robot.name] = node

    def set_open(self, container: str, open_: bool) -> None:
        self.go(container)
        kind = "open" if open_ else "close"
        self._call(kind, role_values(kind, target=container), f"{kind} {display(container)}")
        self.state.opened[container] = open_
        self.touched.add(container)

    def pick(self, obj: str) -> None:
        source = self.state.parent.get(obj) or ""
        self.go(source)
        if self.state.is_closed_container(source):
            self.set_open(source, True)
        phrase = f"pick up {display(obj)} from {display(source)}"
        self._call("pick", role_values("pick", obj=obj, target=source), phrase)
        self.state.move(obj, self.robot.name, "held_by")
        self.touched |= {obj} | ({source} if source in self.state.opened else set())

    def place(self, obj: str, target: str, relation: str) -> None:
        self.go(target)
        if relation == "in" and self.state.is_closed_container(target):
            self.set_open(target, True)
        values = role_values("place", obj=obj, target=target, relation=relation)
        done = [p for p in self.phrases if not p.startswith("go to ")]
        just_picked = bool(done) and done[-1].startswith(f"pick up {display(obj)} ")
        self._call("place", values, f"place {'it' if just_picked else display(obj)} {relation} {display(target)}")
        self.state.move(obj, target, relation)
        self.touched |= {obj} | ({target} if target in self.state.opened else set())

    def sentence(self) -> str:
        """The subtask in words; movements are left out when the step does more than move."""
        phrases = [p for p in self.phrases if not p.startswith("go to ")] or self.phrases
        text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
        return text[:1].upper() + text[1:] + "."

    def _call(self, kind: str, values: dict[str, str], phrase: str) -> None:
        call = robot_call(self.robot, kind, values)
        if call is None:  # allocation checked this robot can; reaching here is a planner bug
            raise RuntimeError(f"robot {self.robot.name} has no usable {kind} skill")
        self.actions.append(call)
        self.phrases.append(phrase)
