"""One action model for many robots (skills.serving.ActionScheduler): model time by budget while
robots wait, priorities first, compatible requests batched, a busy server refusing at once with a
retry-after, a failed model call failing only its own requests, and ``roboos bench actions``."""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from deploy.bench_actions import main as bench_main
from deploy.bench_actions import run_actions_bench
from skills.serving import ActionScheduler, ActionServerBusy, SharingOptions, add_sharing_arguments, parse_budgets

pytestmark = pytest.mark.anyio


def recording_model(calls: list[list[Any]], seconds: float = 0.005) -> Callable[[list[Any]], Awaitable[list[Any]]]:
    """A model that takes ``seconds`` per call and answers each request with itself."""

    async def run_batch(requests: list[Any]) -> list[Any]:
        calls.append(list(requests))
        await asyncio.sleep(seconds)
        return list(requests)

    return run_batch


async def keep_asking(scheduler: ActionScheduler[Any, Any], robot: str, count: int) -> None:
    """Two requests of ``robot`` waiting at all times until ``count`` were answered."""
    left = [count]

    async def lane() -> None:
        while left[0] > 0:
            left[0] -= 1
            await scheduler.submit(robot, robot)

    await asyncio.gather(lane(), lane())


async def test_backlogged_robots_get_model_time_by_budget() -> None:
    calls: list[list[Any]] = []
    async with ActionScheduler(recording_model(calls), budgets={"a": 3.0, "b": 1.0}, max_wait_s=60) as scheduler:
        b = asyncio.create_task(keep_asking(scheduler, "b", 1000))
        await keep_asking(scheduler, "a", 90)
        stats = scheduler.stats()  # both waited all along
        used = stats["a"].model_s / stats["b"].model_s
        b.cancel()
        await asyncio.gather(b, return_exceptions=True)
    assert 2.4 <= used <= 3.6, (used, [call[0] for call in calls])


async def test_an_idle_robot_rejoins_at_the_current_virtual_time() -> None:
    calls: list[list[Any]] = []
    async with ActionScheduler(recording_model(calls), max_wait_s=60) as scheduler:
        await keep_asking(scheduler, "a", 30)  # a alone: b used nothing meanwhile
        b = asyncio.create_task(keep_asking(scheduler, "b", 10))
        await keep_asking(scheduler, "a", 10)
        await b
    after = [call[0] for call in calls][30:50]
    assert after.count("a") >= 8, after  # b does not claim the 30 calls it did not ask for


async def test_priority_robots_go_first() -> None:
    calls: list[list[Any]] = []
    async with ActionScheduler(recording_model(calls, 0.05), priorities={"urgent": 1}, max_wait_s=60) as scheduler:
        first = asyncio.create_task(scheduler.submit("slow", "slow-1"))
        await anyio.sleep(0.01)  # the model is busy with slow-1
        later = asyncio.create_task(scheduler.submit("slow", "slow-2"))
        urgent = asyncio.create_task(scheduler.submit("urgent", "urgent-1"))
        await asyncio.gather(first, later, urgent)
    assert [call[0] for call in calls] == ["slow-1", "urgent-1", "slow-2"]


async def test_compatible_requests_run_as_one_batch() -> None:
    calls: list[list[Any]] = []
    async with ActionScheduler(recording_model(calls, 0.05), max_batch=3, batch_key=lambda r: r[0],
                               max_wait_s=60) as scheduler:
        first = asyncio.create_task(scheduler.submit("r0", "A0"))
        await anyio.sleep(0.01)
        rest = [asyncio.create_task(scheduler.submit(robot, request))
                for robot, request in (("r1", "A1"), ("r2", "B2"), ("r3", "A3"))]
        answers = await asyncio.gather(first, *rest)
    assert answers == ["A0", "A1", "B2", "A3"]  # each robot its own result
    assert calls == [["A0"], ["A1", "A3"], ["B2"]]
    assert sum(s.model_s for s in scheduler.stats().values()) > 0


async def test_a_busy_server_refuses_at_once_with_a_retry_after() -> None:
    calls: list[list[Any]] = []
    gate = asyncio.Event()  # the model answers nothing until the test opens it

    async def held(requests: list[Any]) -> list[Any]:
        calls.append(list(requests))
        await gate.wait()
        return list(requests)

    async with ActionScheduler(held, max_pending=1, max_wait_s=0.5, expected_model_s=0.2) as scheduler:
        running = asyncio.create_task(scheduler.submit("a", "a-1"))
        await anyio.sleep(0.02)
        waiting = asyncio.create_task(scheduler.submit("a", "a-2"))
        await anyio.sleep(0.02)
        with pytest.raises(ActionServerBusy, match="busy for a: 1 of its requests already wait") as too_many:
            await scheduler.submit("a", "a-3")
        waiting_b = asyncio.create_task(scheduler.submit("b", "b-1"))  # the call running + a-2: 0.4 s, taken
        await anyio.sleep(0.02)
        with pytest.raises(ActionServerBusy, match=r"about 0.60 s of model work is ahead of it \(limit 0.5 s\)") as slow:
            await scheduler.submit("c", "c-1")
        with pytest.raises(ActionServerBusy):  # back too soon: still refused
            await scheduler.submit("c", "c-1")
        await anyio.sleep(slow.value.retry_after_s)
        assert scheduler.expected_wait_s("c") > 0.5  # as long a wait as before...
        late = asyncio.create_task(scheduler.submit("c", "c-1"))  # ...but back after the retry-after: in line
        await anyio.sleep(0.02)
        assert scheduler.waiting("c") == 1
        gate.set()
        await asyncio.gather(running, waiting, waiting_b, late)
    assert too_many.value.retry_after_s > 0
    assert scheduler.stats()["a"].refused == 1 and scheduler.stats()["c"].refused == 2
    assert sorted(call[0] for call in calls) == ["a-1", "a-2", "b-1", "c-1"]


async def test_a_failed_model_call_fails_only_its_requests() -> None:
    async def flaky(requests: list[str]) -> list[str]:
        await asyncio.sleep(0.01)
        if "boom" in requests:
            raise RuntimeError("CUDA error: device-side assert triggered")
        return [r.upper() for r in requests]

    async with ActionScheduler(flaky, max_wait_s=60) as scheduler:
        with pytest.raises(RuntimeError, match="device-side assert"):
            await scheduler.submit("a", "boom")
        assert await scheduler.submit("a", "fine") == "FINE"
    assert (scheduler.stats()["a"].failed, scheduler.stats()["a"].served) == (1, 1)


def test_a_scheduler_serves_again_on_a_new_loop() -> None:
    calls: list[list[Any]] = []
    scheduler: ActionScheduler[str, str] = ActionScheduler(recording_model(calls), max_wait_s=60)

    async def once(request: str) -> str:
        scheduler.start()
        return await scheduler.submit("a", request)

    assert anyio.run(once, "first") == "first"
    assert anyio.run(once, "second") == "second"  # the first loop and its worker are gone


def test_settings_are_checked() -> None:
    assert parse_budgets(["a=2", "b = 0.5"]) == {"a": 2.0, "b": 0.5}
    for bad in (["a"], ["a=0"], ["=2"], ["a=x"], ["a=-1"]):
        with pytest.raises(ValueError, match="expected ROBOT=SHARE"):
            parse_budgets(bad)
    with pytest.raises(ValueError, match="budget of 'a' must be > 0"):
        ActionScheduler(recording_model([]), budgets={"a": 0})
    parser = argparse.ArgumentParser()
    add_sharing_arguments(parser)
    options = SharingOptions.from_args(parser.parse_args(["--budget", "a=2", "--priority", "a", "--max-wait", "1"]))
    assert options == SharingOptions({"a": 2.0}, {"a": 1}, 2, 1.0)
    with pytest.raises(ValueError, match="--max-wait > 0"):
        SharingOptions.from_args(parser.parse_args(["--max-wait", "0"]))


def test_the_actions_bench_prints_shares_fairness_and_underruns() -> None:
    args = argparse.Namespace(robots=3, rate_list=[50.0, 20.0], load_list=[0.5, 2.0], duration=2.0, horizon=20,
                              lead=10, priority_robots=1, max_batch=1, max_wait=0.5, subtask_timeout=5.0)
    out = io.StringIO()
    assert run_actions_bench(args, out) == 0
    text = out.getvalue()
    assert "load 50%: model" in text and "priority: r0" in text
    last = text.strip().splitlines()[-2:]
    assert last[0].startswith("at 50% load: shares within ") and "Jain fairness" in last[0]
    assert last[1].startswith("at 200% load: priority robots ") and "failed subtasks" in last[1]
    assert bench_main(["--loads", "x"]) == 2 and bench_main(["--lead", "60"]) == 2
