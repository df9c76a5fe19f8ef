"""A task's subtasks as a DAG: built from a plan, queried for what may run next.

Subtasks of the first plan keep the planner's step ids (``s1``); a replan ``n`` adds subtasks
``r<n>-<step id>``. ``SubtaskRecord.attempt`` holds the plan generation a subtask belongs to
(0 for the first plan, ``n`` after replan ``n``), so the current plan is the subtasks whose
attempt equals ``TaskRecord.replans`` and results of older generations are recognised as stale.
"""

from __future__ import annotations

from typing import Any

from brain.plan import Plan
from memory.messages import SubtaskState, ToolCall
from memory.profiles import SubtaskRecord, TaskRecord

__all__ = [
    "FAILURE_STATES",
    "IN_FLIGHT_STATES",
    "current_subtasks",
    "ready_subtasks",
    "subtask_list",
    "subtasks_from_plan",
]

FAILURE_STATES = frozenset({SubtaskState.FAILED, SubtaskState.TIMED_OUT, SubtaskState.INTERRUPTED})
IN_FLIGHT_STATES = frozenset({SubtaskState.DISPATCHED, SubtaskState.RUNNING})


def subtasks_from_plan(plan: Plan, generation: int) -> list[SubtaskRecord]:
    """One WAITING record per plan step; dependencies renamed into this generation's ids."""
    deps = plan.dependencies()
    return [
        SubtaskRecord(
            subtask_id=_subtask_id(step.step_id, generation),
            robot=step.robot_name,
            text=step.subtask,
            order=int(step.subtask_order),
            depends_on=[_subtask_id(d, generation) for d in deps[step.step_id]],
            actions=[ToolCall.from_dict(a) for a in step.actions or []],
            attempt=generation,
        )
        for step in plan.steps
    ]


def current_subtasks(record: TaskRecord) -> list[SubtaskRecord]:
    """The subtasks of the task's current plan (the latest replan, or the first plan)."""
    return [s for s in record.subtasks.values() if s.attempt == record.replans]


def ready_subtasks(record: TaskRecord) -> list[SubtaskRecord]:
    """Waiting subtasks of the current plan whose dependencies have all succeeded."""
    done = {s.subtask_id for s in record.subtasks.values() if s.state == SubtaskState.SUCCEEDED}
    return [
        s
        for s in current_subtasks(record)
        if s.state == SubtaskState.WAITING and all(d in done for d in s.depends_on)
    ]


def subtask_list(record: TaskRecord) -> list[dict[str, Any]]:
    """The current plan in the RoboOS shape, plus ids, dependencies and states."""
    return [
        {
            "robot_name": s.robot,
            "subtask": s.text,
            "subtask_order": s.order,
            "subtask_id": s.subtask_id,
            "depends_on": list(s.depends_on),
            "state": str(s.state),
        }
        for s in sorted(current_subtasks(record), key=lambda s: (s.order, s.subtask_id))
    ]


def _subtask_id(step_id: str, generation: int) -> str:
    return str(step_id) if generation == 0 else f"r{generation}-{step_id}"

