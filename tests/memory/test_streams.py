from __future__ import annotations

import json
import time

from dataclasses import replace

import anyio
import pytest
from redis.exceptions import ResponseError

from memory import (
    RobotProfile,
    SharedMemory,
    SharedMemoryError,
    SubtaskMessage,
    SubtaskResult,
    SubtaskState,
    ToolCall,
    ToolOutcome,
)
from memory.events import encode_event
from memory.messages import TaskState
from memory.profiles import SubtaskRecord
from tests.work import record_and_dispatch

pytestmark = pytest.mark.anyio


def subtask(n: int, robot: str = "arm-1", task_id: str = "t1") -> SubtaskMessage:
    return SubtaskMessage(task_id, f"s{n}", robot, f"pick apple {n}", [ToolCall("pick", {"object": "apple"})])


async def test_dispatch_read_ack(shared_memory: SharedMemory) -> None:
    streams = shared_memory.streams
    sent = [subtask(1), subtask(2)]
    ids = [await record_and_dispatch(shared_memory, msg) for msg in sent]
    await record_and_dispatch(shared_memory, subtask(3, robot="arm-2"))
    first = await streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    rest = await streams.read_subtasks("arm-1", "arm-1", block_ms=100, count=10)
    assert first == [(ids[0], sent[0])]
    assert rest == [(ids[1], sent[1])]
    for entry_id, _ in first + rest:
        await streams.ack_subtask("arm-1", entry_id)
    assert await streams.pending_subtasks("arm-1", "arm-1") == []
    assert [m.robot for _, m in await streams.read_subtasks("arm-2", "arm-2", block_ms=100)] == ["arm-2"]


async def test_blocking_read_times_out_empty(shared_memory: SharedMemory) -> None:
    start = time.monotonic()
    assert await shared_memory.streams.read_subtasks("arm-9", "arm-9", block_ms=200) == []
    assert 0.15 < time.monotonic() - start < 2.0


async def test_blocking_read_wakes_on_dispatch(shared_memory: SharedMemory) -> None:
    streams = shared_memory.streams
    await streams.read_subtasks("arm-1", "arm-1", block_ms=0)  # create the group first
    got: list[tuple[str, SubtaskMessage]] = []

    async def reader() -> None:
        got.extend(await streams.read_subtasks("arm-1", "arm-1", block_ms=5000))

    with anyio.fail_after(3):
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await anyio.sleep(0.05)  # makes the blocking path likely; the result does not depend on it
            await record_and_dispatch(shared_memory, subtask(1))
    assert [m.subtask_id for _, m in got] == ["s1"]


async def test_unacked_subtask_stays_pending_after_a_crash(shared_memory: SharedMemory) -> None:
    streams = shared_memory.streams
    await record_and_dispatch(shared_memory, subtask(1))
    [(entry_id, _)] = await streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    # the consumer "dies" here without acking; a new process with the same consumer name:
    assert await streams.read_subtasks("arm-1", "arm-1", block_ms=0) == []
    pending = await streams.pending_subtasks("arm-1", "arm-1")
    assert [(i, m.subtask_id) for i, m in pending] == [(entry_id, "s1")]
    assert await streams.pending_subtasks("arm-1", "someone-else") == []
    await streams.ack_subtask("arm-1", entry_id)
    assert await streams.pending_subtasks("arm-1", "arm-1") == []


async def test_malformed_entries_are_skipped_and_acked(shared_memory: SharedMemory) -> None:
    streams = shared_memory.streams
    key = shared_memory.keys.subtasks("arm-1")
    await record_and_dispatch(shared_memory, subtask(1))
    await shared_memory.redis.xadd(key, {"data": "{not json"})
    await shared_memory.redis.xadd(key, {"data": '{"task_id": "t1"}'})
    await shared_memory.redis.xadd(key, {"other": "field"})
    await record_and_dispatch(shared_memory, subtask(2))
    read = await streams.read_subtasks("arm-1", "arm-1", block_ms=100, count=10)
    assert [m.subtask_id for _, m in read] == ["s1", "s2"]
    pending = await streams.pending_subtasks("arm-1", "arm-1")
    assert [m.subtask_id for _, m in pending] == ["s1", "s2"]  # the bad ones were acknowledged


async def test_results_round_trip(shared_memory: SharedMemory) -> None:
    streams = shared_memory.streams
    result = SubtaskResult(
        "t1", "s1", "arm-1", SubtaskState.FAILED, "apple not reachable",
        [ToolOutcome("pick", {"object": "apple"}, ok=False, message="not reachable")],
        started_at=1.0, finished_at=2.0,
    )  # fmt: skip
    running = SubtaskResult("t1", "s1", "arm-1", SubtaskState.RUNNING)
    await streams.post_result(running)
    entry_id = await streams.post_result(result)
    read = await streams.read_results("master", block_ms=100)
    assert [r for _, r in read] == [running, result]
    await streams.ack_results(read[0][0])
    assert await streams.pending_results("master") == [(entry_id, result)]
    await streams.ack_results(entry_id)
    assert await streams.pending_results("master") == []


async def test_streams_are_capped(redis_url: str, key_prefix: str) -> None:
    memory = await SharedMemory.connect(redis_url, prefix=key_prefix, stream_maxlen=10)
    try:
        for n in range(300):
            await record_and_dispatch(memory, subtask(n))
        length = await memory.redis.xlen(memory.keys.subtasks("arm-1"))
        assert 10 <= length < 300
    finally:
        await memory.clear()
        await memory.close()


async def test_report_posts_then_acks_then_sets_the_status(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    await mem.robots.register(RobotProfile("arm-1", "fixed_single_arm"))
    await record_and_dispatch(mem, subtask(1))
    [(entry_id, msg)] = await mem.streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    running = SubtaskResult("t1", "s1", "arm-1", SubtaskState.RUNNING)
    await mem.streams.report(running, status="busy", current_subtask="s1")
    record = await mem.robots.get("arm-1")
    assert (record.status, record.current_subtask) == ("busy", "s1")
    assert len(await mem.streams.pending_subtasks("arm-1", "arm-1")) == 1
    done = SubtaskResult("t1", "s1", "arm-1", SubtaskState.SUCCEEDED)
    await mem.streams.report(done, ack_id=entry_id, status="idle")
    assert [r for _, r in await mem.streams.read_results("master", block_ms=100)] == [running, done]
    assert await mem.streams.pending_subtasks("arm-1", "arm-1") == []
    record = await mem.robots.get("arm-1")
    assert (record.status, record.current_subtask) == ("idle", None)


async def test_a_report_that_cannot_post_does_not_ack(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    await record_and_dispatch(mem, subtask(1))
    [(entry_id, _)] = await mem.streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    await mem.redis.set(mem.keys.results, "not a stream")  # the post fails with WRONGTYPE
    with pytest.raises(ResponseError):
        await mem.streams.report(SubtaskResult("t1", "s1", "arm-1", SubtaskState.SUCCEEDED), ack_id=entry_id)
    assert [i for i, _ in await mem.streams.pending_subtasks("arm-1", "arm-1")] == [entry_id]


async def test_a_report_for_an_unregistered_robot_posts_then_raises(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    with pytest.raises(SharedMemoryError, match="unknown robot 'ghost'"):
        await mem.streams.report(SubtaskResult("t1", "s1", "ghost", SubtaskState.RUNNING), status="busy")
    assert len(await mem.streams.read_results("master", block_ms=100)) == 1
    assert not await mem.redis.exists(mem.keys.robot("ghost"))


# -- one-step dispatch and the claim that fences stale, forged and doubled runs -------------------


def running(msg: SubtaskMessage) -> SubtaskResult:
    return SubtaskResult(msg.task_id, msg.subtask_id, msg.robot, SubtaskState.RUNNING, attempt=msg.attempt)


async def test_dispatch_records_queues_and_logs_in_one_step_and_never_twice(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    msg = subtask(1)
    first = await record_and_dispatch(mem, msg)
    record = await mem.tasks.get("t1")
    assert record.subtasks["s1"].state == SubtaskState.DISPATCHED
    assert [e.kind for e in await mem.events.recent()][-1] == "subtask_state"
    dispatched = record.subtasks["s1"]
    again = await mem.streams.dispatch(msg, dispatched, encode_event("subtask_state", task_id="t1"))
    assert first and again == ""  # a retried dispatch (its reply was lost) queues nothing
    assert await mem.redis.xlen(mem.keys.subtasks("arm-1")) == 1
    with pytest.raises(SharedMemoryError, match="unknown task 'nope'"):
        await mem.streams.dispatch(subtask(2, task_id="nope"), dispatched, "")
    assert await mem.redis.xlen(mem.keys.subtasks("arm-1")) == 1


async def test_a_claim_starts_a_dispatched_subtask_once(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    await mem.robots.register(RobotProfile("arm-1", "fixed_single_arm"), lease="slaver-a")
    msg = subtask(1)
    await record_and_dispatch(mem, msg)
    [(entry_id, got)] = await mem.streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    assert await mem.streams.claim(entry_id, got, "slaver-a", running(got)) is None
    assert [r.state for _, r in await mem.streams.read_results("master", block_ms=100)] == [SubtaskState.RUNNING]
    assert (await mem.robots.get("arm-1")).status == "busy"
    assert await mem.tasks.fence("t1", "s1", "slaver-a") is None
    # the same entry again (a restarted slaver's pending list): started before, so it is not run again
    assert await mem.streams.claim(entry_id, got, "slaver-a", running(got)) == "claimed"
    assert await mem.tasks.fence("t1", "s1", "slaver-b") == "another slaver holds this subtask now"


async def test_a_slaver_without_the_lease_claims_nothing(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    await mem.robots.register(RobotProfile("arm-1", "fixed_single_arm"), lease="slaver-a")
    await record_and_dispatch(mem, subtask(1))
    [(entry_id, got)] = await mem.streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    assert await mem.streams.claim(entry_id, got, "slaver-b", running(got)) == "lease"
    assert len(await mem.streams.pending_subtasks("arm-1", "arm-1")) == 1  # left for the lease holder
    assert await mem.streams.read_results("master", block_ms=50) == []


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        ("forged", "unknown"),  # an entry XADDed by hand: no task records it
        ("other attempt", "unknown"),
        ("timed out", "subtask timed_out"),  # the master gave it up while it was queued
        ("task failed", "task failed"),
    ],
)
async def test_stale_and_forged_entries_are_refused_and_acknowledged(
    shared_memory: SharedMemory, tamper: str, why: str
) -> None:
    mem = shared_memory
    await mem.robots.register(RobotProfile("arm-1", "fixed_single_arm"), lease="slaver-a")
    if tamper == "forged":
        forged = subtask(7, task_id="ghost")
        await mem.redis.xadd(mem.keys.subtasks("arm-1"), {"data": json.dumps(forged.to_dict())})
    else:
        await record_and_dispatch(mem, subtask(1))
    if tamper == "other attempt":
        await mem.tasks.save_subtask("t1", SubtaskRecord("s1", "arm-1", "x", state=SubtaskState.DISPATCHED, attempt=1))
    elif tamper == "timed out":
        await mem.tasks.save_subtask("t1", SubtaskRecord("s1", "arm-1", "x", state=SubtaskState.TIMED_OUT))
    elif tamper == "task failed":
        await mem.tasks.set_state("t1", TaskState.FAILED, "given up")
    [(entry_id, got)] = await mem.streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    assert await mem.streams.claim(entry_id, got, "slaver-a", running(got)) == why
    assert await mem.streams.pending_subtasks("arm-1", "arm-1") == []
    assert await mem.streams.read_results("master", block_ms=50) == []
    assert (await mem.robots.get("arm-1")).status == "idle"


async def test_the_master_times_out_a_queued_subtask_only_if_nobody_claimed_it(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    await mem.robots.register(RobotProfile("arm-1", "fixed_single_arm"), lease="slaver-a")
    await record_and_dispatch(mem, subtask(1))
    await record_and_dispatch(mem, subtask(2))
    entries = await mem.streams.read_subtasks("arm-1", "arm-1", block_ms=100, count=2)
    entry_id, got = entries[0]
    assert await mem.streams.claim(entry_id, got, "slaver-a", running(got)) is None
    timed_out = SubtaskRecord("s1", "arm-1", "x", state=SubtaskState.TIMED_OUT)
    assert not await mem.tasks.save_subtask("t1", timed_out, unless_claimed=True)
    assert (await mem.tasks.get("t1")).subtasks["s1"].state == SubtaskState.DISPATCHED
    assert await mem.tasks.save_subtask("t1", replace(timed_out, subtask_id="s2"), unless_claimed=True)
    assert await mem.tasks.fence("t1", "s2", "slaver-a") == "the master recorded this subtask as timed_out"


async def test_a_claim_redis_lost_is_recorded_again_by_its_holder(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    await mem.robots.register(RobotProfile("arm-1", "fixed_single_arm"), lease="slaver-a")
    await record_and_dispatch(mem, subtask(1))
    [(entry_id, got)] = await mem.streams.read_subtasks("arm-1", "arm-1", block_ms=100)
    assert await mem.streams.claim(entry_id, got, "slaver-a", running(got)) is None
    await mem.redis.delete(mem.keys.task_claims("t1"))  # a restart replayed the file up to before the claim
    assert await mem.tasks.fence("t1", "s1", "slaver-a") is None
    assert await mem.redis.hget(mem.keys.task_claims("t1"), "s1") == "slaver-a"
    assert await mem.tasks.fence("t1", "s1", "slaver-b") == "another slaver holds this subtask now"
