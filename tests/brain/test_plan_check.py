"""The semantic plan check: preconditions of the grounded actions, and the task's goals at the end."""

from __future__ import annotations

import copy

import pytest

from brain.plan import Plan, PlanStep
from brain.plan_check import check_plan, check_plan_effects, execution_order
from brain.symbolic.planner import SymbolicPlanner
from brain.validation import validate_plan
from brain.world import WorldView
from memory.profiles import ActionSemantics, RobotProfile, RobotRecord, SceneSnapshot, SkillSpec
from memory.world import body_for
from scene import load_scene
from skills.sim import embodiment_spec

pytestmark = pytest.mark.anyio

_ROLES = {"navigate": ("target",), "pick": ("object",), "place": ("object", "target"),
          "open": ("target",), "close": ("target",), "handover": ("object", "target")}


def _call(name: str, **arguments: str) -> dict:
    return {"name": name, "arguments": arguments}


def _step(step_id: str, robot: str, *actions: dict, depends_on: list[str] | None = None) -> PlanStep:
    return PlanStep(step_id, robot, f"step {step_id}", 1, depends_on if depends_on is not None else [], list(actions))


def _scene_world(name: str) -> WorldView:
    """A bundled scene with its fleet's simulated skills, as the master would see it."""
    scene = load_scene(name)
    records = []
    for entry in scene.fleet:
        body = embodiment_spec(entry.embodiment)
        skills = [
            SkillSpec(s.name, s.kind, {"type": "object", "properties": {r: {"type": "string"} for r in _ROLES[s.kind]},
                                       "required": list(_ROLES[s.kind])},
                      ActionSemantics(s.kind, {r: r for r in _ROLES[s.kind]}))
            for s in body.skills
        ]
        capabilities = body_for(entry.embodiment, entry.body_overrides(), entry.zones).to_capabilities(entry.embodiment)
        profile = RobotProfile(entry.name, entry.embodiment, skills, "stdio:sim", capabilities)
        records.append(RobotRecord(profile, online=True, position=entry.start))
    nodes = {n.name: copy.deepcopy(n) for n in scene.nodes}
    return WorldView.from_dicts([r.to_dict() for r in records], SceneSnapshot(1, nodes).to_dict())


def _demo_tasks() -> list[tuple[str, str]]:
    return [(name, task.task) for name in ("restaurant", "household", "supermarket")
            for task in load_scene(name).demo_tasks]


@pytest.mark.parametrize(("scene_name", "task"), _demo_tasks())
async def test_symbolic_plans_of_the_bundled_demo_tasks_pass(scene_name: str, task: str) -> None:
    world = _scene_world(scene_name)
    plan = await SymbolicPlanner().plan(task, world)
    check = check_plan(plan, world, task)
    assert validate_plan(plan, world) == []
    assert check.errors == []
    assert check.effects == "passed" and check.goals == "passed"
    assert check.goal_list


@pytest.mark.parametrize("task", [
    "bring the apple to table 2",
    "put the milk on the serving table",
    "bring the soup pot to the pass counter",
    "open the fridge",
    "put the cup in the fridge",
    "waiter go to the pass",
    "pick up the plate",
])
async def test_symbolic_plans_pass_in_the_test_restaurant(world: WorldView, task: str) -> None:
    plan = await SymbolicPlanner().plan(task, world)
    assert check_plan_effects(plan, world, task) == []


async def test_already_done_plan_passes(make_world) -> None:
    world = make_world(moves={"apple": ("table_2", "on")})
    plan = await SymbolicPlanner().plan("bring the apple to table 2", world)
    assert plan.already_done
    assert check_plan_effects(plan, world, "bring the apple to table 2") == []


def test_placing_an_object_never_picked_fails(world: WorldView) -> None:
    plan = Plan("", [_step("s1", "runner", _call("navigate", target="kitchen_table"),
                           _call("place", object="apple", target="kitchen_table"))], "llm")
    errors = check_plan_effects(plan, world)
    assert errors == ["step s1 (runner) action 2 place(object=apple, target=kitchen_table): runner is not "
                      "holding apple: pick it up first"]


def test_picking_out_of_zone_and_out_of_reach_fails(world: WorldView) -> None:
    plan = Plan("", [_step("s1", "waiter", _call("walk_to", destination="kitchen_table"),
                           _call("grasp", item="apple"))], "llm")
    errors = check_plan_effects(plan, world)
    assert len(errors) == 1
    assert errors[0].startswith("step s1 (waiter) action 1 walk_to(destination=kitchen_table): ")
    assert "kitchen_table is in the kitchen, outside waiter's zones (pass, dining)" in errors[0]


def test_picking_from_another_place_fails(world: WorldView) -> None:
    plan = Plan("", [_step("s1", "waiter", _call("grasp", item="plate"))], "llm")
    assert check_plan_effects(plan, world) == [
        "step s1 (waiter) action 1 grasp(item=plate): plate is in the pass but waiter is in the dining: navigate to the pass_counter first"
    ]


def test_placing_into_a_closed_container_fails(world: WorldView) -> None:
    plan = Plan("", [_step("s1", "runner", _call("navigate", target="kitchen_table"), _call("pick", object="apple"),
                           _call("navigate", target="fridge"), _call("place", object="apple", target="fridge"))], "llm")
    assert check_plan_effects(plan, world) == [
        "step s1 (runner) action 4 place(object=apple, target=fridge): the fridge is closed: open the fridge first"
    ]


def test_picking_out_of_a_closed_container_and_over_payload_fail(world: WorldView) -> None:
    plan = Plan("", [
        _step("s1", "runner", _call("navigate", target="fridge"), _call("pick", object="milk")),
        _step("s2", "pass_arm", _call("pick", object="plate"), _call("pick", object="bowl")),
    ], "llm")
    errors = check_plan_effects(plan, world)
    assert errors == [
        "step s1 (runner) action 2 pick(object=milk): milk is in the fridge, which is closed: open the fridge first",
        "step s2 (pass_arm) action 2 pick(object=bowl): pass_arm's gripper is full (holding plate): place something first",
    ]


def test_a_plan_that_leaves_the_goal_unmet_fails(world: WorldView) -> None:
    plan = Plan("", [_step("s1", "runner", _call("navigate", target="kitchen_table"), _call("pick", object="apple"),
                           _call("place", object="apple", target="kitchen_table"))], "llm")
    check = check_plan(plan, world, "bring the apple to table 2")
    assert check.errors == ["the plan leaves apple on kitchen_table; the task wants it on table_2"]
    assert check.effects == "passed" and check.goals == "failed"


def test_goal_messages_for_open_hold_and_reach(world: WorldView) -> None:
    empty = Plan("", [_step("s1", "runner", _call("navigate", target="kitchen"))], "llm")
    assert check_plan_effects(empty, world, "open the fridge") == [
        "the plan leaves fridge closed; the task wants it open"]
    assert check_plan_effects(empty, world, "pick up the cup") == [
        "the plan leaves cup on kitchen_table; the task wants it held by a robot"]
    assert check_plan_effects(empty, world, "waiter go to the pass") == [
        "the plan leaves waiter at dining; the task wants it at pass"]


def test_dependencies_set_the_simulation_order(world: WorldView) -> None:
    # s1 is listed first but waits for s2, which brings the plate to it.
    plan = Plan("", [
        _step("s1", "waiter", _call("walk_to", destination="pass_counter"), _call("grasp", item="plate"),
              depends_on=["s2"]),
        _step("s2", "pass_arm", _call("pick", object="plate"), _call("place", object="plate", target="serving_table")),
    ], "llm")
    assert [s.step_id for s in execution_order(plan)] == ["s2", "s1"]
    assert check_plan_effects(plan, world) == []


def test_an_unparsable_task_skips_the_goal_check(world: WorldView) -> None:
    plan = Plan("", [_step("s1", "runner", _call("navigate", target="kitchen_table"), _call("pick", object="apple"))],
                "llm")
    check = check_plan(plan, world, "make the guests happy")
    assert check.errors == []
    assert check.effects == "passed"
    assert check.goals.startswith("skipped: the task does not parse into goals")


def test_a_step_without_actions_skips_the_simulation(world: WorldView) -> None:
    plan = Plan("", [PlanStep("s1", "runner", "bring the apple to table 2")], "llm")
    check = check_plan(plan, world, "bring the apple to table 2")
    assert check.errors == []
    assert check.effects.startswith("skipped: step(s) s1 have no actions")


async def test_a_missing_dependency_shows_when_steps_run_in_another_order(world: WorldView) -> None:
    plan = await SymbolicPlanner().plan("bring the apple to table 2", world)
    assert len(plan.steps) >= 2 and check_plan_effects(plan, world) == []
    for step in plan.steps:
        step.depends_on = []  # the handoff's second leg no longer waits for the first
    [error] = check_plan_effects(plan, world)
    assert error.startswith("a dependency is missing: when steps that do not wait for each other run in another order")
    assert "apple" in error
