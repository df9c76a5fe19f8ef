"""Hermes-style tool calls: the schema a forced call must follow, and parsing model output.

The model writes ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks (the format our
chat template teaches); the server returns them as OpenAI ``tool_calls``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

__all__ = ["CALL_OPEN", "call_schema", "parse_tool_calls", "to_openai_call"]

CALL_OPEN = "<tool_call>\n"
_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


def call_schema(tools: list[dict[str, Any]], only: str | None = None) -> dict[str, Any]:
    """JSON schema of one call `{"name", "arguments"}` to one of `tools` (or only the named one)."""
    options = []
    for tool in tools:
        function = tool["function"]
        if only is not None and function["name"] != only:
            continue
        options.append({
            "type": "object",
            "properties": {
                "name": {"const": function["name"]},
                "arguments": function.get("parameters") or {"type": "object"},
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        })
    return options[0] if len(options) == 1 else {"anyOf": options}


def to_openai_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def parse_tool_calls(text: str) -> tuple[str | None, list[dict[str, Any]]]:
    """Split model output into (content or None, OpenAI tool calls).

    Blocks that are not a JSON object with a string `name` and object `arguments` stay in the content,
    so nothing the model wrote is lost.
    """
    calls: list[dict[str, Any]] = []
    kept: list[str] = []
    last = 0
    for match in _BLOCK.finditer(text):
        call = _parse_block(match.group(1))
        if call is None:
            continue
        kept.append(text[last:match.start()])
        last = match.end()
        calls.append(call)
    kept.append(text[last:])
    content = "".join(kept).strip()
    return (content or None), calls


def _parse_block(body: str) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return None
    if not isinstance(arguments, dict):
        return None
    return to_openai_call(data["name"], arguments)
