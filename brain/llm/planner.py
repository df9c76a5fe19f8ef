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
from functools import partial
from typing import Any

from brain.llm.attempts import Attempts, LLMBackedPlanner, ask, fall_back
from brain.llm.prompt import plan_messages, plan_schema
from brain.plan import Plan
from brain.plan_check import check_plan
from brain.planner import Planner, ReplanContext
from brain.validation import validate_plan
from brain.world import WorldView

__all__ = ["LLMPlanner"]

logger = logging.getLogger(__name__)


@Planner.register("llm")
class LLMPlanner(LLMBackedPlanner):
    """Plans through an OpenAI-compatible endpoint; `fallback` is used when `config.fallback` is symbolic."""

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        required = self.config.require_actions
        messages: list[dict[str, Any]] = plan_messages(task, world, context, require_actions=required)
        schema = plan_schema(world, context, require_actions=required)
        attempts = Attempts(self.name)
        read = partial(self._read, task=task, world=world, context=context)
        plan = await ask(self.client, messages, schema, read, attempts, self.config.max_attempts)
        if plan is None:
            why = f"no valid LLM plan after {attempts.count} attempt(s): " + " | ".join(attempts.errors)
            return await fall_back(why, task, world, context, attempts, self.config, self._fallback)
        plan.info = {**attempts.info(self.config), "checks": plan.info["checks"]}
        logger.info("LLM plan for %r: %d steps after %d attempt(s)", task, len(plan.steps), attempts.count)
        return plan

    def _read(self, data: Any, *, task: str, world: WorldView, context: ReplanContext | None
              ) -> tuple[Plan | None, list[str]]:
        """The answer as a plan that passes every check, or None with the problems."""
        plan = Plan.from_robobrain(data, planner=self.name)
        problems = self._problems(plan, task, world, context)
        return (plan if not problems else None), problems

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


def _avoided(plan: Plan, context: ReplanContext | None) -> list[str]:
    if context is None:
        return []
    return [
        f"step {s.step_id}: robot '{s.robot_name}' must not be used now"
        for s in plan.steps
        if s.robot_name in context.avoid_robots
    ]
