"""Checks that a plan can run on the fleet as it is now, before anything is dispatched.

``validate_plan(plan, world)`` returns every problem as a sentence (empty list: valid);
``ensure_valid_plan`` raises ``PlanValidationError`` with that list. ``check_arguments`` checks one
tool call's arguments against the tool's JSON schema with ``jsonschema`` (the schema's ``$schema``
draft, else 2020-12) and words each problem for a model or a user; the step loop uses it on a
model's call.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from brain.errors import PlanValidationError
from brain.plan import Plan, PlanStep
from brain.world import RobotView, WorldView

__all__ = ["check_arguments", "ensure_valid_plan", "find_cycle", "validate_plan"]


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
    """Problems with ``value`` against a JSON schema, one sentence each; empty when it matches.

    A value of the wrong type gets only its type error (not also "not one of" the enum).
    """
    if not schema:
        return []
    try:
        validator = _validator(json.dumps(schema))
    except SchemaError as e:
        return [f"{path} cannot be checked: the tool's input schema is invalid ({e.message})"]
    errors = list(validator.iter_errors(value))
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    kept = [e for e in errors if e.validator == "type" or tuple(e.absolute_path) not in mistyped]
    return list(dict.fromkeys(m for e in kept for m in _sentences(e, path)))


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Validator:
    """A checked, compiled validator for one schema (its JSON text is the cache key), by its ``$schema``."""
    schema = json.loads(schema_json)
    cls = validator_for(schema, default=Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def _sentences(error: ValidationError, root: str) -> list[str]:
    where = root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    value, wanted = error.instance, error.validator_value
    if error.validator == "type":
        return [f"{where} must be {_type_names(wanted)}, got {type(value).__name__} {value!r}"]
    if error.validator == "enum":
        return [f"{where} must be one of {wanted!r}, got {value!r}"]
    if error.validator == "required":
        return [f"{where} is missing required '{k}'" for k in wanted if k not in value]
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties") or {})) or "none"
        return [f"{where} has unknown '{k}' (allowed: {allowed})" for k in _unknown_keys(value, error.schema)]
    if error.validator in ("anyOf", "oneOf") and _only_type_errors(error.context):
        names = _type_names([c.validator_value for c in error.context])
        return [f"{where} must be {names}, got {type(value).__name__} {value!r}"]
    return [f"{where}: {error.message}"]


def _only_type_errors(errors: list[ValidationError]) -> bool:
    """True when every branch of an ``anyOf``/``oneOf`` failed on the value's type alone (``X | None``)."""
    return bool(errors) and all(e.validator == "type" and not e.relative_path for e in errors)


def _type_names(wanted: str | list[Any]) -> str:
    names = wanted if isinstance(wanted, list) else [wanted]
    return " or ".join(n for w in names for n in (w if isinstance(w, list) else [w]))


def _unknown_keys(value: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    properties = schema.get("properties") or {}
    patterns = schema.get("patternProperties") or {}
    return [k for k in value if k not in properties and not any(re.search(p, k) for p in patterns)]


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
    """One dependency cycle as a path that returns to its start (``[a, b, a]``: a waits for b, b for a),
    starting at its earliest node in ``graph``; ``[]`` when there is none."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as e:
        cycle = list(reversed(e.args[1][1:]))  # graphlib lists each dependency before its dependant
        order = list(graph)
        first = min(range(len(cycle)), key=lambda i: order.index(cycle[i]))
        return cycle[first:] + cycle[:first] + [cycle[first]]
    return []
