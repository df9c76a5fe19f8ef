"""The LLM brain over an OpenAI-compatible endpoint: the planners ("llm", "llm_goals") and the step loop ("llm").

``Planner.create("llm", config={...})`` (the model writes the plan), ``Planner.create("llm_goals",
config={...})`` (the model writes goals, the symbolic planner plans them) and ``Stepper.create("llm",
config={...})`` import their modules on first use. The names below load on first access too, so
importing ``brain.llm.config`` (every component reads the ``llm:`` section) does not load the
OpenAI client.
"""

from __future__ import annotations

import importlib
from typing import Any

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

_HOMES = {
    "Completion": "client", "LLMClient": "client", "LLMError": "client",
    "LLMConfig": "config", "LLMConfigError": "config",
    "extract_json": "extraction",
    "LLMGoalsPlanner": "goals",
    "LLMPlanner": "planner",
    "LLMStepper": "stepper", "check_call": "stepper",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'brain.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(f"brain.llm.{_HOMES[name]}"), name)
