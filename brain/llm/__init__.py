"""The LLM brain over an OpenAI-compatible endpoint: the planners ("llm", "llm_goals") and the step loop ("llm").

Importing this package registers them: ``Planner.create("llm", config={...})`` (the model writes the
plan), ``Planner.create("llm_goals", config={...})`` (the model writes goals, the symbolic planner
plans them) and ``Stepper.create("llm", config={...})``.
"""

from brain.llm.client import Completion, LLMClient, LLMError
from brain.llm.config import LLMConfig, LLMConfigError
from brain.llm.extraction import extract_json
from brain.llm.goals import LLMGoalsPlanner
from brain.llm.planner import LLMPlanner
from brain.llm.stepper import LLMStepper, check_call

__all__ = [
    "Completion",
    "LLMClient",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "LLMGoalsPlanner",
    "LLMPlanner",
    "LLMStepper",
    "check_call",
    "extract_json",
]
