"""The symbolic planner (offline default): instruction -> goals -> robot steps with tool calls.

Modules: ``parser``, ``clauses`` and ``phrasing`` (words -> clauses), ``vocabulary`` (phrases -> scene names),
``grounding`` (clauses -> goals), ``goals``, ``state`` (the simulated world), ``fleet`` (who can get where, and
when it would be done), ``chains`` (handoffs through surfaces and carriers), ``reasons`` (why a goal
is impossible), ``actions`` (grounded tool calls, one robot's step), ``steps`` (dependencies),
``planner`` (``plan_goals``: grounded goals -> plan, shared with the LLM goal mode).
"""

from brain.symbolic.parser import SUPPORTED_FORMS
from brain.symbolic.planner import SymbolicPlanner, plan_goals

__all__ = ["SUPPORTED_FORMS", "SymbolicPlanner", "plan_goals"]
