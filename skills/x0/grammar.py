"""Logits processors for X0 generation: the output grammar, and forced sequences for tests.

:class:`ActionGrammar` only lets the model say what the contract can parse: (subtask mode) some
text, then ``<boa>``, then action tokens spelling exactly horizon x dim FAST coefficients within a
bound, then ``<eoa>``. A trained checkpoint already speaks this; the grammar guarantees it for the
untrained demo model (whose free output would rarely decode) and costs a trained one nothing but a
mask. :class:`ForcedTokens` emits a fixed sequence regardless of the model.

Both are plain callables ``(input_ids, scores) -> scores`` as transformers' ``generate`` expects in
``logits_processor``; batch size 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skills.x0.codec import FastTokenizer
from skills.x0.contract import ACTION_TOKEN_OFFSET, BOA_TOKEN_ID, EOA_TOKEN_ID

__all__ = ["ActionGrammar", "ForcedTokens"]


class ForcedTokens:
    """Emit ``sequence`` one token per step after the prompt, then ``end_id`` forever."""

    def __init__(self, sequence: Sequence[int], prompt_length: int, end_id: int = EOA_TOKEN_ID) -> None:
        self.sequence = list(sequence)
        self.prompt_length = prompt_length
        self.end_id = end_id

    def __call__(self, input_ids, scores):
        step = input_ids.shape[1] - self.prompt_length
        target = self.sequence[step] if step < len(self.sequence) else self.end_id
        return _only(scores, [target])


class ActionGrammar:
    """Constrain generation to ``[text] <boa> action-tokens <eoa>`` that decode to a whole chunk."""

    def __init__(self, codec: FastTokenizer, *, horizon: int, action_dim: int, prompt_length: int,
                 subtask: bool, text_vocab_size: int = ACTION_TOKEN_OFFSET, max_text_tokens: int = 32,
                 coefficient_bound: int = 100) -> None:
        self.prompt_length = prompt_length
        self.subtask = subtask
        self.text_vocab_size = text_vocab_size
        self.max_text_tokens = max_text_tokens
        self.limit = horizon * action_dim
        self.char_counts = _char_counts(codec, coefficient_bound)  # action id -> coefficients it spells
        if 1 not in self.char_counts.values():
            raise ValueError("the action tokenizer has no single-coefficient token: the grammar could dead-end")
        self._ids = np.array(list(self.char_counts), dtype=np.int64) + ACTION_TOKEN_OFFSET
        self._counts = np.array(list(self.char_counts.values()), dtype=np.int64)

    def __call__(self, input_ids, scores):
        generated = input_ids[0, self.prompt_length:].tolist()
        if BOA_TOKEN_ID not in generated:
            return self._text_step(scores, len(generated))
        actions = generated[generated.index(BOA_TOKEN_ID) + 1:]
        spelled = sum(self.char_counts.get(t - ACTION_TOKEN_OFFSET, 0) for t in actions)
        if spelled >= self.limit:
            return _only(scores, [EOA_TOKEN_ID])
        return _only(scores, self._ids[self._counts <= self.limit - spelled].tolist())

    def _text_step(self, scores, text_tokens: int):
        if not self.subtask or text_tokens >= self.max_text_tokens:
            return _only(scores, [BOA_TOKEN_ID])
        masked = scores.clone()
        masked[:, self.text_vocab_size:] = float("-inf")
        masked[:, BOA_TOKEN_ID] = scores[:, BOA_TOKEN_ID]
        return masked


def _char_counts(codec: FastTokenizer, bound: int) -> dict[int, int]:
    """Action tokens that spell whole characters whose coefficients lie within +-bound."""
    counts = {}
    for token_id in range(codec.bpe.get_vocab_size()):
        try:
            text = codec.token_text(token_id).decode("utf-8")
        except (UnicodeDecodeError, KeyError):
            continue
        coefficients = [ord(ch) + codec.min_token for ch in text]
        if text and all(-bound <= c <= bound for c in coefficients):
            counts[token_id] = len(text)
    return counts


def _only(scores, allowed: Sequence[int]):
    masked = scores.new_full(scores.shape, float("-inf"))
    masked[:, allowed] = scores[:, allowed]
    return masked
