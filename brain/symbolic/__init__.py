"""The symbolic planner (offline default): instruction -> goals -> robot steps with tool calls.

Modules: ``parser`` (words -> clauses), ``grounding`` (phrases -> scene names, clauses -> goals),
``goals``, ``state`` (the simulated world), ``allocation`` (who can, who should, handoffs),
``actions`` (grounded tool calls, one robot's step), ``steps`` (dependencies), ``planner``.
"""

from brain.symbolic.parser import SUPPORTED_FORMS
from brain.symbolic.planner import SymbolicPlanner

__all__ = ["SUPPORTED_FORMS", "SymbolicPlanner"]
