"""A plan: subtasks for specific robots, ordered by explicit dependencies or by ``subtask_order``.

The wire shape is RoboBrain's, extended with optional ``step_id``, ``depends_on`` and ``actions``::

    {"reasoning_explanation": "...",
     "subtask_list": [{"step_id": "s1", "robot_name": "runner", "subtask": "Pick up ...",
                       "subtask_order": 1, "depends_on": [],
                       "actions": [{"name": "pick", "arguments": {"object": "apple"}}]}]}

``Plan.from_robobrain`` reads what an LLM writes: only ``robot_name`` and ``subtask`` are required
per entry; step ids default to ``s1``, ``s2``... by position; with no ``depends_on`` a step depends
on every step of a lower ``subtask_order``; an integer in ``depends_on`` names a step by its
1-based position. Wrong shapes raise ``PlanFormatError`` saying which entry and key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from brain.errors import PlanFormatError

__all__ = ["Plan", "PlanStep"]


@dataclass
class PlanStep:
    """One robot's subtask.

    ``depends_on``: ids of the steps that must succeed first. ``None`` means "not given": the step
    then depends on every step of a lower ``subtask_order`` (see ``Plan.dependencies``).
    ``actions``: grounded tool calls ``{"name", "arguments"}``; empty means a free-text subtask the
    robot works out itself (the step loop).
    """

    step_id: str
    robot_name: str
    subtask: str
    subtask_order: int = 1
    depends_on: list[str] | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, depends_on: list[str] | None = None) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "robot_name": self.robot_name,
            "subtask": self.subtask,
            "subtask_order": self.subtask_order,
            "depends_on": list(self.depends_on if depends_on is None else depends_on),
            "actions": [dict(a) for a in self.actions],
        }


@dataclass
class Plan:
    """What a planner returns. ``planner`` names it; ``info`` holds diagnostics (timing, goals...).

    An empty plan is valid only when ``info["already_done"]`` is true: the task's goals already
    hold, and the master can mark it succeeded without dispatching anything.
    """

    reasoning_explanation: str
    steps: list[PlanStep] = field(default_factory=list)
    planner: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def already_done(self) -> bool:
        return not self.steps and bool(self.info.get("already_done"))

    def step(self, step_id: str) -> PlanStep | None:
        return next((s for s in self.steps if s.step_id == step_id), None)

    def dependencies(self) -> dict[str, list[str]]:
        """Step id -> ids it waits for: explicit ``depends_on``, else every lower-order step."""
        resolved: dict[str, list[str]] = {}
        for step in self.steps:
            if step.depends_on is not None:
                resolved[step.step_id] = list(step.depends_on)
            else:
                resolved[step.step_id] = [s.step_id for s in self.steps if s.subtask_order < step.subtask_order]
        return resolved

    def to_robobrain(self) -> dict[str, Any]:
        """The RoboBrain/RoboOS shape, with every dependency written out."""
        deps = self.dependencies()
        return {
            "reasoning_explanation": self.reasoning_explanation,
            "subtask_list": [s.to_dict(deps[s.step_id]) for s in self.steps],
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.to_robobrain(), "planner": self.planner, "info": dict(self.info)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        plan = cls.from_robobrain(data, planner=data.get("planner", ""))
        plan.info = dict(data.get("info") or {})
        return plan

    @classmethod
    def from_robobrain(cls, data: dict[str, Any] | str, planner: str) -> Plan:
        """Read a RoboBrain-style plan (a dict or its JSON text); ``PlanFormatError`` on bad shapes."""
        data = _as_mapping(data)
        entries = data.get("subtask_list")
        if entries is None:
            raise PlanFormatError("plan has no 'subtask_list' (expected a list of subtasks)")
        if not isinstance(entries, list):
            raise PlanFormatError(f"'subtask_list' must be a list, got {type(entries).__name__}")
        reasoning = data.get("reasoning_explanation") or ""
        if not isinstance(reasoning, str):
            raise PlanFormatError(f"'reasoning_explanation' must be a string, got {type(reasoning).__name__}")
        ids = [_step_id(i, e) for i, e in enumerate(entries)]
        steps = [_parse_step(i, e, ids) for i, e in enumerate(entries)]
        return cls(reasoning_explanation=reasoning, steps=steps, planner=planner)


def _as_mapping(data: dict[str, Any] | str) -> dict[str, Any]:
    return _json_object(data, "plan")


def _json_object(value: Any, what: str, expected: str = "a JSON object") -> dict[str, Any]:
    """``value`` as a dict, decoding it first when it is JSON text; ``PlanFormatError`` otherwise."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise PlanFormatError(f"{what} is not valid JSON: {e}") from e
    if not isinstance(value, dict):
        raise PlanFormatError(f"{what} must be {expected}, got {type(value).__name__}")
    return value


def _entry(index: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise PlanFormatError(f"subtask_list[{index}] must be an object, got {type(entry).__name__}")
    return entry


def _step_id(index: int, entry: Any) -> str:
    step_id = _entry(index, entry).get("step_id")
    if step_id is None:
        return f"s{index + 1}"
    if not isinstance(step_id, str) or not step_id:
        raise PlanFormatError(f"subtask_list[{index}]: 'step_id' must be a non-empty string, got {step_id!r}")
    return step_id


def _parse_step(index: int, entry: dict[str, Any], ids: list[str]) -> PlanStep:
    where = f"subtask_list[{index}]"
    return PlanStep(
        step_id=ids[index],
        robot_name=_required_str(where, entry, "robot_name"),
        subtask=_required_str(where, entry, "subtask"),
        subtask_order=_order(where, entry.get("subtask_order", index + 1)),
        depends_on=_depends_on(where, entry.get("depends_on"), ids),
        actions=[_action(f"{where}.actions[{i}]", a) for i, a in enumerate(_list(where, entry, "actions"))],
    )


def _required_str(where: str, entry: dict[str, Any], key: str) -> str:
    if key not in entry:
        raise PlanFormatError(f"{where}: missing '{key}'")
    value = entry[key]
    if not isinstance(value, str) or (key == "robot_name" and not value.strip()):
        raise PlanFormatError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return value.strip()


def _order(where: str, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlanFormatError(f"{where}: 'subtask_order' must be an integer, got {value!r}")
    return value


def _list(where: str, entry: dict[str, Any], key: str) -> list[Any]:
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PlanFormatError(f"{where}: '{key}' must be a list, got {type(value).__name__}")
    return value


def _depends_on(where: str, value: Any, ids: list[str]) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        raise PlanFormatError(f"{where}: 'depends_on' must be a list of step ids, got {type(value).__name__}")
    return [_dependency(where, d, ids) for d in value]


def _dependency(where: str, value: Any, ids: list[str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= len(ids):
            return ids[value - 1]
        raise PlanFormatError(f"{where}: 'depends_on' position {value} is out of range 1..{len(ids)}")
    raise PlanFormatError(f"{where}: 'depends_on' entries must be step ids, got {value!r}")


def _action(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PlanFormatError(f"{where} must be an object {{'name', 'arguments'}}, got {type(value).__name__}")
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise PlanFormatError(f"{where}: 'name' must be a non-empty string, got {name!r}")
    arguments = _json_object(value.get("arguments") or {}, f"{where}: 'arguments'", "an object")
    return {"name": name, "arguments": arguments}
