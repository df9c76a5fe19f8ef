"""The OpenAI chat-completions request, checked once, and the response body built from a generation."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from brain.server.errors import APIError
from brain.server.model import Generation, Sampling

__all__ = ["ChatRequest", "completion_body", "model_list_body"]

_ROLES = {"system", "developer", "user", "assistant", "tool"}


@dataclass
class ChatRequest:
    """What a `/v1/chat/completions` body asks for.

    `tool_choice` is "none", "auto", "required" or the name of a function. `schema` is the JSON schema
    the answer must follow (`response_format` json_schema, or vLLM's legacy `guided_json`); `json_mode`
    is `response_format` json_object.
    """

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"
    schema: dict[str, Any] | None = None
    json_mode: bool = False
    sampling: Sampling = field(default_factory=Sampling)

    @property
    def forced_call(self) -> str | None:
        """"*" when a call to any tool is required, a function name when one is, else None."""
        if not self.tools or self.tool_choice in ("none", "auto"):
            return None
        return "*" if self.tool_choice == "required" else self.tool_choice

    @classmethod
    def from_dict(cls, data: Any, *, max_tokens_limit: int) -> ChatRequest:
        if not isinstance(data, dict):
            raise APIError("the request body must be a JSON object")
        if data.get("stream"):
            raise APIError("stream=true is not supported by this server; send stream=false", param="stream")
        if data.get("n", 1) != 1:
            raise APIError("only n=1 is supported", param="n")
        tools = _tools(data.get("tools"))
        schema, json_mode = _response_format(data.get("response_format"), data.get("guided_json"))
        return cls(
            model=_string(data, "model"),
            messages=_messages(data.get("messages")),
            tools=tools,
            tool_choice=_tool_choice(data.get("tool_choice"), tools),
            schema=schema,
            json_mode=json_mode,
            sampling=_sampling(data, max_tokens_limit),
        )


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise APIError(f"{key} must be a non-empty string", param=key)
    return value


def _messages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise APIError("messages must be a non-empty list", param="messages")
    messages = []
    for i, message in enumerate(value):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise APIError(f"messages[{i}] needs a role, one of {sorted(_ROLES)}", param=f"messages[{i}]")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise APIError(f"messages[{i}].content must be a string, a list of parts or null",
                           param=f"messages[{i}].content")
        role = "system" if message["role"] == "developer" else message["role"]
        messages.append({**message, "role": role})
    return messages


def _tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise APIError("tools must be a list", param="tools")
    for i, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise APIError(f'tools[{i}] must be {{"type": "function", "function": {{"name": ...}}}}',
                           param=f"tools[{i}]")
        if not isinstance(function.get("parameters", {}), dict):
            raise APIError(f"tools[{i}].function.parameters must be a JSON schema object",
                           param=f"tools[{i}].function.parameters")
    return value


def _tool_choice(value: Any, tools: list[dict[str, Any]]) -> str:
    if value is None:
        return "auto"
    if value in ("none", "auto", "required"):
        return value
    name = value.get("function", {}).get("name") if isinstance(value, dict) else None
    names = [t["function"]["name"] for t in tools]
    if name not in names:
        raise APIError(f"tool_choice must be none, auto, required or a function among the tools {names}",
                       param="tool_choice")
    return name


def _response_format(value: Any, guided_json: Any) -> tuple[dict[str, Any] | None, bool]:
    if guided_json is not None:
        if not isinstance(guided_json, dict):
            raise APIError("guided_json must be a JSON schema object", param="guided_json")
        return guided_json, False
    if value is not None and not isinstance(value, dict):
        raise APIError("response_format must be an object", param="response_format")
    if value is None or value.get("type") == "text":
        return None, False
    if value.get("type") == "json_object":
        return None, True
    if value.get("type") == "json_schema":
        schema = (value.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise APIError("response_format.json_schema.schema must be a JSON schema object",
                           param="response_format")
        return schema, False
    raise APIError("response_format.type must be text, json_object or json_schema", param="response_format")


def _sampling(data: dict[str, Any], limit: int) -> Sampling:
    max_tokens = data.get("max_completion_tokens", data.get("max_tokens")) or limit
    if not isinstance(max_tokens, int) or not 0 < max_tokens <= limit:
        raise APIError(f"max_tokens must be an integer from 1 to {limit} (the server's --max-tokens)",
                       param="max_tokens")
    temperature = _number(data, "temperature", 1.0, 0.0, 2.0)
    top_p = _number(data, "top_p", 1.0, 0.0, 1.0)
    stop = data.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop):
        raise APIError("stop must be a string or a list of strings", param="stop")
    seed = data.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise APIError("seed must be an integer", param="seed")
    return Sampling(max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed)


def _number(data: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise APIError(f"{key} must be a number from {low} to {high}", param=key)
    return float(value)


def completion_body(model: str, message: dict[str, Any], generation: Generation) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else generation.finish_reason
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": generation.prompt_tokens,
            "completion_tokens": generation.completion_tokens,
            "total_tokens": generation.prompt_tokens + generation.completion_tokens,
        },
    }


def model_list_body(name: str, created: int) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "roboos"}]}
