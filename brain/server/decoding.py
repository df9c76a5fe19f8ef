"""One chat completion on a local model: pick the constraint, generate, shape and check the answer.

- `tool_choice` "required" or a named function: the prompt ends with an opened `<tool_call>` and the
  call's JSON is constrained to the tools' schemas, so the answer is always a parseable call;
- structured output (`response_format`, `structured_outputs`, `guided_*`): constrained by its grammar;
  JSON is then validated against the schema;
- `tools` with "auto": free generation, `<tool_call>` blocks parsed into `tool_calls`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import jsonschema

from brain.server.errors import APIError
from brain.server.model import Generation, LocalModel, Sampling, TokenStep
from brain.server.protocol import ChatRequest, CompletionRequest, Options
from brain.server.structure import Structure, StructureKind
from brain.server.tool_calls import CALL_OPEN, call_schema, parse_tool_calls, to_openai_call

__all__ = ["Answer", "OnToken", "Prompt", "complete", "complete_text", "prepare", "text_grammar", "uses_tools"]

OnToken = Callable[[TokenStep], None]


@dataclass
class Answer:
    message: dict[str, Any]  # the assistant message: role, content, tool_calls (when any)
    generation: Generation


def uses_tools(chat: ChatRequest) -> bool:
    return bool(chat.tools) and chat.tool_choice != "none"


@dataclass
class Prompt:
    """The rendered prompt of a chat and the compiled grammar its answer must follow (None: free)."""

    text: str
    grammar: Any = None


def prepare(model: LocalModel, chat: ChatRequest) -> Prompt:
    """Blocking: render the chat and compile its constraint (a 400 here comes before any streaming starts)."""
    prompt = Prompt(model.render(chat.messages, chat.tools if uses_tools(chat) else []))
    if chat.forced_call:
        prompt.text += CALL_OPEN
        prompt.grammar = model.grammars.json_schema(_forced_schema(chat))
    elif chat.structure is not None:
        prompt.grammar = model.grammars.for_structure(chat.structure)
    return prompt


def complete(model: LocalModel, chat: ChatRequest, prompt: Prompt, cancel: threading.Event | None = None,
             on_token: OnToken | None = None, choice: int = 0) -> Answer:
    """Blocking (run it in a worker thread): the `choice`-th answer to `chat`."""
    generation = model.generate(prompt.text, _sampling_of(chat.options, choice), grammar=prompt.grammar,
                                cancel=cancel, on_token=on_token, logprobs=chat.options.logprobs)
    return Answer(_message(chat, generation), generation)


def text_grammar(model: LocalModel, request: CompletionRequest) -> Any:
    """Blocking: the compiled grammar of a completion request's structured output, or None."""
    structure = request.options.structure
    return model.grammars.for_structure(structure) if structure is not None else None


def complete_text(model: LocalModel, request: CompletionRequest, prompt: Prompt,
                  cancel: threading.Event | None = None, on_token: OnToken | None = None,
                  choice: int = 0) -> Generation:
    """Blocking: the `choice`-th completion of one of the request's prompts (echo is left to the caller)."""
    generation = model.generate(prompt.text, _sampling_of(request.options, choice), grammar=prompt.grammar,
                                cancel=cancel, on_token=on_token, logprobs=request.options.logprobs,
                                add_special_tokens=True)
    structure = request.options.structure
    if structure is not None and generation.finish_reason != "length":
        _check_structured(structure, generation)
    return generation


def _sampling_of(options: Options, choice: int) -> Sampling:
    """The request's sampling; later choices get their own seed, so n>1 with a seed gives n different samples."""
    sampling = options.sampling
    if choice == 0 or sampling.seed is None:
        return sampling
    return replace(sampling, seed=sampling.seed + choice)


def _message(chat: ChatRequest, generation: Generation) -> dict[str, Any]:
    constrained = chat.forced_call or chat.structure is not None
    if constrained and generation.finish_reason == "length":
        # Cut off before the grammar completed: returned as is with finish_reason "length" (as OpenAI does).
        return {"role": "assistant", "content": generation.text}
    if chat.forced_call:
        return {"role": "assistant", "content": None, "tool_calls": [_forced_call(chat, generation)]}
    if chat.structure is not None:
        _check_structured(chat.structure, generation)
        return {"role": "assistant", "content": generation.text}
    if not uses_tools(chat):
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


def _check_structured(structure: Structure, generation: Generation) -> None:
    """JSON output is checked against its schema; the other kinds are as their grammar made them."""
    if structure.kind in (StructureKind.JSON, StructureKind.JSON_OBJECT):
        _check_json(generation, structure.spec or {"type": "object"})


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
