"""The slaver's counters (``memory.counters``): counted while it serves, in Redis once it stops,
and exported by a real master's ``GET /metrics`` with a ``robot`` label."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from memory import SharedMemory, SubtaskState
from memory.counters import RobotCounters, read_counters
from memory.messages import ToolOutcome
from skills.client import SkillClient
from skills.errors import SkillUnavailable
from skills.sim import build_sim_server
from tests.master.conftest import Masters
from tests.master.fakes import FixedPlanner, plan_of, step, wait_terminal
from tests.slaver.conftest import Results, dispatch, new_task, serving

pytestmark = pytest.mark.anyio

FETCH = [{"name": "navigate", "arguments": {"target": "counter"}}, {"name": "pick", "arguments": {"object": "apple"}},
         {"name": "navigate", "arguments": {"target": "table_1"}},
         {"name": "place", "arguments": {"object": "apple", "target": "table_1"}}]


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


class FlakySkills:
    """A real skill client whose first call finds the server unreachable (as a dropped connection would)."""

    def __init__(self, client: SkillClient) -> None:
        self._client, self.endpoint, self.failed = client, client.endpoint, False

    async def list_skills(self) -> Any:
        return await self._client.list_skills()

    async def capabilities(self) -> dict[str, Any]:
        return await self._client.capabilities()

    async def call(self, name: str, arguments: dict[str, Any], timeout_s: float = 60.0) -> ToolOutcome:
        if not self.failed:
            self.failed = True
            raise SkillUnavailable("connection dropped")
        return await self._client.call(name, arguments, timeout_s)


async def test_a_published_task_moves_the_slaver_counters_the_master_exports(
    make_slaver, world: SharedMemory, redis_url: str, key_prefix: str
) -> None:
    masters = Masters(redis_url, key_prefix)
    try:
        async with serving(make_slaver()):
            _, client = masters.start(FixedPlanner(plan_of(step("s1", "bot-1", actions=FETCH))))
            published = client.post("/publish_task", json={"task": "bring the apple to table_1"})
            assert published.status_code == 200, published.get_json()
            record = await wait_terminal(world, published.get_json()["task_id"])
        # the slaver has stopped: its last flush is in
        response = client.get("/metrics")
    finally:
        for service in masters.started:
            service.stop()

    assert record.state == "succeeded", record.reason
    found = samples(response.get_data(as_text=True))

    def value(name: str, **labels: str) -> float:
        return found.get((name, frozenset(labels.items())), 0.0)

    calls = "roboos_slaver_skill_calls_total"
    assert value(calls, robot="bot-1", tool="navigate", outcome="ok") == 2
    assert value(calls, robot="bot-1", tool="pick", outcome="ok") == 1
    assert value(calls, robot="bot-1", tool="place", outcome="ok") == 1
    assert value("roboos_slaver_skill_call_seconds_count", robot="bot-1") == len(FETCH)
    assert value("roboos_slaver_subtasks_total", robot="bot-1", state="succeeded") == 1
    assert value("roboos_slaver_skill_reconnects_total", robot="bot-1") == 0
    assert value("roboos_subtask_result_seconds_count") == 1  # the master's side of the same subtask


async def test_an_unreachable_skill_server_and_the_reconnect_are_counted(
    make_slaver, world: SharedMemory, results: Results, redis_url: str, key_prefix: str
) -> None:
    server = build_sim_server("bot-1", "wheeled_dual_arm", redis_url=redis_url, prefix=key_prefix, speed=0)
    async with SkillClient.in_process(server) as client:
        slaver = make_slaver(link=FlakySkills(client), reconnect_initial_s=0.01, reconnect_max_s=0.05)
        async with serving(slaver):
            await new_task(world, "t1")
            await dispatch(world, "t1", "s1", "bot-1", ("navigate", {"target": "counter"}))
            assert (await results.terminal("s1")).state == SubtaskState.FAILED
            with anyio.fail_after(10):  # the circuit closes: the robot's degraded mark is cleared
                while (await world.robots.get("bot-1")).degraded:
                    await anyio.sleep(0.02)
            await dispatch(world, "t1", "s2", "bot-1", ("navigate", {"target": "counter"}))
            assert (await results.terminal("s2")).state == SubtaskState.SUCCEEDED

    [counts] = await read_counters(world.redis, world.keys)
    assert counts.robot == "bot-1"
    assert counts.skill_calls == {("navigate", "unreachable"): 1, ("navigate", "ok"): 1}
    assert counts.subtasks == {"failed": 1, "succeeded": 1}
    assert counts.reconnects == 1
    assert counts.call_count == 2


async def test_counts_a_failed_flush_could_not_send_are_sent_by_the_next(world: SharedMemory) -> None:
    away = aioredis.Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.5)  # nothing listens there
    counters = RobotCounters(away, world.keys, "bot-9")
    counters.skill_call("wave", ToolOutcome("wave", {}, ok=True), 0.01)
    counters.subtask("succeeded")
    try:
        assert not await counters.flush()
    finally:
        await away.aclose()
    counters.skill_call("wave", ToolOutcome("wave", {}, ok=True), 0.01)
    counters._redis = world.redis  # Redis is back
    assert await counters.flush()

    [counts] = await read_counters(world.redis, world.keys)
    assert counts.skill_calls == {("wave", "ok"): 2}
    assert counts.subtasks == {"succeeded": 1}
    assert counts.call_seconds_sum == pytest.approx(0.02)
    assert dict(counts.cumulative_buckets())["0.01"] == 2
