"""The scheduler through a running master: DAG order, parallel branches, replanning, timeouts,
robots going offline, cancel and restart. Fake slavers use the real work streams."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import pytest
from flask.testing import FlaskClient
from redis.exceptions import ConnectionError as RedisConnectionError

from memory import RobotProfile, SharedMemory, TaskRecord
from memory.messages import SubtaskMessage, SubtaskState, TaskState
from tests.master.fakes import (
    FakeSlaver,
    FixedPlanner,
    plan_of,
    setup_world,
    step,
    succeed_after,
    wait_subtask,
    wait_terminal,
)

pytestmark = pytest.mark.anyio


async def publish(client: FlaskClient, task: str = "do it", **body: Any) -> dict[str, Any]:
    response = await anyio.to_thread.run_sync(lambda: client.post("/publish_task", json={"task": task, **body}))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


async def run_task(shared_memory: SharedMemory, client: FlaskClient, slavers: list[FakeSlaver]) -> TaskRecord:
    """Publish a task and wait for its end, then stop ``slavers`` (started already) however it went."""
    try:
        return await wait_terminal(shared_memory, (await publish(client))["task_id"])
    finally:
        for slaver in slavers:
            await slaver.stop()


def fail_once(reason: str = "gripper slipped"):
    calls = {"n": 0}

    async def behave(msg: SubtaskMessage) -> tuple[SubtaskState, str]:
        calls["n"] += 1
        return (SubtaskState.FAILED, reason) if calls["n"] == 1 else (SubtaskState.SUCCEEDED, "")

    return behave


async def never_answer(msg: SubtaskMessage) -> None:
    return None


async def test_dag_runs_in_order_and_parallel_branches_overlap(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    # s1 (r1) and s2 (r2) in parallel; s3 (r2) after both: a handoff.
    planner = FixedPlanner(plan_of(step("s1", "r1"), step("s2", "r2"), step("s3", "r2", order=2)))
    _, client = masters.start(planner)
    slavers = [FakeSlaver(shared_memory, r, succeed_after(0.3)).start() for r in ("r1", "r2")]
    try:
        answer = await publish(client)
        record = await wait_terminal(shared_memory, answer["task_id"])
    finally:
        for s in slavers:
            await s.stop()
    assert record.state == TaskState.SUCCEEDED, record.reason
    runs = {sid: (start, end) for s in slavers for sid, start, end in s.runs}
    assert set(runs) == {"s1", "s2", "s3"}
    overlap = min(runs["s1"][1], runs["s2"][1]) - max(runs["s1"][0], runs["s2"][0])
    assert overlap > 0.1
    assert runs["s3"][0] >= max(runs["s1"][1], runs["s2"][1])
    handoff = record.subtasks["s3"].dispatched_at - max(record.subtasks[s].finished_at for s in ("s1", "s2"))
    assert handoff < 0.25  # released by the result itself, not by a polling interval


async def test_failure_is_replanned_with_the_failure_as_context(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1"), step("s2", "r1", order=2)), plan_of(step("s2", "r2")))
    _, client = masters.start(planner)
    slavers = [FakeSlaver(shared_memory, "r1", fail_once()).start(), FakeSlaver(shared_memory, "r2", succeed_after(0)).start()]
    record = await run_task(shared_memory, client, slavers)
    assert record.state == TaskState.SUCCEEDED, record.reason
    assert record.replans == 1
    states = {sid: s.state for sid, s in record.subtasks.items()}
    assert states == {"s1": SubtaskState.FAILED, "s2": SubtaskState.SUPERSEDED, "r1-s2": SubtaskState.SUCCEEDED}
    context = planner.contexts[1]
    assert context.failed == "s1 on r1" and context.reason == "gripper slipped" and context.done == []
    assert context.avoid_robots == set()


async def test_failure_past_the_bound_fails_the_task_saying_why(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1")))

    async def always_fail(msg: SubtaskMessage) -> tuple[SubtaskState, str]:
        return SubtaskState.FAILED, "apple is not there"

    _, client = masters.start(planner, max_replans=1)
    slaver = FakeSlaver(shared_memory, "r1", always_fail).start()
    record = await run_task(shared_memory, client, [slaver])
    assert record.state == TaskState.FAILED
    assert record.reason == "subtask r1-s1 (robot r1) failed: apple is not there; gave up after 1 replans"
    assert len(planner.contexts) == 2


async def test_timeout_takes_the_failure_path(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1")), plan_of(step("s1", "r2")))
    _, client = masters.start(planner, subtask_timeout_s=0.5)
    slavers = [FakeSlaver(shared_memory, "r1", never_answer).start(), FakeSlaver(shared_memory, "r2", succeed_after(0)).start()]
    record = await run_task(shared_memory, client, slavers)
    assert record.state == TaskState.SUCCEEDED, record.reason
    assert record.subtasks["s1"].state == SubtaskState.TIMED_OUT
    assert record.subtasks["s1"].reason == "no result within 0.5 s of starting"
    assert record.subtasks["r1-s1"].state == SubtaskState.SUCCEEDED


async def test_robot_going_offline_fails_its_subtask_and_is_avoided(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory, ttl_s=0.6)
    planner = FixedPlanner(plan_of(step("s1", "r1")), plan_of(step("s1", "r2")))
    _, client = masters.start(planner)
    dying = FakeSlaver(shared_memory, "r1", never_answer, heartbeat_ttl_s=0.6).start()
    healthy = FakeSlaver(shared_memory, "r2", succeed_after(0), heartbeat_ttl_s=0.6).start()
    try:
        task_id = (await publish(client))["task_id"]
        await wait_subtask(shared_memory, task_id, "s1", SubtaskState.RUNNING)
        dying.stop_heartbeat()
        record = await wait_terminal(shared_memory, task_id)
    finally:
        await dying.stop()
        await healthy.stop()
    assert record.state == TaskState.SUCCEEDED, record.reason
    assert record.subtasks["s1"].state == SubtaskState.FAILED
    assert record.subtasks["s1"].reason == "robot r1 went offline"
    assert planner.contexts[1].avoid_robots == {"r1"}


async def test_a_robot_back_within_the_offline_grace_keeps_its_subtask(shared_memory: SharedMemory, masters) -> None:
    """A liveness key that lapsed (e.g. a Redis restart outlived it) and is renewed within
    ``offline_grace_s`` fails nothing."""
    await setup_world(shared_memory, ttl_s=30.0)
    planner = FixedPlanner(plan_of(step("s1", "r1")))
    _, client = masters.start(planner, offline_grace_s=2.0)
    slaver = FakeSlaver(shared_memory, "r1", succeed_after(1.5)).start()
    try:
        task_id = (await publish(client))["task_id"]
        await wait_subtask(shared_memory, task_id, "s1", SubtaskState.RUNNING)
        await shared_memory.robots.lapse("r1")
        await asyncio.sleep(0.6)  # several offline checks see it gone
        await shared_memory.robots.heartbeat("r1", 30.0)
        record = await wait_terminal(shared_memory, task_id)
    finally:
        await slaver.stop()
    assert record.state == TaskState.SUCCEEDED, record.reason
    assert record.replans == 0


async def test_a_subtask_timed_out_in_the_queue_never_runs_later(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1")), plan_of(step("s1", "r2")))
    _, client = masters.start(planner, subtask_timeout_s=0.5)
    r2 = FakeSlaver(shared_memory, "r2", succeed_after(0)).start()
    # r1's slaver is not reading its stream: s1 waits there until the master gives it up
    record = await run_task(shared_memory, client, [r2])
    assert record.state == TaskState.SUCCEEDED, record.reason
    assert record.subtasks["s1"].state == SubtaskState.TIMED_OUT
    assert record.subtasks["s1"].reason.startswith("not started within 0.5 s")
    late = FakeSlaver(shared_memory, "r1", succeed_after(0)).start()  # r1 comes back and reads s1
    try:
        with anyio.fail_after(5):
            while not late.refused:
                await asyncio.sleep(0.05)
    finally:
        await late.stop()
    assert late.refused == [("s1", "task succeeded")]  # refused by the claim, acknowledged, never run
    assert late.runs == []
    assert await shared_memory.streams.pending_subtasks("r1", "r1") == []


async def test_invalid_replan_fails_the_task(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1")), plan_of(step("s1", "ghost")))
    _, client = masters.start(planner)
    slaver = FakeSlaver(shared_memory, "r1", fail_once()).start()
    record = await run_task(shared_memory, client, [slaver])
    assert record.state == TaskState.FAILED
    assert "the new plan is invalid" in record.reason and "ghost" in record.reason
    assert record.replans == 0


async def test_cancel_stops_the_task_and_ignores_late_results(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1"), step("s2", "r1", order=2)))
    _, client = masters.start(planner)
    slaver = FakeSlaver(shared_memory, "r1", succeed_after(0.5)).start()
    try:
        task_id = (await publish(client))["task_id"]
        await wait_subtask(shared_memory, task_id, "s1", SubtaskState.RUNNING)
        response = await anyio.to_thread.run_sync(lambda: client.post(f"/tasks/{task_id}/cancel"))
        assert response.status_code == 200, response.get_json()
        again = await anyio.to_thread.run_sync(lambda: client.post(f"/tasks/{task_id}/cancel"))
        assert again.status_code == 409 and "already cancelled" in again.get_json()["message"]
        await anyio.sleep(0.7)  # let the late result of s1 arrive; it must change nothing
    finally:
        await slaver.stop()
    record = await shared_memory.tasks.get(task_id)
    assert record.state == TaskState.CANCELLED
    assert {s.state for s in record.subtasks.values()} == {SubtaskState.CANCELLED}
    assert task_id not in await shared_memory.tasks.active_ids()


async def test_a_restarted_master_finishes_the_task(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1"), step("s2", "r2", order=2)))
    first, client = masters.start(planner)
    task_id = (await publish(client))["task_id"]
    first.stop()
    # The master is down while r1 does s1 and reports it.
    [(msg_id, msg)] = await shared_memory.streams.read_subtasks("r1", "r1", block_ms=1000)
    slaver = FakeSlaver(shared_memory, "r1", succeed_after(0))
    await slaver._run(msg_id, msg)
    await shared_memory.streams.ack_subtask("r1", msg_id)
    masters.start(planner)
    finisher = FakeSlaver(shared_memory, "r2", succeed_after(0)).start()
    try:
        record = await wait_terminal(shared_memory, task_id)
    finally:
        await finisher.stop()
    assert record.state == TaskState.SUCCEEDED, record.reason
    assert [r[0] for r in finisher.runs] == ["s2"]


async def test_an_already_done_plan_succeeds_at_once(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    done = plan_of()
    done.info["already_done"] = True
    _, client = masters.start(FixedPlanner(done))
    answer = await publish(client)
    record = await shared_memory.tasks.get(answer["task_id"])
    assert record.state == TaskState.SUCCEEDED and answer["data"]["subtask_list"] == []


async def test_timing_started_at(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(plan_of(step("s1", "r1"))))
    slaver = FakeSlaver(shared_memory, "r1", succeed_after(0.1)).start()
    before = time.time()
    record = await run_task(shared_memory, client, [slaver])
    sub = record.subtasks["s1"]
    assert before <= sub.dispatched_at <= sub.started_at <= sub.finished_at <= record.finished_at


class RecordedWrites:
    """Wraps a running master's ``Writes.run``: the functions of every list it made, and a failure
    to inject once into the first list that ``fail_when`` picks."""

    def __init__(self, service, fail_when=None) -> None:
        self.lists: list[list[str]] = []
        self._run = service.memory.writes.run
        self._fail_when = fail_when
        service.memory.writes.run = self

    async def __call__(self, writes):
        functions = [w.function for w in writes]
        if self._fail_when is not None and self._fail_when(functions):
            self._fail_when = None
            raise RedisConnectionError("injected: the connection dropped before the writes were sent")
        self.lists.append(functions)
        return await self._run(writes)


async def two_robot_handoff(shared_memory: SharedMemory, masters, **recorded: Any):
    """s1 on r1, then s2 on r2, run to the end by fake slavers; the task, the master's writes, the slavers."""
    await setup_world(shared_memory)
    service, client = masters.start(FixedPlanner(plan_of(step("s1", "r1"), step("s2", "r2", order=2))))
    writes = RecordedWrites(service, **recorded)
    slavers = [FakeSlaver(shared_memory, r, succeed_after(0)).start() for r in ("r1", "r2")]
    record = await run_task(shared_memory, client, slavers)
    assert record.state == TaskState.SUCCEEDED, record.reason
    return record, writes, slavers


async def test_a_result_and_the_dispatch_it_releases_are_written_in_one_round_trip(
    shared_memory: SharedMemory, masters
) -> None:
    _, writes, _ = await two_robot_handoff(shared_memory, masters)
    assert writes.lists[0] == ["write_task", "dispatch"]  # the publish: created and s1 queued
    handoff = ["save_subtask", "dispatch", "ack"]  # s1 succeeded, s2 queued, the result acknowledged
    assert handoff in writes.lists or ["save_subtask", *handoff] in writes.lists  # s1's RUNNING may come in the batch
    assert writes.lists[-1][-2:] == ["write_task", "ack"]  # the task recorded succeeded
    assert all(functions[-1] == "ack" for functions in writes.lists if "save_subtask" in functions)  # results'


async def test_writes_that_fail_leave_the_task_as_redis_holds_it_and_are_made_again(
    shared_memory: SharedMemory, masters
) -> None:
    _, writes, slavers = await two_robot_handoff(
        shared_memory, masters, fail_when=lambda functions: functions[-3:] == ["save_subtask", "dispatch", "ack"])
    assert writes._fail_when is None, "the failure was never injected"
    assert [r[0] for r in slavers[1].runs] == ["s2"]  # dispatched once the result was handled again, run once
    history = await shared_memory.events.recent(200)
    succeeded = [e for e in history if e.kind == "subtask_state" and e.data.get("subtask_id") == "s1"
                 and e.data.get("state") == "succeeded"]
    assert len(succeeded) == 1  # the failed step wrote nothing


class WorldRecorder(FixedPlanner):
    """``FixedPlanner`` that also keeps the world of every call."""

    def __init__(self, *plans: Any) -> None:
        super().__init__(*plans)
        self.worlds: list[Any] = []

    async def plan(self, task: str, world: Any, context: Any = None) -> Any:
        self.worlds.append(world)
        return await super().plan(task, world, context)


class LLMWorldRecorder(WorldRecorder):
    uses_llm = True


@pytest.mark.parametrize("planner_type", [WorldRecorder, LLMWorldRecorder])
async def test_a_publish_plans_while_reading_the_fleet_and_plans_again_only_if_it_changed(
    shared_memory: SharedMemory, masters, planner_type: type[WorldRecorder]
) -> None:
    await setup_world(shared_memory)
    planner = planner_type(plan_of(step("s1", "r1")))
    _, client = masters.start(planner)
    await publish(client)
    await publish(client)  # only the first task's own records came in between: the same world
    assert len(planner.worlds) == 2 and planner.worlds[1] is planner.worlds[0]
    await shared_memory.robots.register(RobotProfile("r3", "test_bot", []), "hall")
    await publish(client)  # the read brings r3's registration: planned again on the world with r3
    llm = planner_type.uses_llm
    assert len(planner.worlds) == (4 if not llm else 3)  # an LLM planner is asked once, after the read
    assert "r3" not in planner.worlds[2].robots or llm
    assert "r3" in planner.worlds[-1].robots


class SlowPlanner(WorldRecorder):
    """A planner that asks no LLM and takes ``PLAN_S`` for every plan."""

    PLAN_S = 0.4

    async def plan(self, task: str, world: Any, context: Any = None) -> Any:
        self.worlds.append(world)  # when asked, even if it never answers
        await anyio.sleep(self.PLAN_S)
        return await FixedPlanner.plan(self, task, world, context)


async def test_a_plan_made_again_after_the_fleet_changed_gets_only_what_is_left_of_the_plan_timeout(
    shared_memory: SharedMemory, masters
) -> None:
    """Planning ahead and planning again together stay within ``plan_timeout_s`` (which the HTTP wait
    counts on): the second plan here would need 0.4 s of the 0.2 s left, so the task times out."""
    await setup_world(shared_memory)
    planner = SlowPlanner(plan_of(step("s1", "r1")))
    _, client = masters.start(planner, plan_timeout_s=0.6)
    await publish(client)
    await shared_memory.robots.register(RobotProfile("r3", "test_bot", []), "hall")
    response = await anyio.to_thread.run_sync(lambda: client.post("/publish_task", json={"task": "do it"}))
    assert response.status_code == 504, response.get_json()
    assert "did not answer within 0.6 s" in response.get_json()["message"]
    assert len(planner.worlds) == 3 and "r3" in planner.worlds[2].robots  # ahead, then again on the new world
    record = await shared_memory.tasks.get(response.get_json()["task_id"])
    assert record is not None and record.state == TaskState.FAILED


async def test_planning_ahead_stops_while_the_built_world_is_mostly_out_of_date_and_comes_back(
    shared_memory: SharedMemory, masters, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A symbolic-like planner is asked twice for a publish planned ahead on a world that changed,
    once otherwise; planning ahead stops once the built world was out of date for more than half
    of the last publishes, and comes back when it is current again for half of them."""
    monkeypatch.setattr("master.scheduler.FOLLOW_INTERVAL_S", 3600.0)  # no catch-up between a change and a publish
    await setup_world(shared_memory)
    planner = WorldRecorder(plan_of(step("s1", "r1")))
    _, client = masters.start(planner)
    asked: list[int] = []

    async def publish_counting(change: bool) -> None:
        if change:
            await shared_memory.robots.register(RobotProfile(f"n{len(asked)}", "test_bot", []), "hall")
        before = len(planner.worlds)
        await publish(client)
        asked.append(len(planner.worlds) - before)

    for change in [False] + [True] * 3 + [False] * 2 + [True] + [False] * 3 + [True]:
        await publish_counting(change)
    # (the master built its world at start) current: ahead, asked once; out of date twice: ahead
    # and again; then current 1 of 3: not ahead; 1 of 4, 2 of 5 (unchanged: asked once either way);
    # current 3 of 6: ahead again, out of date; 3 of 7 ... 6 of 10: ahead, out of date
    assert asked == [1, 2, 2, 1, 1, 1, 2, 1, 1, 1, 2]
