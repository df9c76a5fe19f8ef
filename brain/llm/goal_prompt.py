"""The goal prompt and its JSON schema, both made from the scene's own names.

The model does not plan: it says what must hold when the task is done, as goals of four types::

    {"goals": [{"type": "deliver", "object": "bread", "relation": "on", "target": "table_1"},
               {"type": "hold", "object": "cup", "robot": "waiter"},
               {"type": "open", "container": "fridge"},              # or "close"
               {"type": "go", "robot": "rex", "target": "kitchen"}]}

Every name in the schema is an enum of the scene's names of the right kind (objects; furniture and
containers as destinations; containers and doors to open; places, furniture and containers to go
to; the robots that may be used), so a server with structured output can only give grounded goals.
The prompt lists those names, with their aliases, one line per kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from brain.planner import ReplanContext
from brain.world import WorldView

__all__ = ["GOAL_SYSTEM_PROMPT", "GOAL_TYPES", "MAX_GOALS", "GoalNames", "goal_branch", "goal_messages", "goal_schema"]

GOAL_TYPES = ("deliver", "hold", "open", "close", "go")
MAX_GOALS = 4  # the suites' tasks need at most 3; a small model otherwise repeats itself up to the bound

_EXAMPLES = (
    ("Please bring the mug to the desk and put the keys in the drawer.",
     [{"type": "deliver", "object": "mug", "relation": "on", "target": "desk"},
      {"type": "deliver", "object": "keys", "relation": "in", "target": "drawer"}]),
    ("Open the oven, then hand the spoon to robot_b.",
     [{"type": "open", "container": "oven"}, {"type": "hold", "object": "spoon", "robot": "robot_b"}]),
    ("robot_a, drive to the garage.", [{"type": "go", "robot": "robot_a", "target": "garage"}]),
)

GOAL_SYSTEM_PROMPT = "\n".join([
    "You turn a task for a fleet of robots into goals: what must be true when it is done. Use only the "
    "names listed. Goal types:",
    '- deliver: an object ends on or in a destination ("in" only for containers)',
    '- hold: a robot holds an object ("give X to R", "pick up X")',
    "- open, close: a container or a door",
    "- go: a robot goes to a place",
    'One goal per thing the task asks for. Give "robot" only when the task says which robot. Answer with JSON '
    "only. Examples:",
    *(f"Task: {task}\n{json.dumps({'goals': goals})}" for task, goals in _EXAMPLES),
])


@dataclass(frozen=True)
class GoalNames:
    """The names a goal may use, by kind, from one world (sorted, so prompts and schemas are stable)."""

    robots: tuple[str, ...]  # the robots that may be used
    objects: tuple[str, ...]
    furniture: tuple[str, ...]
    containers: tuple[str, ...]  # robots' cargo containers included
    doors: tuple[str, ...]
    places: tuple[str, ...]
    labels: dict[str, list[str]]  # name -> its aliases, and whose cargo it is, for the prompt

    @classmethod
    def of(cls, world: WorldView, context: ReplanContext | None = None) -> GoalNames:
        def kind(name: str) -> tuple[str, ...]:
            return tuple(n.name for n in world.nodes_of_kind(name))

        avoid = context.avoid_robots if context else set()
        labels = {n.name: found for n in world.nodes.values() if (found := _labels(n.props))}
        return cls(robots=tuple(r.name for r in world.online_robots() if r.name not in avoid),
                   objects=kind("object"), furniture=kind("furniture"), containers=kind("container"),
                   doors=kind("door"), places=kind("place"), labels=labels)

    @property
    def destinations(self) -> tuple[str, ...]:
        return tuple(sorted(self.furniture + self.containers))

    @property
    def openables(self) -> tuple[str, ...]:
        return tuple(sorted(self.containers + self.doors))

    @property
    def spots(self) -> tuple[str, ...]:
        """Where a robot can go: places, furniture, containers."""
        return tuple(sorted(self.places + self.furniture + self.containers))

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.robots + self.objects + self.spots + self.doors)

    def resolve(self, value: Any) -> Any:
        """The scene name ``value`` stands for when it is an alias or a name written with spaces; else as is."""
        if not isinstance(value, str) or value in self.known:
            return value
        text = value.strip().lower()
        by_label = {label: name for name, labels in self.labels.items() for label in labels}
        candidate = by_label.get(text) or text.replace(" ", "_")
        return candidate if candidate in self.known else value


def _labels(props: dict[str, Any]) -> list[str]:
    """A node's aliases (lower case) and, for a robot's cargo container, whose it is."""
    aliases = props.get("aliases") or []
    aliases = [aliases] if isinstance(aliases, str) else aliases
    labels = [a.lower() for a in aliases if isinstance(a, str)]
    return labels + ([f"{props['cargo_of']}'s cargo"] if props.get("cargo_of") else [])


def goal_schema(names: GoalNames) -> dict[str, Any]:
    """``{"goals": [...]}``: each goal one of the types whose names exist in the scene."""
    return {
        "type": "object",
        "properties": {"goals": {"type": "array", "items": {"anyOf": list(_branches(names).values())},
                                 "minItems": 1, "maxItems": MAX_GOALS}},
        "required": ["goals"],
        "additionalProperties": False,
    }


def goal_branch(names: GoalNames, goal_type: str) -> dict[str, Any] | None:
    """The schema of one goal type (``open`` and ``close`` share one); None when the scene has nothing for it."""
    return _branches(names).get("open" if goal_type == "close" else goal_type)


def _branches(names: GoalNames) -> dict[str, dict[str, Any]]:
    robot = {"robot": (*names.robots, None)} if names.robots else {}
    branches: dict[str, dict[str, Any]] = {}
    if names.objects and names.destinations:
        branches["deliver"] = _goal(("deliver",), object=names.objects, relation=("on", "in"),
                                    target=names.destinations, **robot)
    if names.objects:
        branches["hold"] = _goal(("hold",), object=names.objects, **robot)
    if names.openables:
        branches["open"] = _goal(("open", "close"), container=names.openables, **robot)
    if names.spots:
        branches["go"] = _goal(("go",), **robot, target=names.spots)
    return branches


def _goal(types: tuple[str, ...], **fields: tuple[str | None, ...]) -> dict[str, Any]:
    """One goal type's object: ``type`` and each field an enum, in this order; all but ``robot`` required."""
    properties = {name: {"enum": list(values)} for name, values in {"type": types, **fields}.items()}
    return {"type": "object", "properties": properties, "required": [f for f in properties if f != "robot"],
            "additionalProperties": False}


def goal_messages(task: str, names: GoalNames) -> list[dict[str, str]]:
    """The system prompt (goal types, examples) and the scene's names with the task."""
    kinds = {"Objects": names.objects, "Furniture": names.furniture, "Containers": names.containers,
             "Doors": names.doors, "Places": names.places}
    lines = [f"Robots: {', '.join(names.robots) or 'none'}",
             *(_line(label, items, names.labels) for label, items in kinds.items() if items),
             f"Task: {task}"]
    return [{"role": "system", "content": GOAL_SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def _line(label: str, items: tuple[str, ...], labels: dict[str, list[str]]) -> str:
    """``Objects: bread (loaf), cup``."""
    return f"{label}: " + ", ".join(f"{n} ({', '.join(labels[n])})" if n in labels else n for n in items)
