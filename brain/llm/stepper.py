"""The LLM step loop for free-text subtasks: one tool call per `next_action`, checked before use.

With `support_tool_calls` the model gets OpenAI `tools` (each skill's full JSON schema as
`parameters`, plus a `finish` tool); without, a text protocol: one fenced JSON
`{"name": ..., "arguments": {...}}` per answer. Either way the model sees the subtask, the robot's
current state and every previous call with its result.

`next_action` returns `StepDecision.finish` when the model calls `finish`, makes no call, repeats
the previous call exactly, or when `max_steps` calls were made; the last three give up rather than
finish: `ok=False`, and a summary that starts with "stopped:". A call naming an unknown tool or with
arguments that do not match the schema is fed back to the model (never returned), up to
`max_attempts` times per step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from brain.llm.client import Completion, LLMClient
from brain.llm.config import LLMConfig
from brain.llm.extraction import extract_json
from brain.step import StepDecision, Stepper
from brain.validation import check_arguments

__all__ = ["FINISH", "LLMStepper", "check_call"]

logger = logging.getLogger(__name__)

FINISH = "finish"
_FINISH_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "description": "what was achieved, or why it cannot be done"}},
    "required": ["summary"],
}
_SYSTEM = (
    "You control the robot {robot}. Carry out the subtask by calling the robot's tools, one call at a time, "
    "using the results of earlier calls. When the subtask is done, or cannot be done, call finish with a "
    "one-sentence summary."
)
_TEXT_PROTOCOL = (
    "\n\nTools (JSON schemas of their arguments):\n{tools}\n\nAnswer with exactly one fenced JSON block and "
    'nothing else:\n```json\n{{"name": "<tool name>", "arguments": {{...}}}}\n```\nTo finish: '
    '```json\n{{"name": "finish", "arguments": {{"summary": "<one sentence>"}}}}\n```'
)


def check_call(name: Any, arguments: Any, tools: Mapping[str, dict[str, Any]]) -> list[str]:
    """Problems with a call of `name` against `tools` (name -> JSON schema); empty when it may run."""
    if not isinstance(name, str) or (name not in tools and name != FINISH):
        return [f"unknown tool {name!r}; the tools are: {', '.join([*sorted(tools), FINISH])}"]
    if not isinstance(arguments, dict):
        return [f"{name}: arguments must be a JSON object, got {type(arguments).__name__}"]
    schema = _FINISH_SCHEMA if name == FINISH else tools[name]
    return [f"{name}: {e}" for e in check_arguments(arguments, schema)]


@Stepper.register("llm")
class LLMStepper(Stepper):
    """Chooses a robot's next tool call with an LLM over an OpenAI-compatible endpoint."""

    def __init__(self, config: LLMConfig | Mapping[str, Any] | None = None, *, client: LLMClient | None = None) -> None:
        self.config = config if isinstance(config, LLMConfig) else LLMConfig.from_dict(config)
        self.client = client or LLMClient(self.config)

    async def close(self) -> None:
        """Close the HTTP client (the stepper cannot be used afterwards)."""
        await self.client.close()

    async def next_action(
        self,
        subtask: str,
        tools: list[dict[str, Any]],
        history: list[dict[str, Any]],
        state: dict[str, Any],
    ) -> StepDecision:
        tools = [_plain(t) for t in tools]
        history = [_plain(h) for h in history]
        if len(history) >= self.config.max_steps:
            return StepDecision.finish(f"stopped: {len(history)} calls made, max_steps={self.config.max_steps}",
                                       ok=False)
        schemas = {t["name"]: _parameters(t) for t in tools}
        messages = self._conversation(subtask, tools, history, state)
        problems: list[str] = []
        for _ in range(self.config.max_attempts):
            completion = await self.client.chat(messages, **self._request(tools))  # LLMError: a BrainError
            name, arguments, problems = _read_call(completion, self.config.support_tool_calls)
            if name is None and not problems:
                return StepDecision.finish(completion.content.strip() if completion.content else "")
            problems = problems or check_call(name, arguments, schemas)
            if not problems:
                return _decision(name, arguments, history)
            logger.info("rejected tool call %s(%s): %s", name, arguments, "; ".join(problems))
            messages += _feedback(completion, problems, self.config.support_tool_calls)
        return StepDecision.finish("stopped: no valid tool call: " + "; ".join(problems), ok=False)

    def _request(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        if not self.config.support_tool_calls:
            return {}
        finish = {"name": FINISH, "description": "End the subtask.", "parameters": _FINISH_SCHEMA}
        specs = [_openai_tool(t) for t in [*tools, finish]]
        return {"tools": specs, "tool_choice": "auto"}

    def _conversation(
        self, subtask: str, tools: list[dict[str, Any]], history: list[dict[str, Any]], state: dict[str, Any]
    ) -> list[dict[str, Any]]:
        system = _SYSTEM.format(robot=state.get("robot") or "robot")
        if not self.config.support_tool_calls:
            listed = "\n".join(json.dumps({"name": t["name"], "description": t.get("description", ""),
                                           "parameters": _parameters(t)}) for t in tools)
            system += _TEXT_PROTOCOL.format(tools=listed)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Subtask: {subtask}\n{_state_text(state)}"},
        ]
        for i, outcome in enumerate(history):
            messages += _history_turn(i, outcome, self.config.support_tool_calls)
        return messages


def _plain(item: Any) -> dict[str, Any]:
    """A dict from a dict or from a dataclass with `to_dict()` (SkillSpec, ToolOutcome)."""
    return item if isinstance(item, dict) else item.to_dict()


def _parameters(tool: dict[str, Any]) -> dict[str, Any]:
    return dict(tool.get("parameters") or tool.get("input_schema") or {"type": "object", "properties": {}})


def _openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = {"name": tool["name"], "description": tool.get("description", ""), "parameters": _parameters(tool)}
    return {"type": "function", "function": function}


def _state_text(state: dict[str, Any]) -> str:
    holding = ", ".join(state.get("holding") or []) or "nothing"
    lines = [f"Robot state: at {state.get('position') or 'an unknown place'}, holding {holding}."]
    scene = state.get("scene")
    if isinstance(scene, dict):
        nodes = scene.get("nodes") or []
        nodes = nodes.values() if isinstance(nodes, dict) else nodes
        facts = [f"{n['name']} {n.get('relation') or 'at'} {n['parent']}" for n in nodes
                 if n.get("parent") and n.get("kind") != "place"]
        lines.append("Scene: " + "; ".join(facts))
    return "\n".join(lines)


def _result_text(outcome: dict[str, Any]) -> str:
    return ("ok: " if outcome.get("ok") else "failed: ") + str(outcome.get("message") or "")


def _history_turn(index: int, outcome: dict[str, Any], native: bool) -> list[dict[str, Any]]:
    call = {"name": outcome["name"], "arguments": outcome.get("arguments") or {}}
    if not native:
        return [
            {"role": "assistant", "content": f"```json\n{json.dumps(call)}\n```"},
            {"role": "user", "content": f"Result: {_result_text(outcome)}"},
        ]
    call_id = f"call_{index + 1}"
    function = {"name": call["name"], "arguments": json.dumps(call["arguments"])}
    return [
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": call_id, "type": "function", "function": function}]},
        {"role": "tool", "tool_call_id": call_id, "content": _result_text(outcome)},
    ]


def _read_call(completion: Completion, native: bool) -> tuple[str | None, Any, list[str]]:
    """(tool name or None for no call, arguments, problems reading it)."""
    if native and completion.tool_calls:
        call = completion.tool_calls[0]
        try:
            return call["name"], json.loads(call["arguments"] or "{}"), []
        except json.JSONDecodeError as e:
            return call["name"], None, [f"{call['name']}: arguments are not valid JSON: {e}"]
    text = completion.content or ""
    try:
        data = extract_json(text)
    except ValueError as e:
        # In the text protocol a broken JSON block is a bad call; plain prose is no call at all.
        looks_like_call = not native and ("{" in text or "```" in text)
        return None, None, [str(e)] if looks_like_call else []
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None, None, ['expected {"name": ..., "arguments": {...}}'] if not native else []
    return data["name"], data.get("arguments", {}), []


def _decision(name: str | None, arguments: Any, history: list[dict[str, Any]]) -> StepDecision:
    if name == FINISH:
        return StepDecision.finish(str(arguments.get("summary", "")))
    last = history[-1] if history else None
    if last is not None and last.get("name") == name and (last.get("arguments") or {}) == arguments:
        return StepDecision.finish(f"stopped: the model repeated the call {name}({json.dumps(arguments)})",
                                   ok=False)
    return StepDecision.call(name or "", arguments)


def _feedback(completion: Completion, problems: list[str], native: bool) -> list[dict[str, Any]]:
    text = "That call was not run: " + "; ".join(problems) + ". Nothing was sent to the robot; try again."
    if native and completion.tool_calls:
        reply = completion.assistant_message()
        reply["tool_calls"] = reply["tool_calls"][:1]
        return [reply, {"role": "tool", "tool_call_id": completion.tool_calls[0]["id"], "content": text}]
    return [{"role": "assistant", "content": completion.content or ""}, {"role": "user", "content": text}]
