"""The LLM planner: prompt, structured output, validation, bounded retries, then fallback or failure.

    planner = Planner.create("llm", config={"base_url": "http://127.0.0.1:8000/v1", "model": "..."})
    plan = await planner.plan("bring the apple to the dining room", world)
    plan.planner   # "llm", or "symbolic" when it fell back (plan.info["fallback_from"] == "llm")
    plan.info      # model, prompt/completion tokens, latency_s, attempts, errors

An invalid plan is never returned: each attempt is parsed and checked with `validate_plan` (the
same validator the symbolic planner and the master use), then, with `require_actions`, for steps
without actions, then with the semantic check (`brain.plan_check.check_plan`: the actions'
preconditions and the task's goals in the simulated end state); the errors go back to the model.
`plan.info["checks"]` says which checks ran and how they went.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from brain.errors import PlanFormatError, PlanningError
from brain.llm.client import Completion, LLMClient, LLMError
from brain.llm.config import LLMConfig
from brain.llm.extraction import extract_json
from brain.llm.prompt import plan_messages, plan_schema
from brain.plan import Plan
from brain.plan_check import check_plan
from brain.planner import Planner, ReplanContext
from brain.validation import validate_plan
from brain.world import WorldView

__all__ = ["LLMPlanner"]

logger = logging.getLogger(__name__)


@dataclass
class _Attempts:
    """What the attempts of one `plan()` call cost and what went wrong."""

    count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.latency_s += completion.latency_s

    def info(self, config: LLMConfig) -> dict[str, Any]:
        return {
            "planner": "llm",
            "model": config.model,
            "structured_output": config.structured_output,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": round(self.latency_s, 3),
            "attempts": self.count,
            "errors": list(self.errors),
        }


@Planner.register("llm")
class LLMPlanner(Planner):
    """Plans through an OpenAI-compatible endpoint; `fallback` is used when `config.fallback` is symbolic."""

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
        logger.info("LLM planner: %s", self.config.redacted())

    async def close(self) -> None:
        """Close the HTTP client (the planner cannot be used afterwards)."""
        await self.client.close()

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        required = self.config.require_actions
        messages: list[dict[str, Any]] = plan_messages(task, world, context, require_actions=required)
        schema = plan_schema(world, context, require_actions=required)
        attempts = _Attempts()
        while attempts.count < self.config.max_attempts:
            attempts.count += 1
            plan, problems, reply = await self._attempt(task, messages, schema, world, context, attempts)
            if plan is not None:
                plan.info = {**attempts.info(self.config), "checks": plan.info["checks"]}
                logger.info("LLM plan for %r: %d steps after %d attempt(s)", task, len(plan.steps), attempts.count)
                return plan
            attempts.errors.append(f"attempt {attempts.count}: " + "; ".join(problems))
            logger.warning("LLM plan attempt %d rejected: %s", attempts.count, "; ".join(problems))
            if reply is not None:
                messages = [*messages, reply, _correction(problems)]
        return await self._fall_back(task, world, context, attempts)

    async def _attempt(
        self,
        task: str,
        messages: list[dict[str, Any]],
        schema: dict[str, Any],
        world: WorldView,
        context: ReplanContext | None,
        attempts: _Attempts,
    ) -> tuple[Plan | None, list[str], dict[str, Any] | None]:
        """(valid plan or None, problems, the model's reply to feed back or None if there was none)."""
        try:
            completion = await self.client.chat(messages, schema=schema)
        except LLMError as e:
            return None, [str(e)], None
        attempts.add(completion)
        reply = {"role": "assistant", "content": completion.content or ""}
        try:
            plan = Plan.from_robobrain(extract_json(completion.content), planner="llm")
        except (ValueError, PlanFormatError) as e:
            cut = " (the answer was cut off at max_tokens)" if completion.finish_reason == "length" else ""
            return None, [f"{e}{cut}"], reply
        problems = self._problems(plan, task, world, context)
        return (plan if not problems else None), problems, reply

    def _problems(self, plan: Plan, task: str, world: WorldView, context: ReplanContext | None) -> list[str]:
        """Structural, then required-actions, then semantic problems; records the checks in ``plan.info``."""
        checks: dict[str, Any] = {"structure": "passed", "actions": "not required"}
        plan.info["checks"] = checks
        problems = validate_plan(plan, world) + _avoided(plan, context)
        if problems:
            checks["structure"] = "failed"
            return problems
        if self.config.require_actions:
            problems = [
                f"step {s.step_id} ({s.robot_name}): has no actions; list the tool calls of {s.robot_name}'s "
                f"skills that do '{s.subtask}'"
                for s in plan.steps if not s.actions
            ]
            checks["actions"] = "failed" if problems else "passed"
            if problems:
                return problems
        semantic = check_plan(plan, world, task)
        checks.update(semantic.info())
        return semantic.errors

    async def _fall_back(
        self, task: str, world: WorldView, context: ReplanContext | None, attempts: _Attempts
    ) -> Plan:
        why = f"no valid LLM plan after {attempts.count} attempt(s): " + " | ".join(attempts.errors)
        if self.config.fallback != "symbolic":
            raise PlanningError(why)
        logger.warning("%s; falling back to the symbolic planner", why)
        fallback = self._fallback or Planner.create("symbolic")
        try:
            plan = await fallback.plan(task, world, context)
        except PlanningError as e:
            raise PlanningError(f"{why}; the symbolic fallback failed too: {e}") from e
        semantic = check_plan(plan, world, task)
        problems = validate_plan(plan, world) + semantic.errors
        if problems:
            raise PlanningError(f"{why}; the symbolic fallback's plan is invalid too: {'; '.join(problems)}")
        checks = {"structure": "passed", **semantic.info()}
        plan.info = {**plan.info, "checks": checks, "fallback_from": "llm",
                     "llm": {**attempts.info(self.config), "reason": why}}
        return plan


def _avoided(plan: Plan, context: ReplanContext | None) -> list[str]:
    if context is None:
        return []
    return [
        f"step {s.step_id}: robot '{s.robot_name}' must not be used now"
        for s in plan.steps
        if s.robot_name in context.avoid_robots
    ]


def _correction(problems: list[str]) -> dict[str, str]:
    listed = "\n".join(f"- {p}" for p in problems)
    return {
        "role": "user",
        "content": f"That plan was rejected:\n{listed}\nReply with the corrected JSON plan only.",
    }

