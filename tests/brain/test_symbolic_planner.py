from __future__ import annotations

import pytest

from brain.errors import PlanningError
from brain.plan import Plan
from brain.planner import ReplanContext
from brain.symbolic import SymbolicPlanner
from brain.validation import validate_plan
from brain.world import WorldView
from deploy.offline import build_world, plan_offline, scene_world
from memory.profiles import SceneNode
from scene import load_scene
from scene.profile import FleetEntry
from tests.brain.conftest import WorldFactory

pytestmark = pytest.mark.anyio


async def _plan(task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
    plan = await SymbolicPlanner().plan(task, world, context)
    assert validate_plan(plan, world) == [], plan.to_robobrain()
    return plan


def _summary(plan: Plan) -> list[tuple[str, str, int, list[str]]]:
    return [(s.step_id, s.robot_name, s.subtask_order, s.depends_on or []) for s in plan.steps]


async def test_sequence_form_uses_the_robots_own_skill_and_argument_names(world: WorldView) -> None:
    plan = await _plan("Pick up the plate from the pass counter, navigate to table 1, place the plate on table 1", world)
    (step,) = plan.steps
    assert step.robot_name == "waiter"  # the only robot that reaches the dining room
    assert step.actions == [
        {"name": "walk_to", "arguments": {"destination": "pass_counter"}},
        {"name": "grasp", "arguments": {"item": "plate"}},
        {"name": "walk_to", "arguments": {"destination": "table_1"}},
        {"name": "put_down", "arguments": {"item": "plate", "surface": "table_1"}},
    ]
    assert step.subtask == "Pick up the plate from the pass counter and place it on table 1."
    assert plan.planner == "symbolic" and plan.info["world_version"] == 7


async def test_bring_across_zones_hands_over_at_the_pass(world: WorldView) -> None:
    plan = await _plan("bring the apple to table 2", world)
    assert _summary(plan) == [("s1", "runner", 1, []), ("s2", "waiter", 2, ["s1"])]
    assert plan.steps[0].actions[-1] == {"name": "place", "arguments": {"object": "apple", "target": "pass_counter"}}
    assert plan.steps[1].actions[1] == {"name": "grasp", "arguments": {"item": "apple"}}
    assert "runner hands it to waiter at pass_counter" in plan.reasoning_explanation
    assert plan.info["makespan_s"] > 0
    assert plan.to_robobrain()["subtask_list"][1]["depends_on"] == ["s1"]


async def test_no_carrier_and_no_handoff_explains_each_robot(world: WorldView) -> None:
    with pytest.raises(PlanningError) as info:
        await _plan("bring the soup pot to table 1", world)  # 6 kg: the waiter's payload is 3 kg
    message = str(info.value)
    assert message == "soup_pot weighs 6 kg, more than any robot that can get to the dining can lift (at most 3 kg)"


async def test_allocation_prefers_the_closer_capable_robot(make_world: WorldFactory) -> None:
    plan = await _plan("put the plate on the serving table", make_world())
    assert [s.robot_name for s in plan.steps] == ["pass_arm"]  # already at the pass, no move
    assert plan.steps[0].actions == [{"name": "pick", "arguments": {"object": "plate"}},
                                     {"name": "place", "arguments": {"object": "plate", "target": "serving_table"}}]
    heavy = make_world(moves={"soup_pot": ("pass_counter", "on")})
    plan = await _plan("put the soup pot on the serving table", heavy)
    assert [s.robot_name for s in plan.steps] == ["runner"]  # pass_arm and waiter cannot lift 6 kg


async def test_allocation_prefers_the_less_loaded_robot(make_world: WorldFactory) -> None:
    plan = await _plan("put the plate on the serving table", make_world(busy={"pass_arm"}))
    assert [s.robot_name for s in plan.steps] == ["runner"]
    plan = await _plan("put the plate on the serving table", make_world(offline={"pass_arm"},
                                                                         moves={"waiter": ("pass", "at")}))
    assert [s.robot_name for s in plan.steps] == ["waiter"]  # at the pass already: closer than the runner


async def test_independent_goals_run_in_parallel_on_two_robots(world: WorldView) -> None:
    plan = await _plan("put the plate on the serving table and put the bowl on the serving table", world)
    assert _summary(plan) == [("s1", "pass_arm", 1, []), ("s2", "runner", 1, [])]
    assert plan.dependencies() == {"s1": [], "s2": []}


async def test_goals_on_the_same_object_are_chained(world: WorldView) -> None:
    plan = await _plan("put the plate on the serving table, then bring the plate to table 1", world)
    assert _summary(plan) == [("s1", "pass_arm", 1, []), ("s2", "waiter", 2, ["s1"])]
    assert plan.steps[1].actions[0] == {"name": "walk_to", "arguments": {"destination": "serving_table"}}


async def test_container_is_opened_before_placing_and_left_open(world: WorldView) -> None:
    plan = await _plan("put the apple in the fridge", world)
    (step,) = plan.steps
    assert [a["name"] for a in step.actions] == ["pick", "open", "place"]
    assert step.actions[1] == {"name": "open", "arguments": {"target": "fridge"}}
    assert step.subtask == "Pick up the apple from the kitchen table, open the fridge and place the apple in the fridge."


async def test_container_is_closed_again_when_asked(world: WorldView) -> None:
    plan = await _plan("put the apple in the fridge and close it", world)
    (step,) = plan.steps  # the close joins the same robot's step
    assert [a["name"] for a in step.actions] == ["pick", "open", "place", "close"]


async def test_taking_out_of_a_closed_container_opens_it_first(world: WorldView) -> None:
    plan = await _plan("open the fridge and take the milk to the pass counter", world)
    (step,) = plan.steps  # the explicit open is done on the way
    assert [a["name"] for a in step.actions] == ["open", "pick", "navigate", "place"]
    assert step.robot_name == "runner"


async def test_open_close_and_go(world: WorldView) -> None:
    plan = await _plan("open the fridge", world)
    assert plan.steps[0].actions == [{"name": "open", "arguments": {"target": "fridge"}}]
    plan = await _plan("waiter: go to the pass", world)
    assert plan.steps[0].actions == [{"name": "walk_to", "arguments": {"destination": "pass"}}]
    assert plan.steps[0].subtask == "Go to the pass."


async def test_named_robot_that_cannot_do_it_is_an_error(world: WorldView) -> None:
    with pytest.raises(PlanningError, match=r"waiter cannot go to the kitchen: it is outside its zones \(pass, dining\)"):
        await _plan("robot waiter go to the kitchen", world)
    with pytest.raises(PlanningError, match="pass_arm cannot put things on or in the fridge: it cannot get to the kitchen"):
        await _plan("pass_arm: put the apple in the fridge", world)


async def test_a_named_robot_puts_it_there_and_others_may_bring_it(world: WorldView) -> None:
    plan = await _plan("pass_arm: put the apple on the pass counter", world)
    assert plan.steps[-1].robot_name == "pass_arm" and len(plan.steps) >= 2
    assert plan.steps[-1].actions[-1]["arguments"].get("target") == "pass_counter"


async def test_nothing_to_do_is_an_empty_plan_that_says_so(world: WorldView) -> None:
    plan = await _plan("put the plate on the pass counter and close the fridge", world)
    assert plan.steps == [] and plan.already_done
    assert plan.reasoning_explanation == "Nothing to do: plate is already on pass_counter; fridge is already closed."


async def test_replan_continues_with_the_object_in_hand(make_world: WorldFactory) -> None:
    mid_way = make_world(moves={"apple": ("runner", "held_by"), "runner": ("pass_counter", "at")})
    context = ReplanContext(done=["s1"], failed="s2", reason="gripper slipped")
    plan = await _plan("bring the apple to table 2", mid_way, context)
    assert _summary(plan) == [("s1", "runner", 1, []), ("s2", "waiter", 2, ["s1"])]
    assert plan.steps[0].actions == [{"name": "place", "arguments": {"object": "apple", "target": "pass_counter"}}]
    assert plan.reasoning_explanation.startswith("Replanning from the current world after 's2' (gripper slipped).")


async def test_replan_after_the_handoff_is_one_step(make_world: WorldFactory) -> None:
    plan = await _plan("bring the apple to table 2", make_world(moves={"apple": ("pass_counter", "on")}))
    assert _summary(plan) == [("s1", "waiter", 1, [])]


async def test_replan_avoiding_the_holder_cannot_take_the_object_from_it(make_world: WorldFactory) -> None:
    mid_way = make_world(moves={"apple": ("runner", "held_by")})
    with pytest.raises(PlanningError, match="apple is held by runner, but it is to be avoided in this replan"):
        await _plan("bring the apple to table 2", mid_way, ReplanContext(avoid_robots={"runner"}))


async def test_replan_avoids_robots_and_says_why_none_is_left(make_world: WorldFactory) -> None:
    world = make_world(moves={"apple": ("pass_counter", "on")})
    with pytest.raises(PlanningError, match="waiter: it is to be avoided in this replan"):
        await _plan("bring the apple to table 2", world, ReplanContext(failed="s2", avoid_robots={"waiter"}))
    plan = await _plan("put the plate on the serving table", make_world(), ReplanContext(avoid_robots={"pass_arm"}))
    assert [s.robot_name for s in plan.steps] == ["runner"]


async def test_offline_robots_get_no_step(make_world: WorldFactory) -> None:
    with pytest.raises(PlanningError, match="waiter: it is offline"):
        await _plan("bring the plate to table 1", make_world(offline={"waiter"}))


async def test_a_robot_whose_skill_server_is_unreachable_gets_no_step(make_world: WorldFactory) -> None:
    with pytest.raises(PlanningError, match="waiter: its skill server is unreachable"):
        await _plan("bring the plate to table 1", make_world(degraded={"waiter"}))
    plan = await _plan("put the plate on the serving table", make_world(degraded={"pass_arm"}))
    assert [s.robot_name for s in plan.steps] == ["runner"]


async def test_a_full_hand_rules_a_robot_out(make_world: WorldFactory) -> None:
    world = make_world(moves={"cup": ("pass_arm", "held_by")})
    plan = await _plan("put the plate on the serving table", world)
    assert [s.robot_name for s in plan.steps] == ["runner"]


async def test_planning_is_deterministic(world: WorldView) -> None:
    task = "bring the apple to table 2 and put the cup in the fridge; waiter: go to the pass"
    first = await _plan(task, world)
    second = await _plan(task, world)
    assert first.to_robobrain() == second.to_robobrain()
    assert len(first.steps) == 4
    orders = {s.step_id: s.subtask_order for s in first.steps}
    for step in first.steps:  # subtask_order is the depth in the dependency DAG
        assert step.subtask_order == 1 + max((orders[d] for d in step.depends_on or []), default=0)


async def test_unnamed_go_sends_the_closest_mobile_robot(make_world: WorldFactory) -> None:
    plan = await _plan("go to the pass", make_world())  # the fixed arm being there does not count
    assert [s.robot_name for s in plan.steps] == ["runner"]  # runner and waiter are one move away: by name
    plan = await _plan("go to the pass", make_world(moves={"waiter": ("serving_table", "at")}))
    assert plan.already_done and plan.reasoning_explanation == "Nothing to do: waiter is already at pass."


async def test_a_wrong_source_in_the_words_is_noted_and_the_world_wins(world: WorldView) -> None:
    plan = await _plan("pick up the plate from the kitchen table and put it on the serving table", world)
    assert plan.steps[0].actions[0] == {"name": "pick", "arguments": {"object": "plate"}}
    assert "plate is at pass_counter, not kitchen_table; taking it from there." in plan.reasoning_explanation


async def test_robots_with_no_surface_both_reach_hand_it_over_directly() -> None:
    nodes = [
        SceneNode("garage", "place", props={"passages": [{"to": "yard", "travel_s": 2.0}]}),
        SceneNode("yard", "place", props={"passages": [{"to": "garage", "travel_s": 2.0}]}),
        SceneNode("high_rack", "furniture", "garage", "at", {"height": "high"}),
        SceneNode("kennel", "furniture", "yard", "at", {"height": "low"}),
        SceneNode("bone", "object", "high_rack", "on", {"weight_kg": 0.3}),
        SceneNode("butler", "robot", "garage", "at"), SceneNode("rex", "robot", "yard", "at"),
    ]
    fleet = [FleetEntry("butler", "humanoid", "garage", zones=["garage"]),
             FleetEntry("rex", "quadruped", "yard", zones=["garage", "yard"])]
    run = await plan_offline("put the bone on the kennel", await build_world(nodes, fleet))
    assert run.ok, run.refused or run.check
    calls = [(s.robot_name, a["name"]) for s in run.plan.steps for a in s.actions]
    assert ("butler", "hand_over") in calls and calls[-1] == ("rex", "place")
    arrive, give = (next(s for s in run.plan.steps if s.robot_name == r) for r in ("rex", "butler"))
    assert arrive.step_id in give.depends_on  # the taker is there before the giver hands it over
    assert run.final["bone"] == ("on", "kennel")


async def test_a_named_robot_that_cannot_get_to_it_is_brought_it_by_a_chain() -> None:
    world = await scene_world(load_scene("apartment"))
    run = await plan_offline("Hand the butler the TV remote.", world)
    assert run.ok, run.refused or run.check
    assert run.final["remote"] == ("held_by", "butler")
    assert {s.robot_name for s in run.plan.steps} == {"rex", "courier", "butler"}
    assert "No single robot can bring remote" in run.plan.reasoning_explanation
