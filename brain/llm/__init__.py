"""The LLM brain over an OpenAI-compatible endpoint: the planner ("llm") and the step loop ("llm").

Importing this package registers both: ``Planner.create("llm", config={...})`` and
``Stepper.create("llm", config={...})``.
"""

from brain.llm.client import Completion, LLMClient, LLMError
from brain.llm.config import LLMConfig, LLMConfigError
from brain.llm.extraction import extract_json
from brain.llm.planner import LLMPlanner
from brain.llm.stepper import LLMStepper, check_call

__all__ = [
    "Completion",
    "LLMClient",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "LLMPlanner",
    "LLMStepper",
    "check_call",
    "extract_json",
]
