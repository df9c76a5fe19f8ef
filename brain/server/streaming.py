"""Streaming: generated tokens turned into OpenAI stream chunks, and those into server-sent events.

Text is sent as it is generated, except what could still turn out to be part of a stop string or of
a `<tool_call>` opener, and a partial UTF-8 character. Tool calls are sent when the generation ends
(as in the non-streamed answer, which is where they are parsed): one chunk with the call's index, id,
type and function name, then one with its arguments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from brain.server.decoding import Answer
from brain.server.model import Generation, LocalModel, TokenStep
from brain.server.responses import Body, chat_logprobs, completion_logprobs
from brain.server.tool_calls import CALL_OPEN

__all__ = ["ChatChunks", "CompletionChunks", "TextDeltas", "sse"]

DONE = "data: [DONE]\n\n"


def sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"


class TextDeltas:
    """The text of a growing list of tokens, given out in pieces that are safe to send."""

    def __init__(self, model: LocalModel, watch: Sequence[str] = (), *, hold_all: bool = False) -> None:
        self._model = model
        self._watch = [w for w in watch if w]
        self._hold_all = hold_all
        self._ids: list[int] = []
        self.sent = ""
        self.stopped = False  # a watched string appeared: nothing more is sent

    def push(self, token_id: int) -> str:
        self._ids.append(token_id)
        if self.stopped or self._hold_all:
            return ""
        text = self._model.tokenizer.decode(self._ids, skip_special_tokens=True)
        end = len(text.rstrip("\ufffd"))
        for word in self._watch:
            found = text.find(word, max(0, len(self.sent) - len(word)))
            if found >= 0:
                end, self.stopped = min(end, found), True
        if not self.stopped:
            end = min(end, len(text) - self._partial_tail(text))
        delta = text[len(self.sent):max(end, len(self.sent))]
        self.sent += delta
        return delta

    def rest(self, final_text: str) -> str:
        """What `final_text` (the whole answer) holds beyond what was sent."""
        return final_text[len(self.sent):] if final_text.startswith(self.sent) else ""

    def _partial_tail(self, text: str) -> int:
        """Length of the longest end of `text` that begins a watched string."""
        longest = max((len(w) for w in self._watch), default=1) - 1
        for size in range(min(longest, len(text)), 0, -1):
            if any(w.startswith(text[-size:]) for w in self._watch):
                return size
        return 0


class ChatChunks:
    """`chat.completion.chunk` bodies for one streamed chat completion with `n` choices."""

    def __init__(self, model: LocalModel, *, n: int, stops: Sequence[str], tools: bool, forced_call: bool,
                 logprobs: bool, include_usage: bool) -> None:
        self._model = model
        self._body = Body(model.name, "chat.completion.chunk")
        markers = [*stops, CALL_OPEN.strip()] if tools else list(stops)
        self._texts = [TextDeltas(model, markers, hold_all=forced_call) for _ in range(n)]
        self._logprobs = logprobs
        self._include_usage = include_usage

    def opening(self) -> list[dict[str, Any]]:
        """The first chunk of each choice: the assistant role."""
        return [self._chunk(i, {"role": "assistant", "content": ""}) for i in range(len(self._texts))]

    def token(self, index: int, step: TokenStep) -> dict[str, Any] | None:
        text = self._texts[index].push(step.id)
        if not text and not self._logprobs:
            return None
        logprobs = chat_logprobs(self._model, [step]) if self._logprobs else None
        return self._chunk(index, {"content": text}, logprobs=logprobs)

    def closing(self, index: int, answer: Answer) -> list[dict[str, Any]]:
        """The rest of one choice's content, its tool calls, and its finish reason."""
        message, chunks = answer.message, []
        calls = message.get("tool_calls") or []
        rest = "" if calls else self._texts[index].rest(answer.generation.text)
        if rest:
            chunks.append(self._chunk(index, {"content": rest}))
        for k, call in enumerate(calls):
            function = call["function"]
            chunks.append(self._chunk(index, {"tool_calls": [{"index": k, "id": call["id"], "type": "function",
                                                              "function": {"name": function["name"],
                                                                           "arguments": ""}}]}))
            chunks.append(self._chunk(index, {"tool_calls": [{"index": k,
                                                              "function": {"arguments": function["arguments"]}}]}))
        finish = "tool_calls" if calls else answer.generation.finish_reason
        chunks.append(self._chunk(index, {}, finish=finish))
        return chunks

    def usage(self, value: dict[str, int]) -> dict[str, Any] | None:
        """The last chunk (no choices, the usage) when the client asked for it with stream_options."""
        return self._body([], value) if self._include_usage else None

    def _chunk(self, index: int, delta: dict[str, Any], *, logprobs: dict[str, Any] | None = None,
               finish: str | None = None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return self._body([choice], None, with_usage=self._include_usage)


class CompletionChunks:
    """`text_completion` chunks for one streamed completion: `n` choices for each prompt."""

    def __init__(self, model: LocalModel, *, choices: int, stops: Sequence[str], logprobs: bool,
                 include_usage: bool) -> None:
        self._model = model
        self._body = Body.text_completion(model.name)
        self._texts = [TextDeltas(model, stops) for _ in range(choices)]
        self._offsets = [0] * choices
        self._logprobs = logprobs
        self._include_usage = include_usage

    def echo(self, index: int, prompt: str) -> dict[str, Any]:
        self._offsets[index] = len(prompt)
        return self._chunk(index, prompt)

    def token(self, index: int, step: TokenStep) -> dict[str, Any] | None:
        text = self._texts[index].push(step.id)
        if not text and not self._logprobs:
            return None
        logprobs = None
        if self._logprobs:
            logprobs = completion_logprobs(self._model, [step], self._offsets[index])
            self._offsets[index] += len(self._model.token_text(step.id))
        return self._chunk(index, text, logprobs=logprobs)

    def closing(self, index: int, generation: Generation) -> list[dict[str, Any]]:
        rest = self._texts[index].rest(generation.text)
        return [self._chunk(index, rest, finish=generation.finish_reason)]

    def usage(self, value: dict[str, int]) -> dict[str, Any] | None:
        return self._body([], value) if self._include_usage else None

    def _chunk(self, index: int, text: str, *, logprobs: dict[str, Any] | None = None,
               finish: str | None = None) -> dict[str, Any]:
        choice = {"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish}
        return self._body([choice], None, with_usage=self._include_usage)
