"""The OpenAI requests `roboos brain serve` answers, each checked once: chat completions and completions.

Fields the server does not know are ignored (as OpenAI's and vLLM's servers do); a field it knows but
cannot honour is a 400 naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brain.server.errors import APIError
from brain.server.model import Sampling
from brain.server.structure import Structure, read_structure

__all__ = ["ChatRequest", "CompletionRequest"]

_ROLES = {"system", "developer", "user", "assistant", "tool"}
_MEDIA_PARTS = {"image_url", "image", "input_image", "image_pil", "image_embeds", "video_url", "video",
                "input_audio", "audio_url", "audio", "file"}
MAX_LOGPROBS = 20
MAX_CHOICES = 8


@dataclass
class Options:
    """What chat completions and completions share: sampling, choices, streaming, log-probabilities."""

    sampling: Sampling = field(default_factory=Sampling)
    n: int = 1
    stream: bool = False
    include_usage: bool = False  # stream_options.include_usage: a last chunk with the usage
    logprobs: int | None = None  # None: none; k: each token's log-probability and its k top alternatives
    structure: Structure | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], max_tokens_limit: int, logprobs: int | None) -> Options:
        n = data.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_CHOICES:
            raise APIError(f"n must be an integer from 1 to {MAX_CHOICES}", param="n")
        stream = data.get("stream") or False
        if not isinstance(stream, bool):
            raise APIError("stream must be true or false", param="stream")
        stream_options = data.get("stream_options") or {}
        if not isinstance(stream_options, dict):
            raise APIError("stream_options must be an object", param="stream_options")
        return cls(sampling=_sampling(data, max_tokens_limit), n=n, stream=stream,
                   include_usage=bool(stream and stream_options.get("include_usage")), logprobs=logprobs,
                   structure=read_structure(data))


@dataclass
class ChatRequest:
    """What a `/v1/chat/completions` body asks for.

    `tool_choice` is "none", "auto", "required" or the name of a function. `logprobs` and
    `top_logprobs` become `options.logprobs`.
    """

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"
    options: Options = field(default_factory=Options)

    @property
    def forced_call(self) -> str | None:
        """"*" when a call to any tool is required, a function name when one is, else None."""
        if not self.tools or self.tool_choice in ("none", "auto"):
            return None
        return "*" if self.tool_choice == "required" else self.tool_choice

    @property
    def sampling(self) -> Sampling:
        return self.options.sampling

    @property
    def structure(self) -> Structure | None:
        return self.options.structure

    @classmethod
    def from_dict(cls, data: Any, *, max_tokens_limit: int) -> ChatRequest:
        if not isinstance(data, dict):
            raise APIError("the request body must be a JSON object")
        tools = _tools(data.get("tools"))
        return cls(
            model=_string(data, "model"),
            messages=_messages(data.get("messages")),
            tools=tools,
            tool_choice=_tool_choice(data.get("tool_choice"), tools),
            options=Options.from_dict(data, max_tokens_limit, _chat_logprobs(data)),
        )


@dataclass
class CompletionRequest:
    """What a `/v1/completions` body asks for: one or more prompts, each completed `options.n` times."""

    model: str
    prompts: list[str]
    echo: bool = False
    options: Options = field(default_factory=Options)

    @classmethod
    def from_dict(cls, data: Any, *, max_tokens_limit: int) -> CompletionRequest:
        if not isinstance(data, dict):
            raise APIError("the request body must be a JSON object")
        prompt = data.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise APIError("prompt must be a string or a non-empty list of strings (token-id prompts are not "
                           "supported)", param="prompt")
        logprobs = data.get("logprobs")
        if logprobs is not None and (not isinstance(logprobs, int) or isinstance(logprobs, bool)
                                     or not 0 <= logprobs <= MAX_LOGPROBS):
            raise APIError(f"logprobs must be an integer from 0 to {MAX_LOGPROBS}", param="logprobs")
        echo = data.get("echo") or False
        if echo and logprobs is not None:
            raise APIError("echo with logprobs (the prompt's log-probabilities) is not supported; drop one",
                           param="echo")
        return cls(model=_string(data, "model"), prompts=prompts, echo=bool(echo),
                   options=Options.from_dict(data, max_tokens_limit, logprobs))


def _chat_logprobs(data: dict[str, Any]) -> int | None:
    top = data.get("top_logprobs")
    if top is not None and (not isinstance(top, int) or isinstance(top, bool) or not 0 <= top <= MAX_LOGPROBS):
        raise APIError(f"top_logprobs must be an integer from 0 to {MAX_LOGPROBS}", param="top_logprobs")
    wanted = data.get("logprobs")
    if wanted is not None and not isinstance(wanted, bool):
        raise APIError("logprobs must be true or false on chat completions", param="logprobs")
    if not wanted:
        if top:
            raise APIError("top_logprobs needs logprobs=true", param="top_logprobs")
        return None
    return top or 0


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
        if isinstance(content, list):
            _check_parts(content, f"messages[{i}].content")
        role = "system" if message["role"] == "developer" else message["role"]
        messages.append({**message, "role": role})
    return messages


def _check_parts(parts: list[Any], where: str) -> None:
    for j, part in enumerate(parts):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _MEDIA_PARTS:
            raise APIError(f"this model is text-only: {where}[{j}] is a {kind} part; send text parts only",
                           param=f"{where}[{j}]", code="unsupported_content")
        if kind != "text" or not isinstance(part.get("text"), str):
            raise APIError(f'{where}[{j}] must be a text part {{"type": "text", "text": ...}}, got type {kind!r}',
                           param=f"{where}[{j}]")


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
