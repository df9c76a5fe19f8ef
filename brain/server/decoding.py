"""One chat completion on a local model: pick the constraint, generate, shape and check the answer.

- `tool_choice` "required" or a named function: the prompt ends with an opened `<tool_call>` and the
  call's JSON is constrained to the tools' schemas, so the answer is always a parseable call;
- `response_format` json_schema (or `guided_json`): constrained to the schema, then validated;
- `tools` with "auto": free generation, `<tool_call>` blocks parsed into `tool_calls`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import jsonschema

from brain.server.errors import APIError
from brain.server.model import Generation, LocalModel
from brain.server.protocol import ChatRequest
from brain.server.tool_calls import CALL_OPEN, call_schema, parse_tool_calls, to_openai_call

__all__ = ["Answer", "complete"]


@dataclass
class Answer:
    message: dict[str, Any]  # the assistant message: role, content, tool_calls (when any)
    generation: Generation


def complete(model: LocalModel, chat: ChatRequest, cancel: threading.Event | None = None) -> Answer:
    """Blocking: run it in a worker thread."""
    tools = chat.tools if chat.tool_choice != "none" else []
    prompt = model.render(chat.messages, tools)
    grammar = None
    if chat.forced_call:
        prompt += CALL_OPEN
        grammar = model.grammars.json_schema(_forced_schema(chat))
    elif chat.schema is not None:
        grammar = model.grammars.json_schema(chat.schema)
    elif chat.json_mode:
        grammar = model.grammars.json_object()
    generation = model.generate(prompt, chat.sampling, grammar=grammar, cancel=cancel)
    return Answer(_message(chat, tools, generation), generation)


def _message(chat: ChatRequest, tools: list[dict[str, Any]], generation: Generation) -> dict[str, Any]:
    constrained = chat.forced_call or chat.schema is not None or chat.json_mode
    if constrained and generation.finish_reason == "length":
        # Cut off before the grammar completed: returned as is with finish_reason "length" (as OpenAI does).
        return {"role": "assistant", "content": generation.text}
    if chat.forced_call:
        return {"role": "assistant", "content": None, "tool_calls": [_forced_call(chat, generation)]}
    if chat.schema is not None or chat.json_mode:
        _check_json(generation, chat.schema or {"type": "object"})
        return {"role": "assistant", "content": generation.text}
    if not tools:
        return {"role": "assistant", "content": generation.text}
    content, calls = parse_tool_calls(generation.text)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return message


def _forced_call(chat: ChatRequest, generation: Generation) -> dict[str, Any]:
    data = _check_json(generation, _forced_schema(chat))
    return to_openai_call(data["name"], data["arguments"])


def _forced_schema(chat: ChatRequest) -> dict[str, Any]:
    """The schema of the call `tool_choice` requires: to any tool ("*") or to the named one."""
    return call_schema(chat.tools, None if chat.forced_call == "*" else chat.forced_call)


def _check_json(generation: Generation, schema: dict[str, Any]) -> Any:
    """The parsed output of a completed generation; a 500 naming the cause when it does not match."""
    shown = generation.text if len(generation.text) <= 300 else generation.text[:300] + "..."
    try:
        data = json.loads(generation.text)
    except json.JSONDecodeError as e:
        raise APIError(f"the model's output is not complete JSON: {e}; output: {shown}", status=500,
                       kind="server_error", code="invalid_output") from e
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        raise APIError(f"the model's output does not match the schema: {error.message}; output: {shown}",
                       status=500, kind="server_error", code="invalid_output")
    return data
