"""Asking the model until an answer is usable, and the symbolic fallback when none is.

Shared by the LLM planners ("llm", "llm_goals")::

    attempts = Attempts("llm_goals")
    goals = await ask(client, messages, schema, read_goals, attempts, config.max_attempts, answer="goals")
    if goals is None:
        plan = await fall_back("llm_goals", why, task, world, context, attempts, config, fallback)

Each attempt is one request; its usage is added up, and the problems of a rejected answer go back to
the model as the next user message. When no attempt gave a usable answer the symbolic planner plans
instead (``plan.info["fallback_from"]`` names the LLM planner, ``plan.info["llm"]`` says why), or,
with ``fallback: fail``, a ``PlanningError`` says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, TypeVar

from brain.errors import PlanFormatError, PlanningError
from brain.llm.client import Completion, LLMClient, LLMError
from brain.llm.config import LLMConfig
from brain.llm.extraction import extract_json
from brain.plan import Plan
from brain.plan_check import check_plan
from brain.planner import Planner, ReplanContext
from brain.validation import validate_plan
from brain.world import WorldView

__all__ = ["Attempts", "LLMBackedPlanner", "Reader", "ask", "correction", "fall_back"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

Reader = Callable[[Any], tuple[T | None, list[str]]]
"""The answer's JSON -> (the usable result, or None with the problems to tell the model).

Raises ValueError or PlanFormatError when the JSON has the wrong shape."""


@dataclass
class Attempts:
    """What the attempts of one `plan()` call of the ``planner`` cost and what went wrong."""

    planner: str
    count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.latency_s += completion.latency_s

    def reject(self, problems: list[str]) -> None:
        self.errors.append(f"attempt {self.count}: " + "; ".join(problems))
        logger.warning("%s attempt %d rejected: %s", self.planner, self.count, "; ".join(problems))

    def info(self, config: LLMConfig) -> dict[str, Any]:
        return {
            "planner": self.planner,
            "model": config.model,
            "structured_output": config.structured_output,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": round(self.latency_s, 3),
            "attempts": self.count,
            "errors": list(self.errors),
        }


async def ask(
    client: LLMClient,
    messages: list[dict[str, Any]],
    schema: dict[str, Any],
    read: Reader[T],
    attempts: Attempts,
    max_attempts: int,
    *,
    answer: str = "plan",
) -> T | None:
    """The first usable answer within ``max_attempts`` requests, or None; ``answer`` names it to the model."""
    while attempts.count < max_attempts:
        attempts.count += 1
        result, problems, reply = await _attempt(client, messages, schema, read, attempts)
        if result is not None:
            return result
        attempts.reject(problems)
        if reply is not None:
            messages = [*messages, reply, correction(problems, answer)]
    return None


async def _attempt(
    client: LLMClient, messages: list[dict[str, Any]], schema: dict[str, Any], read: Reader[T], attempts: Attempts
) -> tuple[T | None, list[str], dict[str, Any] | None]:
    """(result or None, problems, the model's reply to feed back or None if there was none)."""
    try:
        completion = await client.chat(messages, schema=schema)
    except LLMError as e:
        return None, [str(e)], None
    attempts.add(completion)
    reply = {"role": "assistant", "content": completion.content or ""}
    try:
        result, problems = read(extract_json(completion.content))
    except (ValueError, PlanFormatError) as e:
        cut = " (the answer was cut off at max_tokens)" if completion.finish_reason == "length" else ""
        return None, [f"{e}{cut}"], reply
    return result, problems, reply


def correction(problems: list[str], answer: str = "plan") -> dict[str, str]:
    """The user message that sends a rejected answer's problems back."""
    listed = "\n".join(f"- {p}" for p in problems)
    return {
        "role": "user",
        "content": f"That answer was rejected:\n{listed}\nReply with the corrected JSON {answer} only.",
    }


async def fall_back(
    why: str,
    task: str,
    world: WorldView,
    context: ReplanContext | None,
    attempts: Attempts,
    config: LLMConfig,
    fallback: Planner | None = None,
) -> Plan:
    """The symbolic planner's checked plan, or PlanningError with ``why`` (and its own failure)."""
    if config.fallback != "symbolic":
        raise PlanningError(why)
    logger.warning("%s; falling back to the symbolic planner", why)
    fallback = fallback or Planner.create("symbolic")
    try:
        plan = await fallback.plan(task, world, context)
    except PlanningError as e:
        raise PlanningError(f"{why}; the symbolic fallback failed too: {e}") from e
    semantic = check_plan(plan, world, task)
    problems = validate_plan(plan, world) + semantic.errors
    if problems:
        raise PlanningError(f"{why}; the symbolic fallback's plan is invalid too: {'; '.join(problems)}")
    checks = {"structure": "passed", **semantic.info()}
    plan.info = {**plan.info, "checks": checks, "fallback_from": attempts.planner,
                 "llm": {**attempts.info(config), "reason": why}}
    return plan


class LLMBackedPlanner(Planner):
    """What the LLM planners share: the config, the client and the fallback planner.

    ``fallback`` is the planner used when no answer is usable and ``config.fallback`` is symbolic
    (default: a new symbolic planner).
    """

    uses_llm = True

    def __init__(
        self,
        config: LLMConfig | Mapping[str, Any] | None = None,
        *,
        client: LLMClient | None = None,
        fallback: Planner | None = None,
    ) -> None:
        self.config = config if isinstance(config, LLMConfig) else LLMConfig.from_dict(config)
        self.client = client or LLMClient(self.config)
        self._fallback = fallback
        logger.info("%s planner: %s", self.name, self.config.redacted())

    async def close(self) -> None:
        """Close the HTTP client (the planner cannot be used afterwards)."""
        await self.client.close()
