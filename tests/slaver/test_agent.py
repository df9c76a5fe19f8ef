"""The slaver against real Redis and real (in-process) MCP skill servers."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from typing import Any

import anyio
import pytest
from redis.exceptions import ClusterDownError, ResponseError, TryAgainError

from brain.errors import BrainError
from brain.step import StepDecision, Stepper
from memory import SharedMemory, SubtaskRecord, SubtaskResult, SubtaskState, TaskState
from skills.client import SkillClient
from skills.sim import build_sim_server
from slaver.skill_link import SkillLink
from slaver.errors import RobotTaken
from tests.slaver.conftest import Results, dispatch, new_task, serving
from tests.slaver.toy_skills import build_trusting_server

pytestmark = pytest.mark.anyio


async def test_registration_carries_full_schemas_semantics_and_capabilities(
    make_slaver, world: SharedMemory, redis_url: str, key_prefix: str
) -> None:
    server = build_sim_server("bot-1", "wheeled_dual_arm", redis_url=redis_url, prefix=key_prefix, speed=0)
    async with SkillClient.in_process(server) as client:  # a client the caller owns
        expected = {s.name: s for s in await client.list_skills()}
        async with serving(make_slaver(link=client)):
            record = await world.robots.get("bot-1")

    assert record is not None and record.online and record.status == "idle"
    assert record.position == "kitchen"
    skills = {s.name: s for s in record.profile.skills}
    assert skills.keys() == {"navigate", "pick", "place", "open", "close", "hand_over"}
    assert {name: s.to_dict() for name, s in skills.items()} == {n: s.to_dict() for n, s in expected.items()}
    place = skills["place"]
    assert place.input_schema["required"] == ["object", "target"]
    assert place.input_schema["properties"]["object"]["description"] == "The name of the object in the scene"
    assert (place.semantics.kind, place.semantics.roles) == ("place", {"object": "object", "target": "target"})
    assert record.profile.capabilities["mobile"] is True and record.profile.capabilities["grippers"] == 2
    assert record.profile.embodiment == "wheeled_dual_arm"
    assert record.profile.skill_endpoint == "in-process:bot-1"


async def test_heartbeat_keeps_the_robot_online_and_stopping_marks_it_offline(
    make_slaver, world: SharedMemory
) -> None:
    slaver = make_slaver(heartbeat_interval_s=0.1, liveness_ttl_s=0.4)
    async with serving(slaver) as stop:
        first = (await world.robots.get("bot-1")).last_heartbeat
        with anyio.fail_after(10):  # outlive the TTL several times over, beat by beat
            while (record := await world.robots.get("bot-1")).last_heartbeat < first + 1.2:
                assert record.online, "the robot dropped offline while its slaver was beating"
                await anyio.sleep(0.05)
        stop.set()
    record = await world.robots.get("bot-1")
    assert not record.online and record.status == "offline"
    assert "bot-1" not in await world.robots.online_names()
    assert [e.kind for e in await world.events.recent(5) if e.robot == "bot-1"][-1] == "robot_offline"


async def test_the_first_heartbeat_comes_at_a_random_point_of_the_first_interval(
    make_slaver, world: SharedMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slavers started together do not beat in lockstep: the first beat's wait is drawn from the
    interval (here drawn as 0.5 s of 30 s), the later ones are the interval."""
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return 0.5

    monkeypatch.setattr("slaver.agent.uniform", uniform)
    async with serving(make_slaver(heartbeat_interval_s=30.0, liveness_ttl_s=60.0)):
        registered = (await world.robots.get("bot-1")).last_heartbeat
        with anyio.fail_after(5):  # the interval is 30 s
            while (await world.robots.get("bot-1")).last_heartbeat == registered:
                await anyio.sleep(0.02)
    assert drawn == [(0, 30.0)]


async def test_a_cluster_node_not_serving_yet_does_not_stop_the_heartbeat(
    make_slaver, world: SharedMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted cluster node answers CLUSTERDOWN or TRYAGAIN until it serves its slots: errors
    from Redis, not lost connections. The slaver keeps beating through them (it once stopped, and
    its robot went offline while it served)."""
    beat = world.robots.heartbeat
    refusals = [ClusterDownError("The cluster is down"), TryAgainError("Multiple keys request during rehashing")]

    async def heartbeat(*args: Any, **kwargs: Any) -> bool:
        if refusals:
            raise refusals.pop(0)
        return await beat(*args, **kwargs)

    monkeypatch.setattr(world.robots, "heartbeat", heartbeat)
    async with serving(make_slaver(heartbeat_interval_s=0.1, liveness_ttl_s=5.0)):
        registered = (await world.robots.get("bot-1")).last_heartbeat
        with anyio.fail_after(5):
            while (await world.robots.get("bot-1")).last_heartbeat == registered:
                await anyio.sleep(0.05)
    assert refusals == []


async def test_subtask_runs_in_order_applies_effects_and_acks_only_after_the_result(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    order: list[str] = []
    together: list[list[str]] = []  # the writes made in each round trip that posted a result
    streams = world.streams
    run_writes, ack, claim = world.writes.run, streams.ack_subtask, streams.claim

    async def spy_claim(entry_id, msg, lease, running):
        order.append(f"claim, post {running.state}")
        return await claim(entry_id, msg, lease, running)

    async def spy_writes(writes):  # record the order the slaver talks to the streams in
        for write in writes:
            if write.function == "report":
                together.append([w.function for w in writes])
                order.append(f"post {json.loads(write.args[2])['state']}")
                if write.args[4]:
                    order.append("ack")  # the report posts, then acks (test_streams checks that order)
        return await run_writes(writes)

    async def spy_ack(robot, msg_id):
        order.append("ack")
        return await ack(robot, msg_id)

    world.writes.run, streams.ack_subtask, streams.claim = spy_writes, spy_ack, spy_claim
    await new_task(world, "t1")
    async with serving(make_slaver(start="dining_room")):
        version = await world.scene.version()  # the robot's node is in
        await dispatch(world, "t1", "s1", "bot-1",
                       ("navigate", {"target": "counter"}), ("pick", {"object": "apple"}),
                       ("navigate", {"target": "table_1"}), ("place", {"object": "apple", "target": "table_1"}))
        result = await results.terminal("s1")
        with anyio.fail_after(5):  # the ack and the idle status follow the result
            while (record := await world.robots.get("bot-1")).status != "idle":
                await anyio.sleep(0.02)
        assert await world.streams.pending_subtasks("bot-1", consumer="bot-1") == []

    assert results.states("s1") == [SubtaskState.RUNNING, SubtaskState.SUCCEEDED]
    assert order == ["claim, post running", "post succeeded", "ack"]
    assert together == [["scene_commit", "report"]]  # the last call's effects go with the report: one round trip
    assert [o.name for o in result.outcomes] == ["navigate", "pick", "navigate", "place"]
    assert all(o.ok for o in result.outcomes) and result.robot == "bot-1" and result.attempt == 0
    assert 0 < result.started_at <= result.finished_at
    apple = await world.scene.get("apple")
    assert (apple.parent, apple.relation) == ("table_1", "on")
    assert await world.scene.version() == version + 4
    effects = [e for e in await world.events.recent(50) if e.kind == "effects"]
    assert [(e.robot, e.task_id) for e in effects] == [("bot-1", "t1")] * 4
    assert [e.data["effects"][0]["node"] for e in effects] == ["bot-1", "apple", "bot-1", "apple"]
    assert record.status == "idle" and record.current_subtask is None and record.position == "dining_room"


async def test_the_nodes_a_subtask_names_are_read_once_beside_the_claim(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    """Every call's effects then commit without a read of their own (the commit still checks them)."""
    reads: list[list[str]] = []
    read = world.scene._read_around

    async def spy_read(names, *args, **kwargs):
        reads.append(list(names))
        return await read(names, *args, **kwargs)

    world.scene._read_around = spy_read
    await new_task(world, "t1")
    async with serving(make_slaver(start="dining_room")):
        await dispatch(world, "t1", "s1", "bot-1",
                       ("navigate", {"target": "counter"}), ("pick", {"object": "apple"}),
                       ("navigate", {"target": "table_1"}), ("place", {"object": "apple", "target": "table_1"}))
        result = await results.terminal("s1")

    assert result.state == SubtaskState.SUCCEEDED
    assert reads == [["apple", "bot-1", "counter", "table_1"]]
    apple, robot = await world.scene.get("apple"), await world.scene.get("bot-1")
    assert (apple.parent, robot.parent) == ("table_1", "dining_room")


async def test_a_failed_read_ahead_only_costs_the_reads_it_would_have_saved(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    async def broken_prefetch(names):
        raise ResponseError("BUSY Redis is busy running a script")

    world.scene.prefetch = broken_prefetch
    await new_task(world, "t1")
    async with serving(make_slaver(start="dining_room")):
        await dispatch(world, "t1", "s1", "bot-1", ("navigate", {"target": "counter"}), ("pick", {"object": "apple"}))
        result = await results.terminal("s1")
    assert result.state == SubtaskState.SUCCEEDED
    assert (await world.scene.get("apple")).parent == "bot-1"


async def test_a_failing_skill_fails_the_subtask_with_its_message_and_skips_the_rest(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    async with serving(make_slaver()):
        version = await world.scene.version()
        await dispatch(world, "t1", "s1", "bot-1", ("pick", {"object": "cup"}), ("navigate", {"target": "table_1"}))
        result = await results.terminal("s1")

    assert result.state == SubtaskState.FAILED
    assert result.reason.startswith("pick(object=cup) failed: ")
    assert "cup is in the dining_room but bot-1 is in the kitchen" in result.reason
    assert [(o.name, o.ok) for o in result.outcomes] == [("pick", False)]
    assert (await world.robots.get("bot-1")).position == "kitchen"
    assert await world.scene.version() == version


async def test_effects_that_conflict_with_the_scene_fail_the_subtask_and_change_nothing(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    link = SkillLink(lambda: SkillClient.in_process(build_trusting_server("bot-1")), "in-process:trusting")
    async with serving(make_slaver(link=link)):
        version = await world.scene.version()
        await dispatch(world, "t1", "s1", "bot-1", ("pick", {"object": "apple", "source": "table_1"}))
        result = await results.terminal("s1")

    assert result.state == SubtaskState.FAILED
    assert result.reason.startswith("pick(object=apple, source=table_1) succeeded but its effects conflict")
    assert "apple" in result.reason and "table_1" in result.reason
    assert await world.scene.version() == version
    assert (await world.scene.get("apple")).parent == "counter"


async def test_a_subtask_of_a_cancelled_task_is_acknowledged_and_not_run(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "gone", TaskState.CANCELLED)
    await new_task(world, "t2")
    async with serving(make_slaver()):
        await dispatch(world, "gone", "s-gone", "bot-1", ("navigate", {"target": "table_1"}))
        await dispatch(world, "t2", "s2", "bot-1", ("pick", {"object": "apple"}))
        assert (await results.terminal("s2")).state == SubtaskState.SUCCEEDED

    assert await world.streams.pending_subtasks("bot-1", consumer="bot-1") == []  # s2 done before stopping
    assert results.states("s-gone") == []
    assert (await world.robots.get("bot-1")).position == "kitchen"


async def test_cancelling_mid_subtask_stops_before_the_next_action(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    async with serving(make_slaver(sim={"speed": 1.0})):  # navigate takes 2 s
        await dispatch(world, "t1", "s1", "bot-1", ("navigate", {"target": "counter"}), ("pick", {"object": "apple"}))
        await results.until(lambda seen: SubtaskState.RUNNING in [r.state for r in seen])
        await world.tasks.set_state("t1", TaskState.CANCELLED, "user cancelled")
        result = await results.terminal("s1")

    assert (result.state, result.reason) == (SubtaskState.FAILED, "task cancelled")
    assert [o.name for o in result.outcomes] == ["navigate"]
    assert (await world.scene.get("apple")).parent == "counter"


async def test_a_subtask_that_outlives_its_timeout_fails_with_the_time(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    async with serving(make_slaver(sim={"speed": 1.0})):  # navigate takes 2 s
        await dispatch(world, "t1", "s1", "bot-1", ("navigate", {"target": "counter"}), timeout_s=0.3)
        result = await results.terminal("s1")

    assert result.state == SubtaskState.FAILED
    assert result.reason.startswith("timed out after 0.3 s in navigate(target=counter): timed out after 0.")


async def test_leftovers_started_before_are_reported_interrupted_and_never_run_unstarted_ones_run(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    for sid in ("s-lost", "s-done", "s-unstarted"):
        await dispatch(world, "t1", sid, "bot-1", ("navigate", {"target": "table_1"}))
    # A previous run of this robot's slaver took all three and acknowledged none: it had started
    # s-lost; the master had already recorded s-done's terminal result (the slaver died between
    # posting and acking); it died before starting s-unstarted. Its lease has lapsed since.
    await world.robots.acquire("bot-1", "old-run", ttl_s=5.0)
    delivered = await world.streams.read_subtasks("bot-1", consumer="bot-1", block_ms=100, count=3)
    assert [m.subtask_id for _, m in delivered] == ["s-lost", "s-done", "s-unstarted"]
    entry_id, lost = delivered[0]
    running = SubtaskResult("t1", "s-lost", "bot-1", SubtaskState.RUNNING)
    assert await world.streams.claim(entry_id, lost, "old-run", running) is None
    await world.tasks.save_subtask("t1", SubtaskRecord("s-done", "bot-1", "x", state=SubtaskState.SUCCEEDED))
    await world.robots.mark_offline("bot-1", "old-run")
    await results.until(lambda seen: len(seen) == 1)  # the old run's RUNNING report

    async with serving(make_slaver()):
        lost_result = await results.terminal("s-lost")
        unstarted = await results.terminal("s-unstarted")
        assert await world.streams.pending_subtasks("bot-1", consumer="bot-1") == []

    assert lost_result.state == SubtaskState.INTERRUPTED and "not re-run" in lost_result.reason
    assert results.states("s-lost") == [SubtaskState.RUNNING, SubtaskState.INTERRUPTED]
    assert results.states("s-done") == []
    assert unstarted.state == SubtaskState.SUCCEEDED
    assert (await world.robots.get("bot-1")).position == "dining_room"  # s-unstarted moved it


async def test_a_subtask_without_tool_calls_needs_a_step_planner(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    async with serving(make_slaver()):
        await dispatch(world, "t1", "s1", "bot-1")
        result = await results.terminal("s1")
    assert (result.state, result.reason) == (SubtaskState.FAILED, "no tool calls given and no step planner configured")


class ScriptedStepper(Stepper):
    """Plays a fixed list of calls, then finishes; records what the slaver told it."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]], summary: str = "apple in hand", ok: bool = True) -> None:
        self.calls = list(calls)
        self.summary, self.ok = summary, ok
        self.seen: list[tuple[str, list[str], list[dict[str, Any]], dict[str, Any]]] = []

    async def next_action(self, subtask, tools, history, state) -> StepDecision:
        self.seen.append((subtask, [t["name"] for t in tools], list(history), dict(state)))
        if len(history) == len(self.calls):
            return StepDecision.finish(self.summary, ok=self.ok)
        return StepDecision.call(*self.calls[len(history)])


async def test_a_free_text_subtask_runs_through_the_step_planner(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    stepper = ScriptedStepper([("navigate", {"target": "counter"}), ("pick", {"object": "apple"})])
    await new_task(world, "t1")
    async with serving(make_slaver(start="dining_room", stepper=stepper)):
        await dispatch(world, "t1", "s1", "bot-1")
        result = await results.terminal("s1")

    assert (result.state, result.reason) == (SubtaskState.SUCCEEDED, "apple in hand")
    assert [o.name for o in result.outcomes] == ["navigate", "pick"]
    assert (await world.scene.get("apple")).parent == "bot-1"
    subtask, tools, history, state = stepper.seen[-1]
    assert subtask == "subtask s1" and "pick" in tools
    assert [h["name"] for h in history] == ["navigate", "pick"]
    assert (state["robot"], state["position"], state["holding"]) == ("bot-1", "kitchen", ["apple"])


async def test_a_step_planner_that_gives_up_or_never_acts_fails_the_subtask(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    gave_up = ScriptedStepper([("navigate", {"target": "counter"})], "stopped: the model repeated a call", ok=False)
    idle = ScriptedStepper([], "bar_shelf")
    await new_task(world, "t1")
    async with serving(make_slaver(stepper=gave_up)):
        await dispatch(world, "t1", "s1", "bot-1")
        first = await results.terminal("s1")
    async with serving(make_slaver(stepper=idle)):
        await dispatch(world, "t1", "s2", "bot-1")
        second = await results.terminal("s2")
    assert (first.state, first.reason) == (
        SubtaskState.FAILED, "the step planner gave up: stopped: the model repeated a call")
    assert [o.name for o in first.outcomes] == ["navigate"]
    assert (second.state, second.reason) == (
        SubtaskState.FAILED, "the step planner finished without acting: bar_shelf")
    assert second.outcomes == []
    assert (await world.scene.get("apple")).parent == "counter"


async def test_a_step_planner_that_never_finishes_is_bounded(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    stepper = ScriptedStepper([("open", {"target": "counter"})] * 10)
    await new_task(world, "t1")
    async with serving(make_slaver(stepper=stepper, max_steps=3)):
        await dispatch(world, "t1", "s1", "bot-1")
        result = await results.terminal("s1")
    assert result.state == SubtaskState.FAILED
    assert [o.ok for o in result.outcomes] == [False]  # the counter is no container: stops at once
    assert result.reason.startswith("open(target=counter) failed: counter is furniture, not a container or a door")

    await new_task(world, "t2")
    stepper = ScriptedStepper([("navigate", {"target": "kitchen"})] * 10)
    async with serving(make_slaver(stepper=stepper, max_steps=3)):
        await dispatch(world, "t2", "s2", "bot-1")
        result = await results.terminal("s2")
    assert (result.state, result.reason) == (SubtaskState.FAILED, "the step planner did not finish within 3 steps")
    assert len(result.outcomes) == 3


async def test_a_started_slaver_reports_when_its_skill_server_cannot_be_reached(
    world: SharedMemory,
) -> None:
    from slaver.agent import Slaver
    from slaver.config import SlaverConfig
    from slaver.errors import SkillServerUnreachable

    config = SlaverConfig(robot="bot-x", embodiment="wheeled_dual_arm", skill_url="http://127.0.0.1:9/mcp",
                          connect_timeout_s=5.0)
    started = time.monotonic()
    with pytest.raises(SkillServerUnreachable, match=r"cannot reach the skill server at http://127\.0\.0\.1:9/mcp"):
        await Slaver(config, world).run(anyio.Event())
    assert time.monotonic() - started < 5.0
    assert await world.robots.get("bot-x") is None


async def test_stopping_mid_subtask_reports_it_interrupted_before_the_next_action(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    async with serving(make_slaver(sim={"speed": 1.0})) as stop:  # navigate takes 2 s
        await dispatch(world, "t1", "s1", "bot-1", ("navigate", {"target": "counter"}), ("pick", {"object": "apple"}))
        await results.until(lambda seen: SubtaskState.RUNNING in [r.state for r in seen])
        stop.set()
    result = await results.terminal("s1")

    assert result.state == SubtaskState.INTERRUPTED
    assert result.reason == "interrupted: the slaver was stopped before finishing this subtask; not re-run"
    assert [o.name for o in result.outcomes] == ["navigate"]
    assert await world.streams.pending_subtasks("bot-1", consumer="bot-1") == []
    assert (await world.scene.get("apple")).parent == "counter"


class BrokenStepper(Stepper):
    async def next_action(self, subtask, tools, history, state) -> StepDecision:
        raise BrainError("model endpoint http://127.0.0.1:9/v1 unreachable")


async def test_a_step_planner_fault_fails_the_subtask_and_the_slaver_keeps_serving(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    async with serving(make_slaver(stepper=BrokenStepper())):
        await dispatch(world, "t1", "s1", "bot-1")
        await dispatch(world, "t1", "s2", "bot-1", ("pick", {"object": "apple"}))
        broken, fine = await results.terminal("s1"), await results.terminal("s2")
    assert (broken.state, broken.reason) == (
        SubtaskState.FAILED, "the step planner failed: model endpoint http://127.0.0.1:9/v1 unreachable")
    assert fine.state == SubtaskState.SUCCEEDED


async def test_a_second_slaver_for_a_served_robot_refuses_to_start(make_slaver, world: SharedMemory) -> None:
    async with serving(make_slaver()):
        second = make_slaver()
        with anyio.fail_after(5), pytest.raises(RobotTaken, match="already served by another slaver on this host"):
            await second.run(asyncio.Event())
        assert (await world.robots.get("bot-1")).online  # the first one still serves it


async def test_a_slaver_waits_for_a_remote_lease_and_refuses_while_it_is_renewed(
    make_slaver, world: SharedMemory
) -> None:
    await world.robots.acquire("bot-1", "far-host:123:abc", ttl_s=0.6)  # lapses: its slaver is gone
    async with serving(make_slaver(liveness_ttl_s=0.6, heartbeat_interval_s=0.2)):
        assert (await world.robots.get("bot-1")).online
    renewing = True

    async def renew() -> None:  # a slaver on another host that keeps beating
        while renewing:
            await world.redis.set(world.keys.alive("bot-1"), "far-host:123:abc", px=600)
            await asyncio.sleep(0.1)

    beat = asyncio.create_task(renew())
    try:
        with anyio.fail_after(5), pytest.raises(RobotTaken, match="still heartbeating"):
            await make_slaver(liveness_ttl_s=0.6, heartbeat_interval_s=0.2).run(asyncio.Event())
    finally:
        renewing = False
        await beat


async def test_a_slaver_whose_lease_was_taken_over_stops_serving(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    slaver = make_slaver(liveness_ttl_s=0.6, heartbeat_interval_s=0.1)
    task = asyncio.create_task(slaver.run(asyncio.Event()))
    with anyio.fail_after(10):
        await slaver.ready.wait()
        await world.redis.set(world.keys.alive("bot-1"), "usurper:1:x", px=5000)
        with pytest.raises(RobotTaken, match="served by another slaver"):
            await task
    await dispatch(world, "t1", "s1", "bot-1", ("navigate", {"target": "table_1"}))
    assert await results.until(lambda seen: True, timeout_s=1) == []  # nobody ran it
    assert await world.redis.get(world.keys.alive("bot-1")) == "usurper:1:x"  # not dropped on the way out


async def test_an_entry_left_pending_by_a_fenced_out_slaver_runs_when_the_holder_is_idle(
    make_slaver, world: SharedMemory, results: Results
) -> None:
    await new_task(world, "t1")
    await dispatch(world, "t1", "s1", "bot-1", ("navigate", {"target": "table_1"}))
    key = world.keys.subtasks("bot-1")
    [[_, [[entry_id, _]]]] = await world.redis.xreadgroup("slavers", "zombie", {key: ">"}, count=1)
    async with serving(make_slaver()):
        # Another process of this robot read it and lost the lease before claiming it: the entry
        # sits in the robot's pending list, never delivered to the slaver serving the robot now.
        await world.redis.xclaim(key, "slavers", "bot-1", 0, [entry_id])
        result = await results.terminal("s1")
    assert result.state == SubtaskState.SUCCEEDED
    assert results.states("s1") == [SubtaskState.RUNNING, SubtaskState.SUCCEEDED]


async def test_a_restarted_slaver_takes_over_the_lease_of_its_dead_predecessor_at_once(
    make_slaver, world: SharedMemory
) -> None:
    dead = subprocess.Popen(["true"])  # a finished process: its pid names no one now
    dead.wait()
    await world.robots.acquire("bot-1", f"{socket.gethostname()}:{dead.pid}:old", ttl_s=60.0)
    async with serving(make_slaver(liveness_ttl_s=60.0)):  # ready within serving's 15 s, not after 60 s
        assert (await world.robots.get("bot-1")).online
