"""``roboos bench dispatch``: the system's own overhead on the embedded stack, in figures.

What runs: a real Redis server (embedded), the real master as its own process (HTTP, symbolic
planner, scheduler), and real slavers in this process, each talking MCP to an in-process
simulated skill server with instant skills (speed 0). Every skill call is timestamped by the
slaver side with ``time.perf_counter()`` (CLOCK_MONOTONIC, shared by the processes of a machine).

Figures:
- publish: from just before ``POST /publish_task`` to the first skill call of the task;
- handoff: from the last skill call of a robot's subtask returning to the first skill call of the
  dependent subtask on another robot;
- throughput: subtasks completed per second with N robots, each subtask one skill call, tasks of
  one subtask per robot published while the previous one runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from deploy.bench_client import published_id
from deploy.launcher import Launcher, free_port, http_ready, python_module
from memory import SharedMemory
from memory.messages import TERMINAL_TASK_STATES, TaskState, ToolOutcome
from memory.profiles import SceneNode
from memory.server import EmbeddedRedis
from skills.client import SkillClient
from skills.sim.server import build_sim_server
from slaver.agent import Slaver
from slaver.config import SlaverConfig, SlaverSettings

__all__ = ["CallLog", "TimedSkills", "percentile", "percentiles", "pool_size", "publish",
           "run_dispatch_bench", "serve_fleet", "start_master"]

PREFIX = "bench:"


@dataclass
class CallLog:
    """When each robot's skill calls started and ended."""

    calls: list[tuple[str, str, float, float]] = field(default_factory=list)  # robot, tool, start, end


class TimedSkills:
    """A ``SkillClient`` stand-in that timestamps every call it forwards."""

    def __init__(self, robot: str, client: SkillClient, log: CallLog) -> None:
        self.robot, self._client, self._log = robot, client, log
        self.endpoint = client.endpoint

    async def list_skills(self) -> Any:
        return await self._client.list_skills()

    async def capabilities(self) -> dict[str, Any]:
        return await self._client.capabilities()

    async def call(self, name: str, arguments: dict[str, Any], timeout_s: float = 60.0) -> ToolOutcome:
        start = time.perf_counter()
        outcome = await self._client.call(name, arguments, timeout_s)
        self._log.calls.append((self.robot, name, start, time.perf_counter()))
        return outcome


def run_dispatch_bench(args: argparse.Namespace, out: TextIO) -> int:
    return asyncio.run(_bench(args, out))


async def _bench(args: argparse.Namespace, out: TextIO) -> int:
    with tempfile.TemporaryDirectory(prefix="roboos-bench-") as tmp, contextlib.ExitStack() as stack:
        redis_url = args.redis_url
        if not redis_url:
            redis_url = stack.enter_context(EmbeddedRedis(Path(tmp) / "redis", auth=False)).url  # throwaway
        launcher = stack.enter_context(Launcher(Path(tmp) / "logs"))
        print(f"bench: Redis {redis_url}; starting the master...", file=out, flush=True)
        await _handoff_bench(args, out, redis_url, launcher)
        await _throughput_bench(args, out, redis_url, launcher)
    return 0


def start_master(launcher: Launcher, redis_url: str, prefix: str) -> str:
    port = free_port()
    argv = python_module("deploy.cli", "master", "--port", str(port), "--redis-url", redis_url,
                         "--prefix", prefix, "--log-level", "WARNING")
    url = f"http://127.0.0.1:{port}"
    launcher.start(f"master-{prefix.strip(':')}", argv, ready=http_ready(f"{url}/health"), timeout_s=30)
    return url


async def _handoff_bench(args: argparse.Namespace, out: TextIO, redis_url: str, launcher: Launcher) -> None:
    prefix = f"{PREFIX}handoff:"
    count = args.handoffs
    nodes = _handoff_scene(count)
    fleet = {"fetcher": ("wheeled_dual_arm", "kitchen", ["kitchen", "pass"]),
             "server": ("humanoid", "dining", ["pass", "dining"])}
    log = CallLog()
    async with _fleet(redis_url, prefix, nodes, fleet, log) as memory:
        master = start_master(launcher, redis_url, prefix)
        publish_ms, handoff_ms = [], []
        async with httpx.AsyncClient(base_url=master, timeout=30) as http:
            for i in range(count):
                first = len(log.calls)
                t0 = time.perf_counter()
                task_id = await publish(http, f"bring box_{i} to dining_table")
                await _wait_terminal(memory, task_id, timeout_s=30)
                calls = log.calls[first:]
                publish_ms.append((calls[0][2] - t0) * 1000)
                handoff_ms.append(_handoff_gap(calls) * 1000)
    print(f"publish -> first skill call: {percentiles(publish_ms)} ({count} tasks)", file=out)
    print(f"handoff: {percentiles(handoff_ms)} ({count} handoffs)", file=out, flush=True)


async def _throughput_bench(args: argparse.Namespace, out: TextIO, redis_url: str, launcher: Launcher) -> None:
    prefix = f"{PREFIX}throughput:"
    robots = [f"r{k:03d}" for k in range(args.robots)]
    nodes = [SceneNode(f"{r}_{p}", "place") for r in robots for p in ("a", "b", "c")]
    fleet = {r: ("wheeled_dual_arm", f"{r}_a", [f"{r}_a", f"{r}_b", f"{r}_c"]) for r in robots}
    rounds = max(1, args.subtasks // len(robots))
    log = CallLog()
    async with _fleet(redis_url, prefix, nodes, fleet, log) as memory:
        master = start_master(launcher, redis_url, prefix)
        async with httpx.AsyncClient(base_url=master, timeout=60) as http:
            t0 = time.perf_counter()
            in_flight: list[str] = []
            for n in range(rounds):
                place = "bca"[n % 3]
                text = ". ".join(f"{r} go to {r}_{place}" for r in robots)
                in_flight.append(await publish(http, text))
                if len(in_flight) == 2:
                    await _wait_terminal(memory, in_flight.pop(0), timeout_s=120)
            for task_id in in_flight:
                await _wait_terminal(memory, task_id, timeout_s=120)
            elapsed = time.perf_counter() - t0
    done = len(log.calls)
    print(f"throughput: {done / elapsed:.0f} subtasks/s ({len(robots)} robots, {done} subtasks "
          f"in {elapsed:.2f} s)", file=out, flush=True)


@contextlib.asynccontextmanager
async def _fleet(
    redis_url: str, prefix: str, nodes: list[SceneNode], fleet: dict[str, tuple[str, str, list[str]]], log: CallLog
) -> AsyncIterator[SharedMemory]:
    """Load the scene, then run one slaver per robot on an in-process instant sim server."""
    memory = await SharedMemory.connect(redis_url, prefix=prefix, max_connections=pool_size(len(fleet)))
    await memory.clear()
    await memory.scene.load(nodes)
    async with serve_fleet(memory, redis_url, prefix, fleet, log):
        yield memory
    await memory.close()


def pool_size(robots: int) -> int:
    """Every slaver holds a blocking stream read and heartbeats on the shared pool: size it for them."""
    return 4 * robots + 20


@contextlib.asynccontextmanager
async def serve_fleet(
    memory: SharedMemory, redis_url: str, prefix: str, fleet: dict[str, tuple[str, str, list[str]]], log: CallLog,
    ready_timeout_s: float = 60.0, settings: SlaverSettings | None = None,
) -> AsyncIterator[list[Slaver]]:
    """One slaver per robot (``name: (embodiment, start, zones)``) on an in-process instant sim
    server, serving until the block ends; ``log`` gets every skill call. ``settings``: the
    ``slaver:`` section they share (default: the defaults)."""
    settings = settings or SlaverSettings()
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        slavers = []
        for name, (embodiment, start, zones) in fleet.items():
            server = build_sim_server(name, embodiment, redis_url=redis_url, prefix=prefix, zones=zones, speed=0)
            client = await stack.enter_async_context(SkillClient.in_process(server))
            config = SlaverConfig.for_robot(settings, robot=name, embodiment=embodiment, start_place=start,
                                            skill_url="in-process")
            slavers.append(Slaver(config, memory, TimedSkills(name, client, log)))
        tasks = [asyncio.create_task(s.run(stop)) for s in slavers]
        try:
            await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in slavers)), timeout=ready_timeout_s)
            yield slavers
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=30)


def _handoff_scene(count: int) -> list[SceneNode]:
    nodes = [SceneNode("kitchen", "place"), SceneNode("pass", "place"), SceneNode("dining", "place"),
             SceneNode("kitchen_shelf", "furniture", "kitchen", "at"),
             SceneNode("pass_counter", "furniture", "pass", "at"),
             SceneNode("dining_table", "furniture", "dining", "at")]
    nodes += [SceneNode(f"box_{i}", "object", "kitchen_shelf", "on", {"weight_kg": 0.1}) for i in range(count)]
    return nodes


async def publish(http: httpx.AsyncClient, text: str) -> str:
    response = await http.post("/publish_task", json={"task": text})
    return published_id(response.status_code, response.json())


async def _wait_terminal(memory: SharedMemory, task_id: str, timeout_s: float) -> None:
    """Wait for the task's terminal ``task_state`` event (no polling of the record)."""
    deadline = time.monotonic() + timeout_s
    recent = await memory.events.recent(1)
    last_id = recent[-1].id if recent else "0-0"
    while time.monotonic() < deadline:
        state = await memory.tasks.state(task_id)
        if state in TERMINAL_TASK_STATES:
            if state != TaskState.SUCCEEDED:
                record = await memory.tasks.get(task_id)
                raise RuntimeError(f"bench task {task_id} {state}: {record.reason if record else ''}")
            return
        events = await memory.events.after(last_id, block_ms=500)
        if events:
            last_id = events[-1].id
    raise TimeoutError(f"bench task {task_id} not done after {timeout_s} s")


def _handoff_gap(calls: list[tuple[str, str, float, float]]) -> float:
    """Seconds from the fetcher's last call returning to the server's first call starting."""
    fetcher_end = max(end for robot, _, _, end in calls if robot == "fetcher")
    server_start = min(start for robot, _, start, _ in calls if robot == "server")
    return server_start - fetcher_end


def percentiles(values_ms: list[float]) -> str:
    return f"p50 {percentile(values_ms, 0.5):.1f} ms, p99 {percentile(values_ms, 0.99):.1f} ms"


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (the median for 0.5, the nearest rank otherwise)."""
    ordered = sorted(values)
    if q == 0.5:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
