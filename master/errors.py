"""The master's exceptions; the HTTP layer maps each one to a status code."""

from __future__ import annotations

__all__ = [
    "BridgeTimeout",
    "InvalidPlan",
    "MasterError",
    "MemoryBusy",
    "MemoryUnavailable",
    "PlanTimeout",
    "TaskConflict",
    "TaskNotFound",
]


class MasterError(Exception):
    """Base class of everything the master raises on purpose."""


class TaskNotFound(MasterError):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"unknown task {task_id!r}")
        self.task_id = task_id


class TaskConflict(MasterError):
    """The request does not fit the task's state (already terminal, id already taken)."""


class InvalidPlan(MasterError):
    """The planner failed, or its plan did not validate; the task is recorded as failed."""

    def __init__(self, task_id: str, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.errors = list(errors or [])


class PlanTimeout(MasterError):
    """The planner did not answer in time; the task is recorded as failed."""

    def __init__(self, task_id: str, message: str) -> None:
        super().__init__(message)
        self.task_id = task_id


class BridgeTimeout(MasterError):
    """The master's loop did not answer an HTTP request in time."""


class MemoryUnavailable(MasterError):
    """Redis could not be reached; the client should retry after ``retry_after_s`` (HTTP 503)."""

    redis_state = "down"

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class MemoryBusy(MemoryUnavailable):
    """Redis is up but every connection of the master's pool stayed in use (HTTP 503, retry soon)."""

    redis_state = "busy"
