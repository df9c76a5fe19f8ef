"""Putting subtasks on a robot's stream the way the master does, for tests without a master."""

from __future__ import annotations

from memory import SharedMemory, SubtaskMessage, SubtaskRecord, SubtaskState, TaskRecord, TaskState
from memory.events import encode_event


async def record_and_dispatch(memory: SharedMemory, msg: SubtaskMessage) -> str:
    """Record ``msg``'s subtask as waiting in its task (created, running, if need be), then dispatch
    it (recorded dispatched, queued, logged in one step); returns the stream entry id."""
    if await memory.tasks.get(msg.task_id) is None:
        await memory.tasks.create(TaskRecord(msg.task_id, f"test task {msg.task_id}", state=TaskState.RUNNING))
    waiting = SubtaskRecord(msg.subtask_id, msg.robot, msg.text, actions=list(msg.actions), attempt=msg.attempt)
    await memory.tasks.save_subtask(msg.task_id, waiting)
    dispatched = SubtaskRecord(msg.subtask_id, msg.robot, msg.text, actions=list(msg.actions), attempt=msg.attempt,
                               state=SubtaskState.DISPATCHED, dispatched_at=msg.dispatched_at)
    event = encode_event("subtask_state", task_id=msg.task_id, robot=msg.robot, subtask_id=msg.subtask_id,
                         state=str(SubtaskState.DISPATCHED), reason="")
    return await memory.streams.dispatch(msg, dispatched, event)
