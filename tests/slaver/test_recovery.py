"""A slaver killed mid-subtask loses nothing, and a skill server that goes away fails subtasks
clearly and degrades the robot while the slaver keeps serving and reconnects. Real processes: ``roboos slaver`` and ``python -m skills.sim``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
import pytest

from brain.errors import PlanningError
from brain.plan import Plan
from brain.symbolic import SymbolicPlanner
from brain.world import WorldView
from memory import SharedMemory, SubtaskState
from slaver.agent import Slaver
from slaver.config import SlaverConfig
from tests.slaver.conftest import Results, dispatch, new_task, serving

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def sim_command(robot: str, redis_url: str, prefix: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "skills.sim", "--robot", robot, "--embodiment", "wheeled_dual_arm",
            "--redis-url", redis_url, "--prefix", prefix, "--speed", "0", "--log-level", "WARNING", *extra]


@asynccontextmanager
async def process(argv: list[str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process with stderr to ``log``, killed (with what it spawned) if still running at the end."""
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=err)
    spawned: set[int] = set()
    try:
        yield proc
    finally:
        spawned |= children(proc.pid)
        for pid in (proc.pid, *spawned):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)


def children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


async def wait_for_line(log: Path, text: str, proc: asyncio.subprocess.Process, times: int = 1,
                        timeout_s: float = 20.0) -> None:
    with anyio.fail_after(timeout_s):
        while log.read_text(errors="replace").count(text) < times:
            assert proc.returncode is None, f"process exited {proc.returncode}:\n{log.read_text()}"
            await anyio.sleep(0.05)


async def wait_listening(port: int, timeout_s: float = 20.0) -> None:
    with anyio.fail_after(timeout_s):
        while True:
            try:
                stream = await anyio.connect_tcp("127.0.0.1", port)
            except OSError:
                await anyio.sleep(0.05)
            else:
                await stream.aclose()
                return


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def slaver_command(robot: str, redis_url: str, prefix: str, skill_command: list[str]) -> list[str]:
    return [sys.executable, "-m", "deploy.cli", "slaver", "--robot", robot, "--embodiment", "wheeled_dual_arm",
            "--start-place", "kitchen", "--redis-url", redis_url, "--prefix", prefix,
            "--skill-command", json.dumps(skill_command),
            "--set", "slaver.heartbeat_interval_s=0.2", "--set", "slaver.liveness_ttl_s=1"]


async def test_a_slaver_killed_mid_subtask_reports_it_interrupted_on_restart_and_never_reruns_it(
    world: SharedMemory, results: Results, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    slow_sim = sim_command("bot-k", redis_url, key_prefix, "--added-latency", "60")
    log = tmp_path / "slaver.log"
    await new_task(world, "t1")
    async with process(slaver_command("bot-k", redis_url, key_prefix, slow_sim), log) as first:
        await wait_for_line(log, "slaver bot-k ready (6 skills)", first)
        await dispatch(world, "t1", "s1", "bot-k", ("navigate", {"target": "table_1"}))
        await results.until(lambda seen: [r.state for r in seen] == [SubtaskState.RUNNING])
        skill_servers = children(first.pid)
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 10)
    for pid in skill_servers:  # what the dead slaver spawned does not outlive the test
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert [m.subtask_id for _, m in await world.streams.pending_subtasks("bot-k", "bot-k")] == ["s1"]

    fast_sim = sim_command("bot-k", redis_url, key_prefix)
    async with process(slaver_command("bot-k", redis_url, key_prefix, fast_sim), log) as second:
        await wait_for_line(log, "slaver bot-k ready (6 skills)", second, times=2)  # leftovers handled
        interrupted = await results.terminal("s1")
        assert await world.streams.pending_subtasks("bot-k", "bot-k") == []
        await dispatch(world, "t1", "s2", "bot-k", ("navigate", {"target": "counter"}))
        assert (await results.terminal("s2")).state == SubtaskState.SUCCEEDED
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 15) == 0

    assert interrupted.state == SubtaskState.INTERRUPTED
    assert interrupted.reason == "interrupted: the slaver stopped while running this subtask; not re-run"
    assert results.states("s1") == [SubtaskState.RUNNING, SubtaskState.INTERRUPTED]
    effects = [e for e in await world.events.recent(100) if e.kind == "effects"]
    assert [e.data["effects"][0]["parent"] for e in effects] == ["kitchen"]  # s2 only: s1 never re-ran
    record = await world.robots.get("bot-k")
    assert not record.online and record.position == "kitchen"
    assert log.read_text().count("slaver bot-k ready (6 skills)") == 2


async def plan(memory: SharedMemory, task: str) -> Plan:
    """Plan ``task`` on the fleet and scene as the master reads them now."""
    robots, scene = await memory.robots.list(), await memory.scene.snapshot()
    return await SymbolicPlanner().plan(task, WorldView.from_dicts([r.to_dict() for r in robots], scene.to_dict()))


async def degraded(memory: SharedMemory, robot: str, expected: str, timeout_s: float = 15.0) -> None:
    with anyio.fail_after(timeout_s):
        while (await memory.robots.get(robot)).degraded != expected:
            await anyio.sleep(0.05)


async def test_a_skill_server_that_goes_away_degrades_the_robot_until_the_slaver_reconnects(
    world: SharedMemory, results: Results, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    http_sim = sim_command("bot-h", redis_url, key_prefix, "--transport", "streamable-http", "--port", str(port))
    config = SlaverConfig(robot="bot-h", embodiment="wheeled_dual_arm", start_place="kitchen", skill_url=url,
                          read_block_ms=100, default_call_timeout_s=5.0, connect_timeout_s=5.0,
                          reconnect_initial_s=0.05, reconnect_max_s=0.5)
    slaver = Slaver(config, world)
    await new_task(world, "t1")
    async with process(http_sim, tmp_path / "sim-1.log") as server:
        await wait_listening(port)
        async with serving(slaver):
            await dispatch(world, "t1", "s1", "bot-h", ("navigate", {"target": "table_1"}))
            assert (await results.terminal("s1")).state == SubtaskState.SUCCEEDED
            server.kill()
            await asyncio.wait_for(server.wait(), 10)

            await dispatch(world, "t1", "s2", "bot-h", ("navigate", {"target": "counter"}))
            down = await results.terminal("s2")
            record = await world.robots.get("bot-h")  # marked before the failure was posted
            await dispatch(world, "t1", "s3", "bot-h", ("navigate", {"target": "counter"}))
            still_down = await results.terminal("s3")
            with pytest.raises(PlanningError, match="bot-h: its skill server is unreachable"):
                await plan(world, "bring the cup to the counter")

            async with process(http_sim, tmp_path / "sim-2.log"):
                await wait_listening(port)
                await degraded(world, "bot-h", "")
                await dispatch(world, "t1", "s4", "bot-h", ("navigate", {"target": "counter"}))
                back = await results.terminal("s4")
                replanned = await plan(world, "bring the cup to the counter")

    assert down.state == SubtaskState.FAILED
    assert down.reason.startswith("navigate(target=counter) not run: ") and url in down.reason
    assert (record.online, record.degraded) == (True, "its skill server is unreachable")
    assert still_down.state == SubtaskState.FAILED
    assert still_down.reason.startswith("navigate(target=counter) not run: ") and url in still_down.reason
    assert back.state == SubtaskState.SUCCEEDED, back.reason
    assert {s.robot_name for s in replanned.steps} == {"bot-h"}
    assert (await world.robots.get("bot-h")).position == "kitchen"
    kinds = [e.kind for e in await world.events.recent(100) if e.kind.startswith("robot_")]
    assert kinds[-3:] == ["robot_degraded", "robot_recovered", "robot_offline"]
