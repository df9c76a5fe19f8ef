"""The brain's exceptions: one root, one class per way planning can go wrong."""

from __future__ import annotations

__all__ = ["BrainError", "PlanFormatError", "PlanValidationError", "PlanningError"]


class BrainError(Exception):
    """Root of every error the brain raises."""


class PlanningError(BrainError):
    """A planner could not turn the task into a plan (unparsable text, unknown names, no robot able)."""


class PlanFormatError(BrainError):
    """A plan document (e.g. an LLM's RoboBrain-style JSON) has the wrong shape."""


class PlanValidationError(BrainError):
    """A plan is well-formed but cannot run on this fleet; ``errors`` lists every problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid plan: " + "; ".join(self.errors))
