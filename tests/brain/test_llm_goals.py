"""The goal-mode LLM planner against a scripted OpenAI-compatible server (real HTTP, no model)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import pytest

from brain.errors import PlanningError
from brain.llm import LLMConfig, LLMGoalsPlanner
from brain.llm.goal_prompt import GoalNames, goal_schema
from brain.plan_check import check_plan
from brain.planner import Planner, ReplanContext
from brain.server.scripted import Reply, ScriptedServer
from brain.validation import validate_plan
from tests.brain.conftest import WorldFactory, build_world

pytestmark = pytest.mark.anyio

TASK = "Could you get the apple over to table 2?"
APPLE_TO_TABLE_2 = {"goals": [{"type": "deliver", "object": "apple", "relation": "on", "target": "table_2"}]}

MakePlanner = Callable[..., LLMGoalsPlanner]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
async def planner_for() -> AsyncIterator[MakePlanner]:
    """Builds goal planners against a scripted server; closes their HTTP clients afterwards."""
    made: list[LLMGoalsPlanner] = []

    def make(server: ScriptedServer, **settings: object) -> LLMGoalsPlanner:
        config = LLMConfig(base_url=server.base_url, model=server.model, **{"timeout_s": 5.0, **settings})
        made.append(LLMGoalsPlanner(config))
        return made[-1]

    yield make
    for planner in made:
        await planner.close()


async def test_grounded_goals_are_planned_by_the_symbolic_planner(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.json(APPLE_TO_TABLE_2, prompt_tokens=400, completion_tokens=30))
    world = build_world()
    plan = await planner_for(server).plan(TASK, world)
    assert plan.planner == "llm_goals" and validate_plan(plan, world) == []
    assert check_plan(plan, world).final["apple"] == ("on", "table_2")
    assert all(step.actions for step in plan.steps)
    info = plan.info
    assert info["goals"] == ["apple on table_2"] and info["model_goals"] == APPLE_TO_TABLE_2["goals"]
    assert (info["model"], info["prompt_tokens"], info["completion_tokens"], info["attempts"]) == (
        server.model, 400, 30, 1)
    assert info["latency_s"] >= 0 and info["errors"] == []


async def test_the_request_carries_the_scenes_names_as_enums(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.json(APPLE_TO_TABLE_2))
    await planner_for(server).plan(TASK, build_world())
    request = server.requests[0]
    schema = request["response_format"]["json_schema"]["schema"]
    deliver, hold, open_close, go = schema["properties"]["goals"]["items"]["anyOf"]
    fields = deliver["properties"]
    assert fields["object"]["enum"] == ["apple", "bowl", "cup", "milk", "plate", "soup_pot"]
    assert fields["target"]["enum"] == ["fridge", "kitchen_table", "pass_counter", "serving_table", "table_1", "table_2"]
    assert fields["relation"]["enum"] == ["on", "in"]
    assert fields["robot"]["enum"] == ["pass_arm", "runner", "waiter", None]
    assert hold["properties"]["type"]["enum"] == ["hold"]
    assert open_close["properties"]["type"]["enum"] == ["open", "close"]
    assert open_close["properties"]["container"]["enum"] == ["fridge"]
    assert "dining" in go["properties"]["target"]["enum"]
    prompt = request["messages"][1]["content"]
    assert "Objects: apple, bowl, cup, milk, plate, soup_pot" in prompt and prompt.endswith(f"Task: {TASK}")


async def test_an_unknown_name_is_sent_back_and_the_next_answer_plans(server: ScriptedServer, planner_for: MakePlanner) -> None:
    wrong = {"goals": [{"type": "deliver", "object": "banana", "relation": "on", "target": "tabel_2"}]}
    server.push(Reply.json(wrong), Reply.json(APPLE_TO_TABLE_2))
    plan = await planner_for(server, max_attempts=2, structured_output="none").plan(TASK, build_world())
    assert plan.planner == "llm_goals" and plan.info["attempts"] == 2
    assert "goal 1 (deliver): unknown object 'banana'" in plan.info["errors"][0]
    correction = server.requests[1]["messages"][-1]
    assert correction["role"] == "user"
    assert "unknown target 'tabel_2'; did you mean table_2" in correction["content"]
    assert "response_format" not in server.requests[0]


async def test_aliases_and_spaced_names_are_read_as_the_scenes_names(
    server: ScriptedServer, planner_for: MakePlanner, make_world: WorldFactory
) -> None:
    world = make_world(props={"table_2": {"aliases": ["window table"]}})
    answer = {"goals": [{"type": "deliver", "object": "Apple", "relation": "in", "target": "window table"},
                        {"type": "deliver", "object": "cup", "relation": "on", "target": "fridge"},
                        {"type": "close", "container": "fridge", "robot": "runner"}]}
    server.push(Reply.json(answer))
    plan = await planner_for(server, structured_output="none").plan("apple to the window table", world)
    # the relation is the world's: in a container, on anything else
    assert plan.info["goals"] == ["apple on table_2", "cup in fridge", "fridge closed"]
    final = check_plan(plan, world).final
    assert (final["apple"], final["cup"]) == (("on", "table_2"), ("in", "fridge"))
    assert "window table" in server.requests[0]["messages"][1]["content"]


async def test_garbage_falls_back_to_the_symbolic_planner(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.text("I would love to help! Apples are fruit."), Reply.json({"plan": "walk"}))
    world = build_world()
    plan = await planner_for(server, max_attempts=2).plan("bring the apple to table 2", world)
    assert plan.planner == "symbolic" and plan.info["fallback_from"] == "llm_goals"
    assert validate_plan(plan, world) == [] and plan.info["checks"]["goals"] == "passed"
    reason = plan.info["llm"]["reason"]
    assert reason.startswith("no valid LLM goals after 2 attempt(s)")
    assert "no JSON object" in reason and 'expected {"goals": [...]}' in reason


async def test_timeouts_fall_back_and_fail_mode_raises(server: ScriptedServer, planner_for: MakePlanner) -> None:
    server.push(Reply.hang(), Reply.error(500, "out of memory"))
    with anyio.fail_after(10):
        planner = planner_for(server, timeout_s=0.5, max_attempts=1)
        plan = await planner.plan("bring the apple to table 2", build_world())
        assert plan.planner == "symbolic" and "timeout_s=0.5" in plan.info["llm"]["reason"]
        with pytest.raises(PlanningError, match="no valid LLM goals after 1 attempt.*HTTP 500: out of memory"):
            await planner_for(server, max_attempts=1, fallback="fail").plan(TASK, build_world())


async def test_an_impossible_goal_is_refused_without_asking_again(server: ScriptedServer, planner_for: MakePlanner) -> None:
    heavy = {"goals": [{"type": "deliver", "object": "soup_pot", "relation": "on", "target": "table_2"}]}
    server.push(Reply.json(heavy), Reply.json(APPLE_TO_TABLE_2))
    with pytest.raises(PlanningError, match=r"weighs.*\(the goals read from the task: soup_pot on table_2\)"):
        await planner_for(server, max_attempts=3).plan("put the soup pot on table 2", build_world())
    assert len(server.requests) == 1 and server.remaining == 1


async def test_replanning_keeps_avoided_robots_out_of_the_schema(server: ScriptedServer, planner_for: MakePlanner) -> None:
    answer = {"goals": [{"type": "hold", "object": "cup", "robot": "runner"}]}
    server.push(Reply.json(answer), Reply.json({"goals": [{"type": "hold", "object": "cup"}]}))
    context = ReplanContext(failed="s1", reason="waiter went offline", avoid_robots={"waiter"})
    plan = await planner_for(server, max_attempts=2, structured_output="none").plan(
        "pick up the cup", build_world(), context)
    assert {s.robot_name for s in plan.steps} == {"runner"} and plan.info["attempts"] == 1
    schema = goal_schema(GoalNames.of(build_world(), context))
    assert schema["properties"]["goals"]["items"]["anyOf"][1]["properties"]["robot"]["enum"] == [
        "pass_arm", "runner", None]


async def test_the_registry_builds_it_from_a_config_mapping(server: ScriptedServer) -> None:
    assert Planner.type_of("llm_goals").uses_llm and not Planner.type_of("symbolic").uses_llm
    assert {"symbolic", "llm", "llm_goals"} <= set(Planner.available())
    planner = Planner.create("llm_goals", config={"base_url": server.base_url, "model": server.model})
    assert isinstance(planner, LLMGoalsPlanner) and planner.config.model == server.model
    await planner.close()
