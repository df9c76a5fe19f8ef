"""Checks that a plan can run on the fleet as it is now, before anything is dispatched.

``validate_plan(plan, world)`` returns every problem as a sentence (empty list: valid);
``ensure_valid_plan`` raises ``PlanValidationError`` with that list. ``check_arguments`` checks one
tool call's arguments against the tool's JSON schema (the subset skills use: required, types, enum,
additionalProperties, nested properties and items); the step loop can use it on a model's call.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from brain.errors import PlanValidationError
from brain.plan import Plan, PlanStep
from brain.world import RobotView, WorldView

__all__ = ["check_arguments", "ensure_valid_plan", "find_cycle", "validate_plan"]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


def validate_plan(plan: Plan, world: WorldView) -> list[str]:
    """Every reason ``plan`` cannot be dispatched on ``world``; empty when it can."""
    if not plan.steps:
        return [] if plan.already_done else ["plan has no steps"]
    errors = _duplicate_ids(plan)
    for step in plan.steps:
        errors += _step_errors(step, world)
    errors += _dependency_errors(plan)
    return errors


def ensure_valid_plan(plan: Plan, world: WorldView) -> None:
    """Raise ``PlanValidationError`` listing every problem, if there is any."""
    errors = validate_plan(plan, world)
    if errors:
        raise PlanValidationError(errors)


def _duplicate_ids(plan: Plan) -> list[str]:
    counts = Counter(s.step_id for s in plan.steps)
    return [f"step id '{d}' is used more than once" for d in sorted(counts) if counts[d] > 1]


def _step_errors(step: PlanStep, world: WorldView) -> list[str]:
    where = f"step {step.step_id}"
    robot = world.robots.get(step.robot_name)
    if robot is None:
        known = ", ".join(sorted(world.robots)) or "none"
        return [f"{where}: unknown robot '{step.robot_name}'; known robots: {known}"]
    errors = [] if robot.online else [f"{where}: robot '{robot.name}' is offline"]
    if robot.online and robot.degraded:
        errors.append(f"{where}: robot '{robot.name}' cannot take work: {robot.degraded}")
    if step.subtask_order < 1:
        errors.append(f"{where}: subtask_order must be 1 or more, got {step.subtask_order}")
    if not step.subtask.strip() and not step.actions:
        errors.append(f"{where}: has neither a subtask sentence nor actions")
    for i, action in enumerate(step.actions):
        errors += _action_errors(f"{where} action {i + 1}", action, robot)
    return errors


def _action_errors(where: str, action: dict[str, Any], robot: RobotView) -> list[str]:
    name = action.get("name")
    skill = robot.skills.get(name) if isinstance(name, str) else None
    if skill is None:
        have = ", ".join(sorted(robot.skills)) or "no skills"
        return [f"{where}: robot {robot.name} has no skill {name!r}; it has: {have}"]
    arguments = action.get("arguments", {})
    if not isinstance(arguments, dict):
        return [f"{where} ({skill.name}): arguments must be an object, got {type(arguments).__name__}"]
    return [f"{where} ({skill.name}): {e}" for e in check_arguments(arguments, skill.parameters)]


def check_arguments(value: Any, schema: dict[str, Any], path: str = "arguments") -> list[str]:
    """Problems with ``value`` against a JSON schema (a practical subset); empty when it matches."""
    if not schema:
        return []
    errors = _type_errors(value, schema, path)
    if errors:
        return errors
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path} must be one of {schema['enum']!r}, got {value!r}"]
    if isinstance(value, dict):
        return _object_errors(value, schema, path)
    if isinstance(value, (list, tuple)) and isinstance(schema.get("items"), dict):
        return [e for i, item in enumerate(value) for e in check_arguments(item, schema["items"], f"{path}[{i}]")]
    return []


def _type_errors(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    expected = schema.get("type")
    if expected is None:
        return []
    names = expected if isinstance(expected, list) else [expected]
    if any(_is_type(value, n) for n in names):
        return []
    return [f"{path} must be {' or '.join(names)}, got {type(value).__name__} {value!r}"]


def _is_type(value: Any, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, object))


def _object_errors(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    properties: dict[str, Any] = schema.get("properties") or {}
    errors = [f"{path} is missing required '{k}'" for k in schema.get("required", []) if k not in value]
    if schema.get("additionalProperties") is False:
        allowed = ", ".join(sorted(properties)) or "none"
        errors += [f"{path} has unknown '{k}' (allowed: {allowed})" for k in value if k not in properties]
    for key, item in value.items():
        if isinstance(properties.get(key), dict):
            errors += check_arguments(item, properties[key], f"{path}.{key}")
    return errors


def _dependency_errors(plan: Plan) -> list[str]:
    graph = plan.dependencies()
    errors = [
        f"step {step_id}: depends_on names unknown step '{dep}'; steps are: {', '.join(graph)}"
        for step_id, deps in graph.items()
        for dep in deps
        if dep not in graph
    ]
    cycle = find_cycle(graph)
    if cycle:
        errors.append("dependencies form a cycle: " + " -> ".join(cycle))
    return errors


def find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """One dependency cycle as a path that returns to its start (``[a, b, a]``), or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep in graph and dep not in state:
                found = visit(dep)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []
