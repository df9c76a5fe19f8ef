"""``GET /metrics``: a real master over HTTP, fake slavers on the real work streams, scraped and parsed."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import ClusterDownError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError

from master.errors import MemoryBusy, MemoryUnavailable
from memory import SharedMemory
from memory.counters import RobotCounters
from memory.messages import SubtaskMessage, SubtaskState, ToolOutcome
from tests.master.conftest import Masters
from tests.master.fakes import FakeSlaver, FixedPlanner, plan_of, setup_world, step, succeed_after, wait_terminal

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


async def scrape_until(http: httpx.AsyncClient, done: Callable[[Samples], bool], timeout_s: float = 5.0) -> Samples:
    """Scrape until ``done``: the master counts a task's end just after recording it, which the test saw."""
    with anyio.fail_after(timeout_s):
        while not done(found := await scrape(http)):
            await anyio.sleep(0.02)
    return found


async def test_a_task_with_a_handoff_moves_every_master_figure(shared_memory: SharedMemory, masters: Masters) -> None:
    await setup_world(shared_memory)
    slavers = [FakeSlaver(shared_memory, r, succeed_after(0)).start() for r in ("r1", "r2")]
    planner = FixedPlanner(plan_of(step("s1", "r1"), step("s2", "r2", 2, depends_on=["s1"])))
    try:
        with masters.serve(planner) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                before = await scrape(http)
                published = await http.post("/publish_task", json={"task": "hand it over"})
                record = await wait_terminal(shared_memory, published.json()["task_id"])
                after = await scrape_until(http, lambda now: value(now, "roboos_tasks_total", state="succeeded") > 0)
    finally:
        for slaver in slavers:
            await slaver.stop()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert record.state == "succeeded"
    assert moved("roboos_tasks_total", state="running") == 1
    assert moved("roboos_tasks_total", state="succeeded") == 1
    assert moved("roboos_tasks_total", state="failed") == 0
    assert moved("roboos_subtasks_total", state="dispatched") == 2
    assert moved("roboos_subtasks_total", state="running") == 2
    assert moved("roboos_subtasks_total", state="succeeded") == 2
    assert moved("roboos_plan_seconds_count", kind="plan") == 1
    assert moved("roboos_subtask_result_seconds_count") == 2
    assert moved("roboos_handoff_seconds_count") == 1  # s1 on r1 -> s2 on r2
    assert 0 <= moved("roboos_handoff_seconds_sum") < 5
    assert value(after, "roboos_shared_memory_up") == 1
    assert value(after, "roboos_robots_registered") == 2 and value(after, "roboos_robots_online") == 2
    assert sum(v for (name, _), v in after.items() if name == "roboos_active_tasks") == 0
    assert value(after, "roboos_redis_errors_total", kind="down") == 0


async def test_a_replan_and_its_failed_subtask_are_counted(shared_memory: SharedMemory, masters: Masters) -> None:
    await setup_world(shared_memory)

    async def fail(msg: SubtaskMessage) -> tuple[SubtaskState, str]:
        return SubtaskState.FAILED, "dropped it"

    slavers = [FakeSlaver(shared_memory, "r1", fail).start(), FakeSlaver(shared_memory, "r2", succeed_after(0)).start()]
    planner = FixedPlanner(plan_of(step("s1", "r1")), plan_of(step("s1", "r2")))
    try:
        with masters.serve(planner, max_replans=1) as base:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                published = await http.post("/publish_task", json={"task": "try twice"})
                record = await wait_terminal(shared_memory, published.json()["task_id"])
                after = await scrape_until(http, lambda now: value(now, "roboos_tasks_total", state="succeeded") > 0)
    finally:
        for slaver in slavers:
            await slaver.stop()

    assert record.state == "succeeded" and record.replans == 1
    assert value(after, "roboos_replans_total", outcome="adopted") == 1
    assert value(after, "roboos_plan_seconds_count", kind="replan") == 1
    assert value(after, "roboos_subtasks_total", state="failed") == 1
    assert value(after, "roboos_subtasks_total", state="succeeded") == 1
    assert value(after, "roboos_subtask_result_seconds_count") == 2


async def test_slaver_counters_are_exported_with_a_robot_label(shared_memory: SharedMemory, masters: Masters) -> None:
    await setup_world(shared_memory)
    counters = RobotCounters(shared_memory.redis, shared_memory.keys, "r1")
    counters.skill_call("move", ToolOutcome("move", {}, ok=True), 0.003)
    counters.skill_call("move", ToolOutcome("move", {}, ok=False, message="blocked"), 0.2)
    counters.skill_call("pick", None, 7.0)
    counters.subtask("succeeded")
    counters.reconnect()
    assert await counters.flush()

    with masters.serve(FixedPlanner(plan_of(step("s1", "r1")))) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            samples = await scrape(http)

    calls = "roboos_slaver_skill_calls_total"
    assert value(samples, calls, robot="r1", tool="move", outcome="ok") == 1
    assert value(samples, calls, robot="r1", tool="move", outcome="failed") == 1
    assert value(samples, calls, robot="r1", tool="pick", outcome="unreachable") == 1
    assert value(samples, "roboos_slaver_subtasks_total", robot="r1", state="succeeded") == 1
    assert value(samples, "roboos_slaver_skill_reconnects_total", robot="r1") == 1
    assert value(samples, "roboos_slaver_skill_call_seconds_count", robot="r1") == 3
    assert value(samples, "roboos_slaver_skill_call_seconds_sum", robot="r1") == pytest.approx(7.203)
    assert value(samples, "roboos_slaver_skill_call_seconds_bucket", robot="r1", le="0.005") == 1
    assert value(samples, "roboos_slaver_skill_call_seconds_bucket", robot="r1", le="0.25") == 2
    assert value(samples, "roboos_slaver_skill_call_seconds_bucket", robot="r1", le="+Inf") == 3


async def test_each_master_has_its_own_registry(shared_memory: SharedMemory, masters: Masters) -> None:
    await setup_world(shared_memory)
    planner = FixedPlanner(plan_of(step("s1", "r1")))
    (_, first), (_, second) = masters.start(planner), masters.start(planner)
    assert first.post("/publish_task", json={"task": "one"}).status_code == 200
    one, other = parse(first.get("/metrics").text), parse(second.get("/metrics").text)
    assert value(one, "roboos_tasks_total", state="running") == 1
    assert value(other, "roboos_tasks_total", state="running") == 0
    assert value(one, "roboos_active_tasks", state="running") == 1
    assert value(one, "roboos_active_subtasks", state="dispatched") == 1


async def test_redis_errors_are_counted_by_kind(shared_memory: SharedMemory, masters: Masters) -> None:
    service, client = masters.start(FixedPlanner(plan_of(step("s1", "r1"))))

    async def raise_(exc: Exception) -> None:
        raise exc

    with pytest.raises(MemoryUnavailable):
        service.call(raise_(RedisConnectionError("gone")))
    with pytest.raises(MemoryUnavailable):  # a cluster node restarting: unreachable too, not a 500
        service.call(raise_(ClusterDownError("The cluster is down")))
    with pytest.raises(MemoryBusy):
        service.call(raise_(MaxConnectionsError("full")))
    with pytest.raises(MemoryBusy):
        service.call(raise_(MemoryBusy("no free connection", 1)))
    samples = parse(client.get("/metrics").text)
    assert value(samples, "roboos_redis_errors_total", kind="down") == 2
    assert value(samples, "roboos_redis_errors_total", kind="busy") == 2


async def test_metrics_answer_without_shared_memory(shared_memory: SharedMemory, masters: Masters) -> None:
    """Scraping a master that cannot reach its loop or Redis still answers, saying so."""
    service, client = masters.start(FixedPlanner(plan_of(step("s1", "r1"))))
    service.stop()
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = parse(response.text)
    assert value(samples, "roboos_shared_memory_up") == 0
    assert not any(name == "roboos_robots_online" for name, _ in samples)


async def test_metrics_are_open_like_every_get(shared_memory: SharedMemory, masters: Masters) -> None:
    _, client = masters.start(FixedPlanner(plan_of(step("s1", "r1"))), auth_token="tok")
    assert client.get("/metrics").status_code == 200
    assert client.post("/metrics").status_code == 405
