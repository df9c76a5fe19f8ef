"""The LLM step loop against a scripted OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import pytest

from brain.llm import LLMConfig, LLMError, LLMStepper, check_call
from brain.server.scripted import Reply, ScriptedServer
from brain.step import Stepper

pytestmark = pytest.mark.anyio

PLACES = {"type": "string", "enum": ["kitchen", "pass", "dining"]}
TOOLS = [
    {"name": "navigate", "description": "Drive to a place.",
     "parameters": {"type": "object", "properties": {"target": PLACES}, "required": ["target"]}},
    {"name": "pick", "description": "Pick up an object within reach.",
     "parameters": {"type": "object", "properties": {"object": {"type": "string"}}, "required": ["object"],
                    "additionalProperties": False}},
]
STATE = {"robot": "runner", "position": "pass", "holding": []}
SUBTASK = "Fetch the apple from the kitchen"
MakeStepper = Callable[..., LLMStepper]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
async def stepper_for() -> AsyncIterator[Callable[..., LLMStepper]]:
    made: list[LLMStepper] = []

    def make(server: ScriptedServer, **settings: object) -> LLMStepper:
        config = LLMConfig(base_url=server.base_url, model=server.model, **{"timeout_s": 5.0, **settings})
        made.append(LLMStepper(config))
        return made[-1]

    yield make
    for stepper in made:
        await stepper.close()


def outcome(name: str, arguments: dict[str, object], ok: bool = True, message: str = "done") -> dict[str, object]:
    return {"name": name, "arguments": arguments, "ok": ok, "message": message, "effects": [], "duration_s": 0.1}


async def test_tool_call_with_null_content_sends_full_schemas(server: ScriptedServer, stepper_for: MakeStepper) -> None:
    server.push(Reply.call("navigate", {"target": "kitchen"}, content=None))
    decision = await stepper_for(server).next_action(SUBTASK, TOOLS, [], STATE)
    assert (decision.done, decision.name, decision.arguments) == (False, "navigate", {"target": "kitchen"})
    request = server.requests[0]
    functions = {t["function"]["name"]: t["function"] for t in request["tools"]}
    assert functions["navigate"]["parameters"] == TOOLS[0]["parameters"] and "finish" in functions
    assert request["tool_choice"] == "auto"
    assert "at pass, holding nothing" in request["messages"][1]["content"]


async def test_history_and_state_reach_the_model(server: ScriptedServer, stepper_for: MakeStepper) -> None:
    server.push(Reply.call("pick", {"object": "apple"}))
    history = [outcome("navigate", {"target": "kitchen"}, message="arrived at kitchen")]
    state = {**STATE, "position": "kitchen", "scene": {"version": 3, "nodes": [
        {"name": "apple", "kind": "object", "parent": "counter", "relation": "on"}]}}
    decision = await stepper_for(server).next_action(SUBTASK, TOOLS, history, state)
    assert decision.name == "pick"
    messages = server.requests[0]["messages"]
    assert "apple on counter" in messages[1]["content"]
    assert messages[2]["tool_calls"][0]["function"] == {"name": "navigate", "arguments": '{"target": "kitchen"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "ok: arrived at kitchen"}


async def test_bad_calls_are_fed_back_not_returned(server: ScriptedServer, stepper_for: MakeStepper) -> None:
    server.push(Reply.call("fly", {"to": "moon"}), Reply.call("navigate", {"target": "roof"}),
                Reply.call("pick", "{not json"), Reply.call("navigate", {"target": "dining"}))
    decision = await stepper_for(server, max_attempts=4).next_action(SUBTASK, TOOLS, [], STATE)
    assert (decision.name, decision.arguments) == ("navigate", {"target": "dining"})
    feedback = [r["messages"][-1]["content"] for r in server.requests[1:]]
    assert "unknown tool 'fly'" in feedback[0]
    assert "must be one of ['kitchen', 'pass', 'dining']" in feedback[1]
    assert "not valid JSON" in feedback[2]
    assert all(r["messages"][-1]["role"] == "tool" for r in server.requests[1:])


async def test_gives_up_after_max_attempts_of_bad_calls(server: ScriptedServer, stepper_for: MakeStepper) -> None:
    server.push(Reply.call("pick", {"object": 3}), Reply.call("pick", {"thing": "apple"}))
    decision = await stepper_for(server, max_attempts=2).next_action(SUBTASK, TOOLS, [], STATE)
    assert decision.done and not decision.ok and decision.summary.startswith("stopped: no valid tool call")
    assert "unknown 'thing'" in decision.summary


async def test_loop_ends_on_finish_no_call_repeat_and_max_steps(server: ScriptedServer, stepper_for: MakeStepper) -> None:
    stepper = stepper_for(server, max_steps=3)
    server.push(Reply.call("finish", {"summary": "apple fetched"}), Reply.text("I am done."),
                Reply.call("navigate", {"target": "kitchen"}))
    finished = await stepper.next_action(SUBTASK, TOOLS, [], STATE)
    assert (finished.summary, finished.ok) == ("apple fetched", True)
    prose = await stepper.next_action(SUBTASK, TOOLS, [], STATE)
    assert (prose.summary, prose.ok) == ("I am done.", True)
    repeated = await stepper.next_action(SUBTASK, TOOLS, [outcome("navigate", {"target": "kitchen"})], STATE)
    assert repeated.done and not repeated.ok and "repeated the call navigate" in repeated.summary
    full = [outcome("navigate", {"target": p}) for p in ("kitchen", "pass", "dining")]
    capped = await stepper.next_action(SUBTASK, TOOLS, full, STATE)
    assert capped.done and not capped.ok and "max_steps=3" in capped.summary and server.remaining == 0 and len(server.requests) == 3


async def test_text_protocol_for_models_without_tool_calls(server: ScriptedServer, stepper_for: MakeStepper) -> None:
    server.push(Reply.text('Sure.\n```json\n{"name": "navigate", "arguments": {"target": "kitchen"}}\n```'),
                Reply.text("```json\n{\"name\": \"pick\", \"arguments\": {\"object\": \n```"),
                Reply.text('```json\n{"name": "pick", "arguments": {"object": "apple"}}\n```'))
    stepper = stepper_for(server, support_tool_calls=False)
    first = await stepper.next_action(SUBTASK, TOOLS, [], STATE)
    assert (first.name, first.arguments) == ("navigate", {"target": "kitchen"})
    assert "tools" not in server.requests[0]
    system = server.requests[0]["messages"][0]["content"]
    assert json.dumps(TOOLS[0]["parameters"]) in system and '"name": "finish"' in system
    second = await stepper.next_action(SUBTASK, TOOLS, [outcome("navigate", {"target": "kitchen"})], STATE)
    assert (second.name, second.arguments) == ("pick", {"object": "apple"})
    assert server.requests[2]["messages"][-1]["content"].startswith("That call was not run")


async def test_endpoint_failures_raise_brain_errors_quickly(server: ScriptedServer, stepper_for: MakeStepper) -> None:
    server.push(Reply.error(500, "model crashed"), Reply.hang())
    stepper = stepper_for(server, timeout_s=0.5)
    with pytest.raises(LLMError, match="HTTP 500: model crashed"):
        await stepper.next_action(SUBTASK, TOOLS, [], STATE)
    with anyio.fail_after(5), pytest.raises(LLMError, match="timeout_s=0.5"):
        await stepper.next_action(SUBTASK, TOOLS, [], STATE)


def test_check_call_is_usable_by_the_slaver() -> None:
    schemas = {t["name"]: t["parameters"] for t in TOOLS}
    assert check_call("navigate", {"target": "kitchen"}, schemas) == []
    assert check_call("navigate", {}, schemas) == ["navigate: arguments is missing required 'target'"]
    assert check_call("finish", {"summary": "ok"}, schemas) == []


async def test_stepper_registry_builds_from_a_config_mapping(server: ScriptedServer) -> None:
    stepper = Stepper.create("llm", config={"base_url": server.base_url, "model": server.model})
    assert isinstance(stepper, LLMStepper) and stepper.config.base_url == server.base_url
    await stepper.close()
