from __future__ import annotations

from typing import Any

import pytest

from brain.errors import PlanValidationError
from brain.plan import Plan, PlanStep
from brain.validation import check_arguments, ensure_valid_plan, find_cycle, validate_plan
from brain.world import WorldView
from tests.brain.conftest import WorldFactory


def _plan(*steps: PlanStep) -> Plan:
    return Plan("test", list(steps), "test")


def _step(step_id: str = "s1", robot: str = "runner", actions: list[dict[str, Any]] | None = None,
          depends_on: list[str] | None = None, subtask: str = "Do it.", order: int = 1) -> PlanStep:
    return PlanStep(step_id, robot, subtask, order, depends_on, actions or [])


def test_a_grounded_plan_is_valid(world: WorldView) -> None:
    plan = _plan(
        _step("s1", "runner", [{"name": "navigate", "arguments": {"target": "kitchen_table"}},
                               {"name": "pick", "arguments": {"object": "apple"}}]),
        _step("s2", "waiter", [{"name": "walk_to", "arguments": {"destination": "table_2"}}], ["s1"], order=2),
        _step("s3", "pass_arm", subtask="Wipe the pass counter."),  # free text: allowed
    )
    assert validate_plan(plan, world) == []
    ensure_valid_plan(plan, world)


def test_unknown_robot_lists_the_known_ones(world: WorldView) -> None:
    assert validate_plan(_plan(_step(robot="robby")), world) == [
        "step s1: unknown robot 'robby'; known robots: pass_arm, runner, waiter"]


def test_offline_robot_is_rejected(make_world: WorldFactory) -> None:
    errors = validate_plan(_plan(_step(robot="waiter")), make_world(offline={"waiter"}))
    assert errors == ["step s1: robot 'waiter' is offline"]


def test_degraded_robot_is_rejected(make_world: WorldFactory) -> None:
    errors = validate_plan(_plan(_step(robot="waiter")), make_world(degraded={"waiter"}))
    assert errors == ["step s1: robot 'waiter' cannot take work: its skill server is unreachable"]


def test_missing_skill_lists_what_the_robot_has(world: WorldView) -> None:
    errors = validate_plan(_plan(_step(robot="waiter", actions=[{"name": "open", "arguments": {"target": "fridge"}}])), world)
    assert errors == ["step s1 action 1: robot waiter has no skill 'open'; it has: grasp, put_down, walk_to"]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"name": "pick", "arguments": {}}, "arguments is missing required 'object'"),
        ({"name": "pick", "arguments": {"object": 3}}, "arguments.object must be string, got int 3"),
        ({"name": "pick", "arguments": {"object": "apple", "force": 2}}, "unknown 'force' (allowed: object)"),
        ({"name": "pick", "arguments": ["apple"]}, "arguments must be an object, got list"),
        ({"name": "set_speed", "arguments": {"speed": "fast"}}, "arguments.speed must be number, got str"),
        ({"name": "set_speed", "arguments": {"speed": True}}, "arguments.speed must be number, got bool"),
        ({"name": "set_speed", "arguments": {"speed": 1, "repeat": 1.5}}, "arguments.repeat must be integer"),
        ({"name": "set_speed", "arguments": {"speed": 1, "loud": "yes"}}, "arguments.loud must be boolean"),
        ({"name": "set_speed", "arguments": {"speed": 1, "mode": "warp"}}, "arguments.mode must be one of ['slow', 'fast']"),
    ],
)
def test_arguments_are_checked_against_the_schema(world: WorldView, action: dict[str, Any], message: str) -> None:
    errors = validate_plan(_plan(_step(actions=[action])), world)
    assert len(errors) == 1 and message in errors[0], errors
    assert errors[0].startswith(f"step s1 action 1 ({action['name']}): ")


def test_good_typed_arguments_pass(world: WorldView) -> None:
    action = {"name": "set_speed", "arguments": {"speed": 0.5, "mode": "slow", "repeat": 2, "loud": False}}
    assert validate_plan(_plan(_step(actions=[action])), world) == []


def test_unknown_dependency_is_named(world: WorldView) -> None:
    errors = validate_plan(_plan(_step("s1", depends_on=["s9"])), world)
    assert errors == ["step s1: depends_on names unknown step 's9'; steps are: s1"]


def test_cycles_are_named(world: WorldView) -> None:
    plan = _plan(_step("s1", depends_on=["s3"]), _step("s2", depends_on=["s1"]), _step("s3", depends_on=["s2"]))
    assert validate_plan(plan, world) == ["dependencies form a cycle: s1 -> s3 -> s2 -> s1"]
    assert validate_plan(_plan(_step("s1", depends_on=["s1"])), world) == ["dependencies form a cycle: s1 -> s1"]


def test_empty_plan_is_invalid_unless_already_done(world: WorldView) -> None:
    assert validate_plan(_plan(), world) == ["plan has no steps"]
    assert validate_plan(Plan("Nothing to do.", [], "symbolic", {"already_done": True}), world) == []


def test_step_needs_a_sentence_or_actions_and_unique_ids(world: WorldView) -> None:
    errors = validate_plan(_plan(_step("s1", subtask=" "), _step("s1")), world)
    assert "step id 's1' is used more than once" in errors
    assert "step s1: has neither a subtask sentence nor actions" in errors


def test_ensure_valid_plan_raises_with_every_error(world: WorldView) -> None:
    with pytest.raises(PlanValidationError) as info:
        ensure_valid_plan(_plan(_step(robot="robby"), _step("s2", depends_on=["s7"])), world)
    assert len(info.value.errors) == 2
    assert "unknown robot 'robby'" in str(info.value)


def test_check_arguments_recurses_into_items_and_objects() -> None:
    schema = {"type": "object", "properties": {
        "path": {"type": "array", "items": {"type": "number"}},
        "pose": {"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}}},
    }}
    assert check_arguments({"path": [1, 2.5], "pose": {"x": 0}}, schema) == []
    assert check_arguments({"path": [1, "a"], "pose": {}}, schema) == [
        "arguments.path[1] must be number, got str 'a'", "arguments.pose is missing required 'x'"]


def test_find_cycle_on_an_acyclic_graph_is_empty() -> None:
    assert find_cycle({"a": [], "b": ["a"], "c": ["a", "b"]}) == []


def test_a_wrong_type_is_named_once_and_optional_values_read_plainly() -> None:
    schema = {"type": "object", "properties": {
        "mode": {"type": "string", "enum": ["slow", "fast"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},  # what the MCP SDK writes for `str | None`
    }}
    assert check_arguments({"mode": 3, "note": None}, schema) == ["arguments.mode must be string, got int 3"]
    assert check_arguments({"note": 4}, schema) == ["arguments.note must be string or null, got int 4"]


def test_other_keywords_use_the_jsonschema_wording_under_the_argument_path() -> None:
    schema = {"type": "object", "properties": {"speed": {"type": "number", "minimum": 0}},
              "patternProperties": {"^x_": {}}, "additionalProperties": False}
    assert check_arguments({"speed": -1, "x_debug": 1}, schema) == ["arguments.speed: -1 is less than the minimum of 0"]
    assert check_arguments({"speeed": 1}, schema) == ["arguments has unknown 'speeed' (allowed: speed)"]


def test_an_invalid_tool_schema_is_reported_not_raised() -> None:
    errors = check_arguments({"a": 1}, {"type": "object", "properties": {"a": {"type": "decimal"}}})
    assert len(errors) == 1 and errors[0].startswith("arguments cannot be checked: the tool's input schema is invalid")


def test_find_cycle_starts_at_the_earliest_step_of_the_cycle() -> None:
    graph = {"a": [], "b": ["d"], "c": ["b"], "d": ["c"]}
    assert find_cycle(graph) == ["b", "d", "c", "b"]
