"""vLLM's `POST /tokenize` and `POST /detokenize`: the model's tokens of a prompt or a chat, and back.

    {"model": M, "prompt": "text"}            -> {"count", "max_model_len", "tokens", "token_strs"}
    {"model": M, "messages": [...]}           -> the same, of the rendered chat (add_generation_prompt)
    {"model": M, "tokens": [1, 2, 3]}         -> {"prompt": "text"}
"""

from __future__ import annotations

from typing import Any

from brain.server.errors import APIError
from brain.server.model import LocalModel
from brain.server.protocol import ChatRequest

__all__ = ["check_model", "detokenize_body", "tokenize_body"]


def check_model(asked: Any, model: LocalModel) -> None:
    """A 404 (OpenAI's `model_not_found`) when a request names another model than the one served."""
    if asked != model.name:
        raise APIError(f"model {asked!r} is not served here; this server serves {model.name!r}",
                       status=404, code="model_not_found", param="model")


def tokenize_body(model: LocalModel, data: dict[str, Any]) -> dict[str, Any]:
    check_model(data.get("model", model.name), model)
    if "messages" in data:
        chat = ChatRequest.from_dict({"model": model.name, "messages": data["messages"], "tools": data.get("tools")},
                                     max_tokens_limit=1)
        text = model.tokenizer.apply_chat_template(
            chat.messages, tools=chat.tools or None, chat_template=model.chat_template, tokenize=False,
            add_generation_prompt=_flag(data, "add_generation_prompt", True))
        tokens = model.encode(text, add_special_tokens=_flag(data, "add_special_tokens", False))
    elif isinstance(data.get("prompt"), str):
        tokens = model.encode(data["prompt"], add_special_tokens=_flag(data, "add_special_tokens", True))
    else:
        raise APIError('give "prompt" (a string) or "messages" (a chat) to tokenize', param="prompt")
    strs = model.tokenizer.convert_ids_to_tokens(tokens) if _flag(data, "return_token_strs", False) else None
    return {"count": len(tokens), "max_model_len": model.max_model_len, "tokens": tokens, "token_strs": strs}


def detokenize_body(model: LocalModel, data: dict[str, Any]) -> dict[str, Any]:
    check_model(data.get("model", model.name), model)
    tokens = data.get("tokens")
    vocab = len(model.tokenizer)
    if not isinstance(tokens, list) or not all(isinstance(t, int) and 0 <= t < vocab for t in tokens):
        raise APIError(f"tokens must be a list of token ids from 0 to {vocab - 1}", param="tokens")
    return {"prompt": model.tokenizer.decode(tokens)}


def _flag(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise APIError(f"{key} must be true or false", param=key)
    return value
