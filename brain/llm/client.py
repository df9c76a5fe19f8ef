"""One chat request to an OpenAI-compatible endpoint, with a hard timeout and no hidden retries.

The planner and the step loop retry themselves (with the model's mistakes fed back), so the
openai client is built with `max_retries=0`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import openai

from brain.errors import BrainError
from brain.llm.config import LLMConfig

__all__ = ["Completion", "LLMClient", "LLMError"]

logger = logging.getLogger(__name__)


class LLMError(BrainError):
    """The endpoint failed: unreachable, an HTTP error, a timeout or an empty answer."""


@dataclass
class Completion:
    """The first choice of a chat completion, with its usage."""

    content: str | None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "arguments" (JSON text)}
    finish_reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0

    def assistant_message(self) -> dict[str, Any]:
        """The answer as a message to put back into the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in self.tool_calls
            ]
        return message


class LLMClient:
    """`chat()` against `config.base_url` with `config.model`."""

    def __init__(self, config: LLMConfig, client: openai.AsyncOpenAI | None = None) -> None:
        self.config = config
        self._client = client or openai.AsyncOpenAI(
            base_url=config.base_url, api_key=config.api_key or "none", timeout=config.timeout_s, max_retries=0
        )

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """One completion; `schema` asks for JSON following it the way `structured_output` says."""
        request: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": max_tokens or self.config.max_tokens,
        }
        if tools:
            request.update(tools=tools, tool_choice=tool_choice or "auto")
        if schema is not None:
            request.update(self._structured(schema))
        started = time.perf_counter()
        response = await self._send(request)
        return _completion(response, time.perf_counter() - started)

    def _structured(self, schema: dict[str, Any]) -> dict[str, Any]:
        mode = self.config.structured_output
        if mode == "json_schema":
            return {"response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}}
        if mode == "guided_json":
            return {"extra_body": {"guided_json": schema}}
        return {}

    async def _send(self, request: dict[str, Any]) -> Any:
        where = f"{self.config.base_url} (model {self.config.model})"
        try:
            async with asyncio.timeout(self.config.timeout_s):
                return await self._client.chat.completions.create(**request)
        except (TimeoutError, openai.APITimeoutError) as e:
            raise LLMError(f"{where} gave no answer within timeout_s={self.config.timeout_s:g}") from e
        except openai.APIStatusError as e:
            raise LLMError(f"{where} answered HTTP {e.status_code}: {_error_text(e)}") from e
        except openai.APIConnectionError as e:
            raise LLMError(f"cannot reach {where}: {e}; is the server running?") from e
        except openai.OpenAIError as e:
            raise LLMError(f"{where}: {e}") from e

    async def close(self) -> None:
        await self._client.close()


def _completion(response: Any, latency_s: float) -> Completion:
    if not getattr(response, "choices", None):
        raise LLMError("the endpoint answered with no choices")
    choice = response.choices[0]
    message = choice.message
    calls = [
        {"id": c.id or f"call_{i}", "name": c.function.name, "arguments": c.function.arguments or "{}"}
        for i, c in enumerate(message.tool_calls or [])
        if getattr(c, "function", None) is not None
    ]
    usage = response.usage
    return Completion(
        content=message.content,
        tool_calls=calls,
        finish_reason=choice.finish_reason or "",
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        latency_s=latency_s,
    )


def _error_text(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(error.message)
