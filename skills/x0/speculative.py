"""Lossless faster X0 decoding: draft tokens, verify them in one forward pass (speculative greedy).

Greedy decoding picks, at each position, the highest-scoring token after the logits processors
(the action grammar). Here a draft of up to ``max_draft`` tokens is guessed, the model scores the
last token and the whole draft in one forward pass, and the draft is kept up to its first token
that differs from what greedy decoding picks at that position; the token greedy picks there is
kept too. Every kept token is the model's own greedy choice given the tokens before it, so the
output is greedy decoding's whatever the draft (a wrong draft costs a slightly longer forward
pass, no accuracy), exactly so where a pass over several tokens scores them as one-token passes
do (float32; cuBLAS bfloat16 in our runs). Kernels whose rounding depends on the tokens per pass
(FlagGems' bfloat16 ones, seen on an H200) can turn a near-tie the other way. The key-value cache
is cut back to the kept tokens after each pass.

Drafts (no second model):
- ``previous``: the last chunk's tokens, from where the text generated so far last matched them
  (consecutive chunks of a robot differ little: the same subtask, similar action tokens);
- ``prompt``: prompt lookup, the tokens that followed the last match of the newest n-gram in the
  prompt and the output so far.
No draft is tried where neither source matches, so an unpredictable output costs a plain greedy
step; the draft length adapts (longer after a full hit, shorter after a miss), and after two drafts
in a row were wrong from their first token, none is tried for the next 8 tokens.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DRAFT_SOURCES", "DecodeStats", "find_draft", "speculative_greedy"]

DRAFT_SOURCES = ("none", "previous", "prompt", "both")
MAX_NGRAM = 3
MIN_DRAFT = 2
PAUSE_AFTER_MISSES = 2  # drafts rejected outright this many times in a row: stop drafting for a while
PAUSE_TOKENS = 8


@dataclass
class DecodeStats:
    """What one decoding did: forward passes, drafted and accepted tokens."""

    forwards: int = 0
    drafted: int = 0
    accepted: int = 0
    sources: dict[str, int] = field(default_factory=dict)  # accepted tokens by draft source
    prefill_s: float = 0.0  # the prompt and images, once
    decode_s: float = 0.0  # every token after that

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"forwards": self.forwards, "drafted": self.drafted, "accepted": self.accepted,
                "acceptance": round(self.acceptance, 4), "sources": dict(self.sources),
                "prefill_s": self.prefill_s, "decode_s": self.decode_s}


def find_draft(generated: Sequence[int], previous: Sequence[int], prompt: Sequence[int], length: int,
               source: str) -> tuple[list[int], str]:
    """Up to ``length`` guessed next tokens and where they came from ("" when none matched)."""
    if length <= 0 or source == "none":
        return [], ""
    if source in ("previous", "both") and previous:
        draft = _aligned(generated, previous, length)
        if draft:
            return draft, "previous"
    if source in ("prompt", "both") and generated:
        draft = _looked_up(generated, prompt, length)
        if draft:
            return draft, "prompt"
    return [], ""


def _aligned(generated: Sequence[int], previous: Sequence[int], length: int) -> list[int]:
    """What followed, in the previous chunk, the longest suffix of ``generated`` (3 to 1 tokens)
    found there, taking the match nearest to the same position (chunks run in step)."""
    if not generated:
        return list(previous[:length])
    here = len(generated)
    for n in range(min(MAX_NGRAM, here), 0, -1):
        suffix = list(generated[-n:])
        ends = [start + n for start in range(len(previous) - n + 1) if list(previous[start:start + n]) == suffix]
        ends = [end for end in ends if end < len(previous)]
        if ends:
            end = min(ends, key=lambda e: abs(e - here))
            return list(previous[end:end + length])
    return []


def _looked_up(generated: Sequence[int], prompt: Sequence[int], length: int) -> list[int]:
    """Prompt lookup: what followed the last earlier occurrence, in the prompt and the output so
    far, of the longest suffix of ``generated`` (3 to 1 tokens)."""
    text = [*prompt, *generated]
    for n in range(min(MAX_NGRAM, len(generated)), 0, -1):
        suffix = text[-n:]
        for start in range(len(text) - n - 1, -1, -1):
            if text[start:start + n] == suffix:
                return text[start + n:start + n + length]
    return []


def speculative_greedy(model: Any, inputs: dict[str, Any], processors: Sequence[Any], *, max_new_tokens: int,
                       end_ids: Sequence[int], previous: Sequence[int] = (), source: str = "both",
                       max_draft: int = 8) -> tuple[list[int], DecodeStats]:
    """Greedy decoding of ``model`` (a Hugging Face causal LM) from ``inputs``, with drafts verified
    in one forward pass each. Returns the new tokens (as ``generate(do_sample=False)`` would) and stats."""
    import torch
    from transformers import DynamicCache

    if source not in DRAFT_SOURCES:
        raise ValueError(f"unknown draft source {source!r}: expected one of {', '.join(DRAFT_SOURCES)}")
    stats = DecodeStats()
    device = inputs["input_ids"].device
    prompt = inputs["input_ids"][0].tolist()
    ends = set(end_ids)
    started = time.perf_counter()
    cache = DynamicCache()
    cache_arg = {_cache_keyword(model): cache}
    output = model(**inputs, use_cache=True, **cache_arg)
    stats.forwards += 1
    logits = output.logits[:, -1:, :]  # the scores for the first new token
    _synchronize(device)
    decoding = time.perf_counter()
    stats.prefill_s = decoding - started
    ids = torch.tensor([prompt + [0] * max_new_tokens], device=device)  # the tokens so far, as processors see them
    generated: list[int] = []

    def take(token: int) -> bool:
        """Keep ``token``; True when decoding ends with it."""
        ids[0, len(prompt) + len(generated)] = token
        generated.append(token)
        return token in ends or len(generated) >= max_new_tokens

    draft_length, misses, paused = max_draft, 0, 0
    while len(generated) < max_new_tokens:
        # the token greedy decoding picks now, then as many drafted ones as it agrees with
        picked = _pick(processors, ids, len(prompt) + len(generated), logits[:, 0, :])
        if take(picked):
            break
        room = max_new_tokens - len(generated)
        if paused:
            paused -= 1
            draft, source_used = [], ""
        else:
            draft, source_used = find_draft(generated, previous, prompt, min(draft_length, room), source)
        step = torch.tensor([[picked, *draft]], device=device)
        position = len(prompt) + len(generated) - 1
        output = model(input_ids=step, use_cache=True, **cache_arg,
                       cache_position=torch.arange(position, position + step.shape[1], device=device))
        stats.forwards += 1
        kept, done = 0, False
        for index, token in enumerate(draft):
            if _pick(processors, ids, len(prompt) + len(generated), output.logits[:, index, :]) != token:
                break
            kept += 1
            if done := take(token):
                break
        stats.drafted += len(draft)
        stats.accepted += kept
        if kept:
            stats.sources[source_used] = stats.sources.get(source_used, 0) + kept
        if done:
            break
        surplus = cache.get_seq_length() - (position + 1 + kept)
        if surplus > 0:
            cache.crop(-surplus)  # the cache holds the kept tokens only
        logits = output.logits[:, kept:kept + 1, :]
        if draft:
            misses = misses + 1 if kept == 0 else 0
            draft_length = min(max_draft, draft_length + 2) if kept == len(draft) else max(MIN_DRAFT, kept + 1)
            if misses >= PAUSE_AFTER_MISSES:
                misses, paused = 0, PAUSE_TOKENS
    _synchronize(device)
    stats.decode_s = time.perf_counter() - decoding
    return generated, stats


def _pick(processors: Sequence[Any], ids: Any, length: int, scores: Any) -> int:
    """Greedy's choice after the logits processors, which see the first ``length`` tokens of ``ids``."""
    if processors:
        seen = ids[:, :length]
        scores = scores.float()
        for processor in processors:
            scores = processor(seen, scores)
    return int(scores.argmax(-1))


def _cache_keyword(model: Any) -> str:
    """``cache`` in recent transformers 5 releases, ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
