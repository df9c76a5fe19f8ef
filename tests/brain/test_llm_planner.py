"""The LLM planner against a scripted OpenAI-compatible server: retries, fallback, clear failures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import pytest

from brain.errors import PlanningError
from brain.llm import LLMConfig, LLMPlanner
from brain.llm.bench import BENCH_TASK, restaurant_world
from brain.plan import Plan, PlanStep
from brain.planner import Planner, ReplanContext
from brain.server.scripted import Reply, ScriptedServer
from brain.validation import validate_plan
from brain.world import WorldView

pytestmark = pytest.mark.anyio

GOOD = {
    "reasoning_explanation": "The runner fetches the apple.",
    "subtask_list": [
        {"robot_name": "runner", "subtask": "Fetch the apple", "subtask_order": 1,
         "actions": [{"name": "navigate", "arguments": {"target": "counter"}},
                     {"name": "pick", "arguments": {"object": "apple"}}]},
        {"robot_name": "runner", "subtask": "Put it on the dining table", "subtask_order": 2,
         "actions": [{"name": "navigate", "arguments": {"target": "dining_table"}},
                     {"name": "place", "arguments": {"target": "dining_table"}}]},
    ],
}
HELPER_BRINGS = {"robot_name": "helper", "subtask": "Bring the apple", "subtask_order": 1,
                 "actions": [*GOOD["subtask_list"][0]["actions"], *GOOD["subtask_list"][1]["actions"]]}

MakePlanner = Callable[..., LLMPlanner]


class RecordingFallback(Planner):
    """A stand-in symbolic planner: a fixed valid plan, and a record of being asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        self.calls.append(task)
        step = PlanStep(step_id="s1", robot_name="helper", subtask="Bring the apple")
        return Plan(reasoning_explanation="fallback", steps=[step], planner="symbolic")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
async def planner_for() -> AsyncIterator[Callable[..., LLMPlanner]]:
    """Builds planners against a scripted server; closes their HTTP clients afterwards."""
    made: list[LLMPlanner] = []

    def make(server: ScriptedServer, backup: Planner | None = None, **settings: object) -> LLMPlanner:
        settings = {"timeout_s": 5.0, "require_actions": True, **settings}  # these tests check grounded plans
        config = LLMConfig(base_url=server.base_url, model=server.model, **settings)
        made.append(LLMPlanner(config, fallback=backup))
        return made[-1]

    yield make
    for planner in made:
        await planner.close()


async def test_valid_plan_records_usage_and_asks_for_json_schema(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.json(GOOD, prompt_tokens=321, completion_tokens=45))
    world = restaurant_world()
    plan = await planner_for(server).plan(BENCH_TASK, world)
    assert plan.planner == "llm" and validate_plan(plan, world) == []
    assert [s.robot_name for s in plan.steps] == ["runner", "runner"]
    assert plan.steps[1].actions == [{"name": "navigate", "arguments": {"target": "dining_table"}},
                                     {"name": "place", "arguments": {"target": "dining_table"}}]
    assert plan.info["checks"] == {"structure": "passed", "actions": "passed", "effects": "passed",
                                   "goals": "passed", "goal_list": ["apple on dining_table"]}
    info = plan.info
    assert (info["model"], info["prompt_tokens"], info["completion_tokens"], info["attempts"]) == (
        server.model, 321, 45, 1)
    assert info["latency_s"] >= 0
    request = server.requests[0]
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["subtask_list"]["items"]["properties"]["robot_name"]["enum"] == [
        "chef_arm", "helper", "runner"]
    prompt = request["messages"][1]["content"]
    assert "navigate(target: string) - Go to a place, or to a piece of furniture or a container." in prompt
    assert "apple on counter" in prompt and BENCH_TASK in prompt


async def test_guided_json_mode_sends_the_schema_in_the_body(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.text("Here is the plan:\n```json\n" + json.dumps(GOOD) + "\n```\nHope it helps!"))
    plan = await planner_for(server, structured_output="guided_json").plan(BENCH_TASK, restaurant_world())
    assert len(plan.steps) == 2
    assert "guided_json" in server.requests[0] and "response_format" not in server.requests[0]


async def test_retries_feed_validation_errors_back(server: ScriptedServer, planner_for: MakePlanner) -> None:
    unknown = {"reasoning_explanation": "x", "subtask_list": [{"robot_name": "ghost", "subtask": "fly",
                                                               "subtask_order": 1}]}
    cycle = {"reasoning_explanation": "x", "subtask_list": [
        {"robot_name": "runner", "subtask": "a", "subtask_order": 1, "depends_on": [2]},
        {"robot_name": "helper", "subtask": "b", "subtask_order": 1, "depends_on": [1]}]}
    server.push(Reply.text("I think the robots should work together."), Reply.json(unknown), Reply.json(cycle),
                Reply.json(GOOD))
    plan = await planner_for(server, max_attempts=4).plan(BENCH_TASK, restaurant_world())
    assert plan.planner == "llm" and plan.info["attempts"] == 4
    errors = plan.info["errors"]
    assert "no JSON object" in errors[0] and "unknown robot 'ghost'" in errors[1] and "cycle" in errors[2]
    last_prompt = server.requests[3]["messages"]
    assert last_prompt[-1]["role"] == "user" and "cycle" in last_prompt[-1]["content"]
    assert "unknown robot 'ghost'" in server.requests[2]["messages"][-1]["content"]


async def test_server_errors_and_timeouts_fall_back_to_symbolic(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.error(500, "CUDA out of memory"), Reply.hang())
    fallback = RecordingFallback()
    planner = planner_for(server, backup=fallback, max_attempts=2, timeout_s=0.5)
    with anyio.fail_after(10):
        plan = await planner.plan(BENCH_TASK, restaurant_world())
    assert plan.planner == "symbolic" and fallback.calls == [BENCH_TASK]
    assert plan.info["fallback_from"] == "llm"
    reason = plan.info["llm"]["reason"]
    assert "HTTP 500: CUDA out of memory" in reason and "timeout_s=0.5" in reason


async def test_fail_mode_raises_with_the_reason_and_never_returns_a_bad_plan(server: ScriptedServer, planner_for: MakePlanner) -> None:
    bad = {"reasoning_explanation": "x", "subtask_list": [{"robot_name": "chef_arm", "subtask": "drive",
                                                           "subtask_order": 1,
                                                           "actions": [{"name": "navigate",
                                                                        "arguments": {"target": "dining"}}]}]}
    server.push(Reply.json(bad), Reply.json(bad))
    planner = planner_for(server, backup=RecordingFallback(), max_attempts=2, fallback="fail")
    with pytest.raises(PlanningError, match="no valid LLM plan after 2 attempt") as caught:
        await planner.plan(BENCH_TASK, restaurant_world())
    assert "has no skill 'navigate'" in str(caught.value)


async def test_replan_excludes_avoided_robots(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.json(GOOD), Reply.json({**GOOD, "subtask_list": [HELPER_BRINGS]}))
    context = ReplanContext(done=[], failed="Go to the kitchen", reason="runner went offline",
                            avoid_robots={"runner"})
    plan = await planner_for(server, max_attempts=2).plan(BENCH_TASK, restaurant_world(), context)
    assert [s.robot_name for s in plan.steps] == ["helper"]
    assert "must not be used" in plan.info["errors"][0]
    first = server.requests[0]
    assert "Do not use: runner" in first["messages"][1]["content"]
    enum = first["response_format"]["json_schema"]["schema"]["properties"]["subtask_list"]["items"]
    assert "runner" not in enum["properties"]["robot_name"]["enum"]


async def test_planner_registry_builds_from_a_config_mapping(server: ScriptedServer, planner_for: MakePlanner) -> None:
    planner = Planner.create("llm", config={"base_url": server.base_url, "model": server.model})
    assert isinstance(planner, LLMPlanner) and planner.config.model == server.model
    await planner.close()


class InvalidFallback(Planner):
    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        return Plan(reasoning_explanation="x", steps=[PlanStep(step_id="s1", robot_name="ghost", subtask="x")],
                    planner="symbolic")


async def test_an_invalid_fallback_plan_is_not_returned(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.text("no plan"))
    planner = planner_for(server, backup=InvalidFallback(), max_attempts=1)
    with pytest.raises(PlanningError, match="fallback's plan is invalid too: .*unknown robot 'ghost'"):
        await planner.plan(BENCH_TASK, restaurant_world())


NO_ACTIONS = {"reasoning_explanation": "x", "subtask_list": [
    {"robot_name": "runner", "subtask": "bar_shelf", "subtask_order": 1},
    {"robot_name": "helper", "subtask": "dining_room", "subtask_order": 2}]}
GOAL_UNMET = {"reasoning_explanation": "x", "subtask_list": [
    {"robot_name": "runner", "subtask": "Fetch the apple", "subtask_order": 1,
     "actions": GOOD["subtask_list"][0]["actions"]}]}
PLACE_UNHELD = {"reasoning_explanation": "x", "subtask_list": [
    {"robot_name": "helper", "subtask": "Put the apple down", "subtask_order": 1,
     "actions": [{"name": "navigate", "arguments": {"target": "dining_table"}},
                 {"name": "place", "arguments": {"target": "dining_table"}}]}]}


async def test_plans_without_actions_or_unmet_goals_are_retried_then_fall_back(
    server: ScriptedServer, planner_for: MakePlanner
) -> None:
    server.push(Reply.json(NO_ACTIONS), Reply.json(GOAL_UNMET), Reply.json(PLACE_UNHELD))
    world = restaurant_world()
    plan = await planner_for(server, max_attempts=3).plan(BENCH_TASK, world)
    assert plan.planner == "symbolic" and plan.info["fallback_from"] == "llm"
    assert validate_plan(plan, world) == [] and all(s.actions for s in plan.steps)
    assert plan.info["checks"]["goals"] == "passed"
    errors = plan.info["llm"]["errors"]
    assert "step s1 (runner): has no actions" in errors[0] and "step s2 (helper): has no actions" in errors[0]
    assert "the plan leaves apple held by runner; the task wants it on dining_table" in errors[1]
    assert "step s1 (helper) action 2 place(target=dining_table): the call does not name an object held by the robot" in errors[2]
    assert "the plan leaves apple on counter; the task wants it on dining_table" in errors[2]
    # Each rejection goes back to the model before the next attempt.
    assert "has no actions" in server.requests[1]["messages"][-1]["content"]
    assert "the task wants it on dining_table" in server.requests[2]["messages"][-1]["content"]
    schema = server.requests[0]["response_format"]["json_schema"]["schema"]["properties"]["subtask_list"]["items"]
    assert "actions" in schema["required"] and schema["properties"]["actions"]["minItems"] == 1
    assert "Every subtask must list its actions" in server.requests[0]["messages"][0]["content"]


async def test_a_semantically_wrong_plan_is_never_returned_in_fail_mode(
    server: ScriptedServer, planner_for: MakePlanner
) -> None:
    server.push(Reply.json(GOAL_UNMET))
    planner = planner_for(server, max_attempts=1, fallback="fail")
    with pytest.raises(PlanningError, match="the plan leaves apple held by runner"):
        await planner.plan(BENCH_TASK, restaurant_world())


async def test_free_text_steps_pass_when_actions_are_not_required(
    server: ScriptedServer, planner_for: MakePlanner
) -> None:
    server.push(Reply.json(NO_ACTIONS))
    plan = await planner_for(server, require_actions=False).plan(BENCH_TASK, restaurant_world())
    assert plan.planner == "llm" and [s.actions for s in plan.steps] == [[], []]
    checks = plan.info["checks"]
    assert checks["actions"] == "not required" and checks["effects"].startswith("skipped: step(s) s1, s2")
    schema = server.requests[0]["response_format"]["json_schema"]["schema"]["properties"]["subtask_list"]["items"]
    assert "actions" not in schema["required"]
