"""Response bodies in OpenAI's (and vLLM's) shapes: completions, stream chunks, log-probabilities, usage."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from brain.server.model import Generation, LocalModel, TokenStep

__all__ = ["Body", "chat_logprobs", "completion_logprobs", "model_list_body", "usage"]


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def generations_usage(generations: Sequence[Generation], prompts: int = 1) -> dict[str, int]:
    """Usage of `generations`: n choices of each of `prompts` prompts; each prompt counts once."""
    per_prompt = len(generations) // prompts
    prompt_tokens = sum(g.prompt_tokens for g in generations[::per_prompt])
    return usage(prompt_tokens, sum(g.completion_tokens for g in generations))


@dataclass
class Body:
    """The envelope shared by one response's body or all its chunks: id, object, created, model."""

    model: str
    object: str  # "chat.completion", "chat.completion.chunk", "text_completion"
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    @classmethod
    def text_completion(cls, model: str) -> Body:
        return cls(model, "text_completion", id=f"cmpl-{uuid.uuid4().hex}")

    def __call__(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None,
                 with_usage: bool = True) -> dict[str, Any]:
        """The body with these choices; `with_usage` False leaves the key out (stream chunks without usage)."""
        body = {"id": self.id, "object": self.object, "created": self.created, "model": self.model,
                "choices": choices}
        if with_usage:
            body["usage"] = usage
        return body


def _token(model: LocalModel, token_id: int, logprob: float) -> dict[str, Any]:
    text = model.token_text(token_id)
    return {"token": text, "logprob": max(logprob, -9999.0), "bytes": list(text.encode())}


def chat_logprobs(model: LocalModel, steps: Sequence[TokenStep]) -> dict[str, Any]:
    """A chat choice's `logprobs`: `{"content": [{token, logprob, bytes, top_logprobs}]}`."""
    content = []
    for step in steps:
        entry = _token(model, step.id, step.logprob or 0.0)
        entry["top_logprobs"] = [_token(model, i, lp) for i, lp in step.top]
        content.append(entry)
    return {"content": content}


def completion_logprobs(model: LocalModel, steps: Sequence[TokenStep], offset: int = 0) -> dict[str, Any]:
    """A completion choice's `logprobs`: tokens, token_logprobs, top_logprobs and text_offset lists."""
    tokens, logprobs, tops, offsets = [], [], [], []
    for step in steps:
        text = model.token_text(step.id)
        tokens.append(text)
        logprobs.append(max(step.logprob or 0.0, -9999.0))
        tops.append({model.token_text(i): max(lp, -9999.0) for i, lp in step.top})
        offsets.append(offset)
        offset += len(text)
    return {"tokens": tokens, "token_logprobs": logprobs, "top_logprobs": tops, "text_offset": offsets}


def model_list_body(name: str, created: int, max_model_len: int) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "roboos",
                                        "root": name, "max_model_len": max_model_len}]}
