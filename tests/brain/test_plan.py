from __future__ import annotations

import json

import pytest

from brain.errors import BrainError, PlanFormatError
from brain.plan import Plan, PlanStep


def _plan() -> Plan:
    return Plan(
        "Runner fetches, waiter serves.",
        [
            PlanStep("s1", "runner", "Pick up the apple.", 1, [], [{"name": "pick", "arguments": {"object": "apple"}}]),
            PlanStep("s2", "waiter", "Serve the apple.", 2, ["s1"], []),
        ],
        planner="symbolic",
    )


def test_round_trip_through_robobrain_shape() -> None:
    plan = _plan()
    data = plan.to_robobrain()
    assert set(data) == {"reasoning_explanation", "subtask_list"}
    assert set(data["subtask_list"][0]) >= {"robot_name", "subtask", "subtask_order", "depends_on", "actions"}
    again = Plan.from_robobrain(json.loads(json.dumps(data)), planner="llm")
    assert again.steps == plan.steps
    assert again.reasoning_explanation == plan.reasoning_explanation
    assert again.planner == "llm"


def test_to_dict_round_trip_keeps_planner_and_info() -> None:
    plan = _plan()
    plan.info = {"latency_ms": 3.5}
    again = Plan.from_dict(plan.to_dict())
    assert (again.planner, again.info, again.steps) == ("symbolic", {"latency_ms": 3.5}, plan.steps)


def test_minimal_robobrain_plan_gets_ids_and_order_dependencies() -> None:
    plan = Plan.from_robobrain(
        {"subtask_list": [
            {"robot_name": "runner", "subtask": "Fetch the cup.", "subtask_order": 1},
            {"robot_name": "pass_arm", "subtask": "Fetch the plate.", "subtask_order": 1},
            {"robot_name": "waiter", "subtask": "Serve both.", "subtask_order": 2},
        ]},
        planner="llm",
    )
    assert [s.step_id for s in plan.steps] == ["s1", "s2", "s3"]
    assert plan.reasoning_explanation == ""
    assert plan.dependencies() == {"s1": [], "s2": [], "s3": ["s1", "s2"]}
    assert plan.to_robobrain()["subtask_list"][2]["depends_on"] == ["s1", "s2"]


def test_explicit_depends_on_wins_over_order_and_accepts_positions() -> None:
    plan = Plan.from_robobrain(
        {"subtask_list": [
            {"robot_name": "runner", "subtask": "a", "subtask_order": 1},
            {"robot_name": "waiter", "subtask": "b", "subtask_order": 2, "depends_on": []},
            {"step_id": "last", "robot_name": "waiter", "subtask": "c", "subtask_order": "3", "depends_on": [1]},
        ]},
        planner="llm",
    )
    assert plan.dependencies() == {"s1": [], "s2": [], "last": ["s1"]}
    assert plan.steps[2].subtask_order == 3


def test_missing_order_means_list_position_and_json_text_is_read() -> None:
    text = json.dumps({"reasoning_explanation": "r", "subtask_list": [
        {"robot_name": "runner", "subtask": "a"},
        {"robot_name": "runner", "subtask": "b",
         "actions": [{"name": "navigate", "arguments": "{\"target\": \"pass\"}"}]},
    ]})
    plan = Plan.from_robobrain(text, planner="llm")
    assert [s.subtask_order for s in plan.steps] == [1, 2]
    assert plan.steps[1].actions == [{"name": "navigate", "arguments": {"target": "pass"}}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ("{not json", "not valid JSON"),
        ({"reasoning_explanation": "x"}, "no 'subtask_list'"),
        ({"subtask_list": "go"}, "'subtask_list' must be a list, got str"),
        ({"subtask_list": ["go"]}, "subtask_list[0] must be an object"),
        ({"subtask_list": [{"subtask": "go"}]}, "subtask_list[0]: missing 'robot_name'"),
        ({"subtask_list": [{"robot_name": "", "subtask": "go"}]}, "'robot_name' must be a non-empty string"),
        ({"subtask_list": [{"robot_name": "r"}]}, "missing 'subtask'"),
        ({"subtask_list": [{"robot_name": "r", "subtask": "go", "subtask_order": "first"}]},
         "'subtask_order' must be an integer, got 'first'"),
        ({"subtask_list": [{"robot_name": "r", "subtask": "go", "subtask_order": 1.5}]}, "must be an integer"),
        ({"subtask_list": [{"robot_name": "r", "subtask": "go", "depends_on": {"a": 1}}]}, "'depends_on' must be a list"),
        ({"subtask_list": [{"robot_name": "r", "subtask": "go", "depends_on": [4]}]}, "position 4 is out of range 1..1"),
        ({"subtask_list": [{"robot_name": "r", "subtask": "go", "actions": "pick"}]}, "'actions' must be a list"),
        ({"subtask_list": [{"robot_name": "r", "subtask": "go", "actions": [{"arguments": {}}]}]},
         "subtask_list[0].actions[0]: 'name' must be a non-empty string"),
        ({"subtask_list": [{"robot_name": "r", "subtask": "go", "actions": [{"name": "p", "arguments": [1]}]}]},
         "'arguments' must be an object"),
        ({"reasoning_explanation": 3, "subtask_list": []}, "'reasoning_explanation' must be a string"),
    ],
)
def test_bad_shapes_raise_plan_format_error(data: object, message: str) -> None:
    with pytest.raises(PlanFormatError) as info:
        Plan.from_robobrain(data, planner="llm")  # type: ignore[arg-type]
    assert message in str(info.value)
    assert isinstance(info.value, BrainError)


def test_already_done_needs_an_empty_plan_marked_done() -> None:
    assert Plan("Nothing to do.", [], "symbolic", {"already_done": True}).already_done
    assert not Plan("?", [], "symbolic").already_done
    assert not _plan().already_done
