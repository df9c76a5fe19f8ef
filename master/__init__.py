"""The master: accepts tasks over HTTP, plans them with the brain, schedules subtasks on the fleet."""

from __future__ import annotations

from master.config import MasterConfig
from master.errors import (
    BridgeTimeout,
    InvalidPlan,
    MasterError,
    PlanTimeout,
    TaskConflict,
    TaskNotFound,
)

__all__ = [
    "BridgeTimeout",
    "InvalidPlan",
    "MasterConfig",
    "MasterError",
    "PlanTimeout",
    "TaskConflict",
    "TaskNotFound",
]
