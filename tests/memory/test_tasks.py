from __future__ import annotations

import asyncio
import json
from dataclasses import fields
from typing import Any

import pytest

from memory import (
    Effect,
    SceneNode,
    SharedMemory,
    SharedMemoryError,
    SubtaskMessage,
    SubtaskRecord,
    SubtaskResult,
    SubtaskState,
    TaskRecord,
    TaskState,
    ToolCall,
    ToolOutcome,
)
from memory.profiles import RobotProfile, RobotRecord

pytestmark = pytest.mark.anyio


def task(task_id: str = "t1", created_at: float = 100.0) -> TaskRecord:
    subs = [
        SubtaskRecord("s2", "arm-2", "place apple", order=2, depends_on=["s1"]),
        SubtaskRecord("s1", "arm-1", "pick apple", order=1, actions=[ToolCall("pick", {"object": "apple"})]),
        SubtaskRecord("s0", "arm-3", "open fridge", order=2),
    ]
    return TaskRecord(
        task_id, "put the apple in the fridge", reasoning="pick, then place",
        subtasks={s.subtask_id: s for s in subs}, created_at=created_at, plan_info={"planner": "symbolic"},
    )  # fmt: skip


async def test_create_and_get_round_trip(shared_memory: SharedMemory) -> None:
    await shared_memory.tasks.create(task())
    got = await shared_memory.tasks.get("t1")
    assert got is not None
    assert list(got.subtasks) == ["s1", "s0", "s2"]  # by order, then id
    assert got.to_dict() | {"subtasks": None} == task().to_dict() | {"subtasks": None}
    assert got.subtasks == task().subtasks
    assert await shared_memory.tasks.state("t1") == TaskState.PENDING
    assert await shared_memory.tasks.get("nope") is None
    assert await shared_memory.tasks.state("nope") is None


async def test_create_refuses_a_taken_id_and_sets_created_at(shared_memory: SharedMemory) -> None:
    record = TaskRecord("t2", "wave")
    await shared_memory.tasks.create(record)
    assert (await shared_memory.tasks.get("t2")).created_at > 0
    with pytest.raises(SharedMemoryError, match="already exists"):
        await shared_memory.tasks.create(TaskRecord("t2", "wave again"))


async def test_concurrent_creates_of_one_id_let_exactly_one_win(shared_memory: SharedMemory) -> None:
    async def create(n: int) -> int | None:
        try:
            await shared_memory.tasks.create(TaskRecord("race", f"writer {n}"))
        except SharedMemoryError:
            return None
        return n

    # Open enough pooled connections first, so the ten creates really run side by side.
    await asyncio.gather(*(shared_memory.redis.ping() for _ in range(12)))
    winners = [n for n in await asyncio.gather(*(create(n) for n in range(10))) if n is not None]
    assert len(winners) == 1
    stored = await shared_memory.tasks.get("race")
    assert stored is not None and stored.text == f"writer {winners[0]}"


async def test_save_subtask_updates_one_subtask(shared_memory: SharedMemory) -> None:
    await shared_memory.tasks.create(task())
    done = SubtaskRecord("s1", "arm-1", "pick apple", state=SubtaskState.SUCCEEDED, finished_at=5.0)
    await shared_memory.tasks.save_subtask("t1", done)
    got = await shared_memory.tasks.get("t1")
    assert got.subtasks["s1"] == done
    assert got.subtasks["s2"].state == SubtaskState.WAITING
    with pytest.raises(SharedMemoryError, match="unknown task 'nope'"):
        await shared_memory.tasks.save_subtask("nope", done)
    assert await shared_memory.tasks.get("nope") is None


async def test_save_replaces_the_whole_record(shared_memory: SharedMemory) -> None:
    await shared_memory.tasks.create(task())
    replanned = task()
    replanned.subtasks = {"s9": SubtaskRecord("s9", "arm-4", "place apple")}
    replanned.replans = 1
    await shared_memory.tasks.save(replanned)
    got = await shared_memory.tasks.get("t1")
    assert list(got.subtasks) == ["s9"]
    assert got.replans == 1


async def test_set_state_and_active_set(shared_memory: SharedMemory) -> None:
    tasks = shared_memory.tasks
    await tasks.create(task("t1", created_at=100.0))
    await tasks.create(task("t2", created_at=50.0))
    assert await tasks.active_ids() == ["t2", "t1"]  # oldest first
    await tasks.set_state("t1", TaskState.RUNNING)
    assert await tasks.active_ids() == ["t2", "t1"]
    await tasks.set_state("t1", TaskState.FAILED, reason="apple not reachable")
    got = await tasks.get("t1")
    assert (got.state, got.reason) == (TaskState.FAILED, "apple not reachable")
    assert got.finished_at is not None and got.finished_at > 0
    assert await tasks.active_ids() == ["t2"]
    assert len(got.subtasks) == 3  # subtasks untouched
    with pytest.raises(SharedMemoryError, match="unknown task"):
        await tasks.set_state("nope", TaskState.CANCELLED)


async def test_list_is_newest_first_and_limited(shared_memory: SharedMemory) -> None:
    for n in range(5):
        await shared_memory.tasks.create(TaskRecord(f"t{n}", f"task {n}", created_at=1000.0 + n))
    listed = await shared_memory.tasks.list(limit=3)
    assert [t.task_id for t in listed] == ["t4", "t3", "t2"]
    assert len(await shared_memory.tasks.list()) == 5


@pytest.mark.parametrize("record", [
    SubtaskRecord("s1", "r1", "go", 2, ["s0"], [ToolCall("move", {"place": "hall"})], SubtaskState.RUNNING, "why", 1,
                  1.0, 2.0, None),
    RobotRecord(RobotProfile("r1", "test_bot", capabilities={"arms": 1}), "busy", True, "hall", ["cup"], "s1", 3.0,
                "degraded"),
    SubtaskMessage("t1", "s1", "r1", "go", [ToolCall("move", {"place": "hall"})], 5.0, 2, 4.0),
    SubtaskResult("t1", "s1", "r1", SubtaskState.FAILED, "why", [ToolOutcome(
        "pick", {"object": "cup"}, False, "slipped", [Effect("move", "cup", "r1", "held_by", "table", {"held": True})],
        0.5)], 1.0, 2.0, 3),
    Effect("move", "cup", "r1", "held_by", "table", {"warm": True}),
    SceneNode("cup", "object", "table", "on", {"weight_kg": 0.2, "tags": ["blue"]}),
], ids=["subtask", "robot", "message", "result", "effect", "node"])
def test_records_written_out_field_by_field_keep_every_field(record: Any) -> None:
    """to_dict names every field (in order) and from_dict reads it back to an equal record (an
    effect leaves out its fields that are None: none are here)."""
    data = record.to_dict()
    assert list(data) == [f.name for f in fields(record)]
    assert type(record).from_dict(json.loads(json.dumps(data))) == record


def test_an_effect_leaves_out_what_it_does_not_set() -> None:
    assert Effect("set", "door", props={"open": True}).to_dict() == {"op": "set", "node": "door", "props": {"open": True}}
