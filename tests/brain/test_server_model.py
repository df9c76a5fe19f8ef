"""`roboos brain serve` with the bundled SmolLM2-135M-Instruct: one real server process for the module."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import jsonschema
import openai
import pytest

from brain.errors import PlanningError
from brain.llm import LLMConfig, LLMGoalsPlanner, LLMPlanner
from brain.llm.bench import BENCH_TASK, restaurant_world
from brain.llm.goal_prompt import GoalNames
from brain.llm.prompt import plan_messages, plan_schema
from brain.plan import Plan
from brain.server.process import ServerProcess
from brain.validation import validate_plan

pytestmark = [pytest.mark.model, pytest.mark.timeout(300)]

NAVIGATE = {"type": "function", "function": {
    "name": "navigate", "description": "Drive to a place.",
    "parameters": {"type": "object", "properties": {"target": {"type": "string", "enum": ["kitchen", "dining"]}},
                   "required": ["target"]}}}
PICK = {"type": "function", "function": {
    "name": "pick", "description": "Pick up an object.",
    "parameters": {"type": "object", "properties": {"object": {"type": "string", "maxLength": 20}},
                   "required": ["object"]}}}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess(["--max-tokens", "600", "--device", "cpu"])
    process.start(timeout_s=280)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=240) as client:
        yield client


def chat(http: httpx.Client, server: ServerProcess, **body: object) -> httpx.Response:
    return http.post("/chat/completions", json={"model": server.model, "temperature": 0, **body})


def test_models_lists_the_bundled_model(server: ServerProcess, http: httpx.Client) -> None:
    assert server.model == "SmolLM2-135M-Instruct"
    assert [m["id"] for m in http.get("/models").json()["data"]] == [server.model]


def test_planning_with_json_schema_returns_schema_valid_json(server: ServerProcess, http: httpx.Client) -> None:
    world = restaurant_world()
    schema = plan_schema(world)
    schema["properties"]["reasoning_explanation"]["maxLength"] = 80  # keep the CPU run short
    schema["properties"]["subtask_list"]["maxItems"] = 2
    schema["properties"]["subtask_list"]["items"]["properties"]["subtask"]["maxLength"] = 60
    response = chat(http, server, messages=plan_messages(BENCH_TASK, world), max_tokens=200,
                    response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}})
    assert response.status_code == 200, response.text
    body = response.json()
    data = json.loads(body["choices"][0]["message"]["content"])
    jsonschema.validate(data, schema)
    plan = Plan.from_robobrain(data, planner="llm")
    assert {s.robot_name for s in plan.steps} <= set(world.robots)
    assert body["usage"]["prompt_tokens"] > 100 and 0 < body["usage"]["completion_tokens"] <= 200


def test_required_tool_call_is_parseable(server: ServerProcess, http: httpx.Client) -> None:
    response = chat(http, server, messages=[{"role": "user", "content": "Drive to the kitchen."}],
                    tools=[NAVIGATE, PICK], tool_choice="required", max_tokens=40)
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    call = choice["message"]["tool_calls"][0]
    arguments = json.loads(call["function"]["arguments"])
    tool = {"navigate": NAVIGATE, "pick": PICK}[call["function"]["name"]]
    jsonschema.validate(arguments, tool["function"]["parameters"])
    assert call["id"].startswith("call_") and call["type"] == "function"


def test_named_tool_choice_and_auto(server: ServerProcess, http: httpx.Client) -> None:
    named = chat(http, server, messages=[{"role": "user", "content": "Get the apple."}], tools=[NAVIGATE, PICK],
                 tool_choice={"type": "function", "function": {"name": "pick"}}, max_tokens=30).json()
    assert named["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "pick"
    auto = chat(http, server, messages=[{"role": "user", "content": "Get the apple."}], tools=[PICK],
                max_tokens=12).json()
    message = auto["choices"][0]["message"]
    assert message["role"] == "assistant" and (message["content"] or message.get("tool_calls"))


def test_errors_use_the_openai_envelope(server: ServerProcess, http: httpx.Client) -> None:
    unknown = http.post("/chat/completions", json={"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    bad = http.post("/chat/completions", content=b"{nope", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]


@pytest.mark.anyio
async def test_llm_planner_through_the_server_never_returns_an_invalid_plan(server: ServerProcess) -> None:
    config = LLMConfig(base_url=server.base_url, model=server.model, max_attempts=1, max_tokens=512,
                       timeout_s=240)
    planner = LLMPlanner(config)
    world = restaurant_world()
    try:
        plan = await planner.plan(BENCH_TASK, world)
    except PlanningError as e:  # the tiny model and the fallback both failed: a clear failure, no plan
        assert "no valid LLM plan after 1 attempt" in str(e)
        return
    finally:
        await planner.close()
    assert validate_plan(plan, world) == []
    info = plan.info if plan.planner == "llm" else plan.info["llm"]
    assert info["model"] == server.model and info["attempts"] == 1
    if plan.planner == "llm":  # a fallback after a timed-out attempt has no token counts
        assert info["prompt_tokens"] > 100


@pytest.mark.anyio
async def test_llm_goals_through_the_server_are_grounded_in_the_scene(server: ServerProcess) -> None:
    config = LLMConfig(base_url=server.base_url, model=server.model, max_attempts=1, max_tokens=200,
                       timeout_s=240, fallback="fail")
    planner = LLMGoalsPlanner(config)
    world = restaurant_world()
    try:
        plan = await planner.plan(BENCH_TASK, world)
    except PlanningError as e:  # grounded goals the fleet cannot reach: a refusal, never an unusable answer
        assert "(the goals read from the task: " in str(e)
        return
    finally:
        await planner.close()
    assert plan.planner == "llm_goals" and validate_plan(plan, world) == []
    assert plan.info["attempts"] == 1 and plan.info["prompt_tokens"] > 100
    names = GoalNames.of(world)
    assert {g.get("object", "apple") for g in plan.info["model_goals"]} <= set(names.objects)


def test_cut_off_json_comes_back_with_finish_reason_length(server: ServerProcess, http: httpx.Client) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    response = chat(http, server, messages=[{"role": "user", "content": "Name a fruit."}], max_tokens=3,
                    response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}})
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "length" and choice["message"]["content"].startswith('{"')


def test_streamed_tool_call_through_the_openai_client(server: ServerProcess) -> None:
    with openai.OpenAI(base_url=server.base_url, api_key="none", timeout=240, max_retries=0) as client:
        stream = client.chat.completions.create(
            model=server.model, messages=[{"role": "user", "content": "Drive to the kitchen."}], tools=[NAVIGATE],
            tool_choice="required", temperature=0, max_tokens=40, stream=True)
        deltas = [d for chunk in stream if chunk.choices for d in chunk.choices[0].delta.tool_calls or []]
    assert deltas[0].index == 0 and deltas[0].id.startswith("call_") and deltas[0].function.name == "navigate"
    arguments = json.loads("".join(d.function.arguments or "" for d in deltas))
    jsonschema.validate(arguments, NAVIGATE["function"]["parameters"])
