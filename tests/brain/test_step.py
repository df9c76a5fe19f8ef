from __future__ import annotations

from typing import Any

import pytest

from brain.errors import BrainError
from brain.step import StepDecision, Stepper

pytestmark = pytest.mark.anyio


class ScriptedStepper(Stepper):
    """Calls each tool once in the order given, then finishes."""

    async def next_action(self, subtask: str, tools: list[dict[str, Any]], history: list[dict[str, Any]],
                          state: dict[str, Any]) -> StepDecision:
        if len(history) < len(tools):
            return StepDecision.call(tools[len(history)]["name"], {"target": state["position"]})
        return StepDecision.finish(f"{subtask}: {len(history)} call(s)")


def test_decision_is_a_call_or_done() -> None:
    call = StepDecision.call("navigate", {"target": "pass"})
    done = StepDecision.finish("at the pass")
    assert not call.done and done.done
    assert call.to_dict() == {"done": False, "call": {"name": "navigate", "arguments": {"target": "pass"}}}
    assert StepDecision.from_dict(call.to_dict()) == call
    assert StepDecision.from_dict(done.to_dict()) == done
    gave_up = StepDecision.finish("stopped: repeated a call", ok=False)
    assert done.ok and gave_up.done and not gave_up.ok
    assert gave_up.to_dict() == {"done": True, "summary": "stopped: repeated a call", "ok": False}
    assert StepDecision.from_dict(gave_up.to_dict()) == gave_up
    assert StepDecision.from_dict({"done": True, "summary": "old peer"}).ok


def test_stepper_is_abstract() -> None:
    with pytest.raises(TypeError):
        Stepper()  # type: ignore[abstract]


async def test_registered_stepper_drives_a_loop() -> None:
    Stepper.register("scripted-test")(ScriptedStepper)
    stepper = Stepper.create("scripted-test")
    tools = [{"name": "navigate", "description": "Drive.", "parameters": {"type": "object"}}]
    history: list[dict[str, Any]] = []
    decision = await stepper.next_action("go", tools, history, {"robot": "runner", "position": "pass", "holding": []})
    while not decision.done:
        history.append({"name": decision.name, "arguments": decision.arguments, "ok": True, "message": "ok"})
        decision = await stepper.next_action("go", tools, history, {"robot": "runner", "position": "pass", "holding": []})
    assert history == [{"name": "navigate", "arguments": {"target": "pass"}, "ok": True, "message": "ok"}]
    assert decision.summary == "go: 1 call(s)"
    assert stepper.name == "scripted-test"


def test_unknown_stepper_type_is_an_error() -> None:
    with pytest.raises(BrainError, match="unknown stepper type 'nope'"):
        Stepper.create("nope")
