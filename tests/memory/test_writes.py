"""Several writes in one script call (``memory.writes``): in order, stopped by the first refusal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from memory import SharedMemory, SharedMemoryError, SubtaskRecord, SubtaskState, TaskRecord
from memory.events import encode_event
from memory.messages import SubtaskMessage
from memory.writes import Write

pytestmark = pytest.mark.anyio


def one_subtask_task(task_id: str) -> TaskRecord:
    sub = SubtaskRecord("s1", "r1", "wave")
    return TaskRecord(task_id, "wave", subtasks={"s1": sub}, created_at=100.0)


def dispatch_write(memory: SharedMemory, record: TaskRecord) -> Write:
    sub = record.subtasks["s1"]
    dispatched = replace(sub, state=SubtaskState.DISPATCHED, dispatched_at=101.0)
    message = SubtaskMessage(task_id=record.task_id, subtask_id="s1", robot="r1", text="wave", actions=[],
                             timeout_s=10.0, attempt=0, dispatched_at=101.0)
    event = encode_event("subtask_state", task_id=record.task_id, robot="r1", subtask_id="s1", state="dispatched")
    return memory.streams.dispatch_write(message, dispatched, event)


async def test_writes_are_made_in_order_in_one_call(shared_memory: SharedMemory) -> None:
    record = one_subtask_task("t1")
    created, entry_id = await shared_memory.writes.run(
        [shared_memory.tasks.create_write(record), dispatch_write(shared_memory, record)])
    assert created is None and entry_id  # the dispatch saw the task the write before it created
    stored = await shared_memory.tasks.get("t1")
    assert stored is not None and stored.subtasks["s1"].state == SubtaskState.DISPATCHED
    [(_, msg)] = await shared_memory.streams.read_subtasks("r1", "r1", block_ms=0)
    assert msg.subtask_id == "s1"
    assert await shared_memory.writes.run([]) == []


async def test_a_refused_write_stops_the_writes_after_it(shared_memory: SharedMemory) -> None:
    await shared_memory.tasks.create(one_subtask_task("taken"))
    other = one_subtask_task("other")
    before = one_subtask_task("before")
    writes = [shared_memory.tasks.create_write(before), shared_memory.tasks.create_write(one_subtask_task("taken")),
              shared_memory.tasks.create_write(other)]
    with pytest.raises(SharedMemoryError, match="'taken' already exists"):
        await shared_memory.writes.run(writes)
    assert await shared_memory.tasks.get("before") is not None  # made: the script is not a transaction
    assert await shared_memory.tasks.get("other") is None  # after the refusal: not made
    with pytest.raises(SharedMemoryError, match="unknown task 'gone'"):
        await shared_memory.writes.run([dispatch_write(shared_memory, one_subtask_task("gone"))])


async def test_a_write_the_script_does_not_hold_is_refused_before_anything_runs(shared_memory: SharedMemory) -> None:
    record = one_subtask_task("t1")
    with pytest.raises(SharedMemoryError, match="no write function .drop_everything."):
        await shared_memory.writes.run([shared_memory.tasks.create_write(record),
                                        Write("drop_everything", [], [], lambda reply: reply)])
    assert await shared_memory.tasks.get("t1") is None
