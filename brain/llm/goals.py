"""The goal-mode LLM planner ("llm_goals"): the model says what must hold, the symbolic planner plans it.

    planner = Planner.create("llm_goals", config={"base_url": "http://127.0.0.1:8000/v1", "model": "..."})
    plan = await planner.plan("could you get the loaf over to the couch?", world)
    plan.planner          # "llm_goals", or "symbolic" when it fell back (plan.info["fallback_from"])
    plan.info["model_goals"]   # the goals the model gave: [{"type": "deliver", "object": "bread", ...}]

The model reads the instruction (its paraphrases, aliases, pronouns) into goals through a schema
whose enums are the scene's names (``goal_prompt``); each answer is checked again here (an unknown
name goes back to the model with the names it may have meant), then ``plan_goals`` plans the goals
with the world rules, so every plan is grounded and obeys them. A goal the fleet cannot reach is a
refusal: the planner's one-sentence reason is raised at once, without asking the model again. When
no attempt gives usable goals (timeouts, HTTP errors, unparsable answers) it falls back to the
symbolic planner, or fails with ``fallback: fail``, as the "llm" planner does.
"""

from __future__ import annotations

import difflib
import logging
from functools import partial
from typing import Any, NamedTuple

import jsonschema

from brain.errors import PlanningError
from brain.llm.attempts import Attempts, LLMBackedPlanner, ask, fall_back
from brain.llm.goal_prompt import GOAL_TYPES, GoalNames, goal_branch, goal_messages, goal_schema
from brain.plan import Plan
from brain.planner import Planner, ReplanContext
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.planner import plan_goals
from brain.world import WorldView

__all__ = ["GoalAnswer", "LLMGoalsPlanner", "read_goals"]

logger = logging.getLogger(__name__)

_NAME_FIELDS = ("object", "target", "container", "robot")


@Planner.register("llm_goals")
class LLMGoalsPlanner(LLMBackedPlanner):
    """Goals from an OpenAI-compatible endpoint, plans from ``plan_goals``; ``fallback`` as in ``LLMPlanner``."""

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        names = GoalNames.of(world, context)
        attempts = Attempts(self.name)
        read = partial(read_goals, names=names)
        answer = await ask(self.client, goal_messages(task, names), goal_schema(names), read, attempts,
                           self.config.max_attempts, answer="goals")
        if answer is None:
            why = f"no valid LLM goals after {attempts.count} attempt(s): " + " | ".join(attempts.errors)
            return await fall_back(why, task, world, context, attempts, self.config, self._fallback)
        plan = self._plan_goals(task, answer.goals, world, context)
        plan.info = {**plan.info, **attempts.info(self.config), "model_goals": answer.given}
        logger.info("LLM goals for %r: %s; %d step(s) after %d attempt(s)", task, plan.info["goals"],
                    len(plan.steps), attempts.count)
        return plan

    def _plan_goals(self, task: str, goals: list[Goal], world: WorldView, context: ReplanContext | None) -> Plan:
        """The symbolic planner's plan; its refusal, with the goals read, is this planner's."""
        try:
            return plan_goals(goals, world, context, planner=self.name)
        except PlanningError as e:
            wanted = ", ".join(g.describe() for g in goals)
            logger.info("LLM goals for %r refused (%s): %s", task, wanted, e)
            raise PlanningError(f"{e} (the goals read from the task: {wanted})") from e


class GoalAnswer(NamedTuple):
    """A usable answer: the goals to plan, and the JSON goals the model gave."""

    goals: list[Goal]
    given: list[dict[str, Any]]


def read_goals(data: Any, names: GoalNames) -> tuple[GoalAnswer | None, list[str]]:
    """The answer's goals, or None with every problem found.

    Raises ValueError when the answer is not ``{"goals": [...]}``.
    """
    if not isinstance(data, dict) or not isinstance(data.get("goals"), list):
        raise ValueError(f'expected {{"goals": [...]}}, got {str(data)[:200]}')
    items = [_resolved(item, names) for item in data["goals"]]
    problems = [p for i, item in enumerate(items) for p in _problems(i, item, names)]
    if not items:
        problems.append("goals is empty; give at least one goal")
    if problems:
        return None, problems
    goals = list(dict.fromkeys(_goal(item, names) for item in items))  # a goal said twice is one goal
    return GoalAnswer(goals, items), []


def _resolved(item: Any, names: GoalNames) -> Any:
    """Aliases and names written with spaces replaced by the scene's names."""
    if not isinstance(item, dict):
        return item
    return {k: names.resolve(v) if k in _NAME_FIELDS else v for k, v in item.items()}


def _problems(index: int, item: Any, names: GoalNames) -> list[str]:
    where = f"goal {index + 1}"
    kind = item.get("type") if isinstance(item, dict) else None
    if kind not in GOAL_TYPES:
        return [f"{where}: type must be one of {', '.join(GOAL_TYPES)}, got {kind!r}"]
    branch = goal_branch(names, kind)
    if branch is None:
        return [f"{where}: the scene has nothing a {kind!r} goal could name"]
    errors = sorted(jsonschema.Draft202012Validator(branch).iter_errors(item), key=lambda e: list(e.path))
    return [_describe(f"{where} ({kind})", error) for error in errors]


def _describe(where: str, error: jsonschema.ValidationError) -> str:
    field = ".".join(str(p) for p in error.path)
    if error.validator != "enum" or not isinstance(error.instance, str):
        return f"{where}: {field + ': ' if field else ''}{error.message}"
    choices = [str(c) for c in error.validator_value if c is not None]
    close = difflib.get_close_matches(error.instance, choices, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else f"use one of the listed names for {field}"
    return f"{where}: unknown {field} {error.instance!r}; {hint}"


def _goal(item: dict[str, Any], names: GoalNames) -> Goal:
    """One checked goal as the symbolic planner's goal.

    A delivery's relation is the world's: placing puts things in a container and on anything else,
    whichever the model said.
    """
    robot = item.get("robot")
    kind = item["type"]
    if kind == "deliver":
        relation = "in" if item["target"] in names.containers else "on"
        return Deliver(item["object"], item["target"], relation, robot)
    if kind == "hold":
        return Hold(item["object"], robot)
    if kind == "go":
        return Reach(item["target"], robot)
    return SetOpen(item["container"], kind == "open", robot)
