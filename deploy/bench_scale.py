"""``roboos bench scale``: the dispatch path's figures as the fleet grows to 10, 100 and 1000 robots.

Example::

    roboos bench scale                                  # 10, 100 and 1000 robots, then 200 for throughput
    roboos bench scale --robots 3 --tasks 5 --handoffs 3 --workers 1 --throughput-robots 3

Per fleet size: a synthetic ring world (``deploy.synthetic.ring_world``: at least 8 rooms,
furniture, five objects per robot) loaded into an embedded Redis under its own prefix, the real master as its own
process, and the slavers grouped in ``--workers`` processes (``deploy.bench_scale_worker``), each
serving its robots in one asyncio loop on in-process simulated skill servers with instant skills.
Skill calls are timestamped in the workers with ``time.perf_counter()`` (CLOCK_MONOTONIC, shared
by the processes of a machine) and streamed back to the bench. Figures:

- publish: from just before ``POST /publish_task`` ("bot_0012 go to room_0007", one subtask) to
  the skill call's start, tasks one after another; and the POST's round trip, both from a process
  that only sends them (``deploy.bench_client``, the standard library's ``http.client``); then one
  task in five more through httpx from the bench's loop, whose own cost shows as the difference;
- handoff: "bring item_00042 to table_0011" four rooms away, where the plan is two subtasks on two
  robots, the second depending on the first: from the first robot's last call returning to the
  second robot's first call (plans of another shape are skipped and counted);
- throughput: ``--subtasks`` one-subtask tasks, ``--concurrency`` of them in flight, over the
  time from the first POST to the last task's end (no new task after ``--throughput-s``);
- the CPU time per throughput subtask of the master, the slaver workers, Redis and the bench
  itself (all share this machine's cores, so their sum bounds the throughput);
- the master's resident memory and Redis ``used_memory`` once the size's runs are done.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TextIO

import httpx

from deploy.bench import percentile, percentiles, publish, start_master
from deploy.bench_client import PlainPublisher
from deploy.bench_scale_worker import CALLS_STREAM, READY_TIMEOUT_S, scale_world
from deploy.launcher import Launcher, log_line_ready, python_module
from deploy.synthetic import LIGHT_KG, SyntheticWorld
from memory import SharedMemory
from memory.messages import TERMINAL_TASK_STATES, TaskState
from memory.server import EmbeddedCluster, EmbeddedRedis

__all__ = ["run_scale_bench"]

PREFIX = "bench:scale:"
READ_BLOCK_MS = 1000  # the observer's blocking reads
READ_PAUSE_S = 0.005  # between the observer's reads of the history: a wake-up per event would compete
                      # for the cores with the paths it times (their times come from the workers)
TASK_TIMEOUT_S = 60.0  # for one task to end, and for its calls to reach the bench after that
HANDOFF_DISTANCE = 4  # rooms between an object and its table: beyond one mobile robot's reach of 3
HANDOFF_TRIES = 4  # tasks published per handoff wanted, at most
HTTPX_SHARE = 5  # one task in this many more is published through httpx, for its share of the POST


@dataclass
class Call:
    robot: str
    tool: str
    start: float
    end: float


@dataclass
class SizeResult:
    """The figures of one fleet size."""

    robots: int
    workers: int
    ready_s: float = 0.0
    publish_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    post_httpx_ms: list[float] = field(default_factory=list)
    handoff_ms: list[float] = field(default_factory=list)
    skipped_plans: int = 0
    subtasks: int = 0
    elapsed_s: float = 0.0
    concurrency: int = 0
    master_rss_mb: float = 0.0
    redis_mb: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)  # per throughput subtask, by process group

    @property
    def rate(self) -> float:
        return self.subtasks / self.elapsed_s if self.elapsed_s else 0.0


class Observer:
    """Follows, for one prefix, the event history (which tasks ended, how) and the workers' calls."""

    def __init__(self, memory: SharedMemory) -> None:
        self._memory = memory
        self.ended: dict[str, tuple[str, str]] = {}  # task id: (state, reason)
        self.calls: list[Call] = []
        self._changed = asyncio.Condition()
        self._readers: list[asyncio.Task[None]] = []
        self._stopping = False

    async def __aenter__(self) -> Self:
        self._readers = [asyncio.create_task(self._follow_events()), asyncio.create_task(self._follow_calls())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Let the readers see ``_stopping`` after their current read, as the master's loops do:
        redis-py can swallow a cancel that lands as a blocking read returns."""
        self._stopping = True
        _, late = await asyncio.wait(self._readers, timeout=READ_BLOCK_MS / 1000 + 2)
        for reader in late:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    async def _follow_events(self) -> None:
        last_id = "0-0"
        while not self._stopping:
            events = await self._memory.events.after(last_id, block_ms=READ_BLOCK_MS, count=1000)
            if not events:
                continue
            last_id = events[-1].id
            for event in events:
                if event.kind == "task_state" and event.task_id and event.data.get("state") in TERMINAL_TASK_STATES:
                    self.ended[event.task_id] = (event.data["state"], event.data.get("reason") or "")
            await self._notify()
            await asyncio.sleep(READ_PAUSE_S)

    async def _follow_calls(self) -> None:
        key, last_id = self._memory.keys.key(CALLS_STREAM), "0-0"
        while not self._stopping:
            reply = await self._memory.redis.xread({key: last_id}, count=1000, block=READ_BLOCK_MS)
            if not reply:
                continue
            entries = reply[0][1]
            last_id = entries[-1][0]
            self.calls += [Call(f["robot"], f["tool"], float(f["start"]), float(f["end"])) for _, f in entries]
            await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait(self, done: Any, what: str, timeout_s: float = TASK_TIMEOUT_S) -> None:
        """Wait until ``done()`` holds; ``TimeoutError`` naming ``what`` after ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s), self._changed:
                await self._changed.wait_for(done)
        except TimeoutError:
            raise TimeoutError(f"bench: {what} not seen after {timeout_s:.0f} s") from None

    async def succeeded(self, task_id: str) -> None:
        await self.wait(lambda: task_id in self.ended, f"the end of task {task_id}")
        state, reason = self.ended[task_id]
        if state != TaskState.SUCCEEDED:
            raise RuntimeError(f"bench task {task_id} {state}: {reason}")

    async def calls_since(self, t0: float, count: int) -> list[Call]:
        """The first ``count`` calls started after ``t0`` (tasks run one at a time here)."""
        await self.wait(lambda: sum(c.start >= t0 for c in self.calls) >= count, f"{count} skill calls")
        return sorted((c for c in self.calls if c.start >= t0), key=lambda c: c.start)[:count]


class Movers:
    """The robots that can move, each sent back and forth between its first two rooms."""

    def __init__(self, world: SyntheticWorld, seed: int = 11) -> None:
        self._zones = {e.name: e.zones[:2] for e in world.fleet if len(e.zones) > 1}
        self._away: set[str] = set()
        self.names = sorted(self._zones)
        random.Random(seed).shuffle(self.names)

    def instruction(self, robot: str) -> str:
        """The next move of ``robot``: one navigation, to the room it is not in."""
        home, away = self._zones[robot]
        target = home if robot in self._away else away
        self._away ^= {robot}
        return f"{robot} go to {target}"


def run_scale_bench(args: argparse.Namespace, out: TextIO) -> int:
    return asyncio.run(_bench(args, out))


async def _bench(args: argparse.Namespace, out: TextIO) -> int:
    sizes = args.robots
    throughput_size = args.throughput_robots
    with tempfile.TemporaryDirectory(prefix="roboos-bench-scale-") as tmp:
        folder = Path(tmp)
        embedded = EmbeddedCluster if args.cluster else EmbeddedRedis
        with embedded(folder / "redis", auth=False) as redis:  # throwaway
            kind = "a 3-master Redis Cluster from" if args.cluster else "Redis"
            print(f"scale: {kind} {redis.url}; fleets of {', '.join(map(str, sizes))} robots, "
                  f"{args.workers} worker processes", file=out, flush=True)
            results = {}
            for robots in sizes:
                results[robots] = await _run_size(robots, args, redis.url, folder, out, full=True)
                _table(results[robots], out)
            if throughput_size not in results:
                results[throughput_size] = await _run_size(throughput_size, args, redis.url, folder, out, full=False)
                _table(results[throughput_size], out)
    largest = results[max(sizes)]
    print(f"publish at {largest.robots} robots: {percentiles(largest.publish_ms)}", file=out)
    print(f"throughput at {throughput_size} robots: {results[throughput_size].rate:.0f} subtasks/s", file=out,
          flush=True)
    return 0


async def _run_size(
    robots: int, args: argparse.Namespace, redis_url: str, folder: Path, out: TextIO, *, full: bool
) -> SizeResult:
    """Load the size's world, start its workers and master, run the phases, and clear it all."""
    prefix = f"{PREFIX}{robots}:"
    world = scale_world(robots)
    result = SizeResult(robots, min(args.workers, robots))
    memory = await SharedMemory.connect(redis_url, prefix=prefix, max_connections=16)
    try:
        await memory.clear()
        await memory.scene.load(world.nodes)
        with Launcher(folder / f"logs-{robots}") as launcher:
            started = time.perf_counter()
            _start_workers(launcher, redis_url, prefix, robots, result.workers)
            result.ready_s = time.perf_counter() - started
            master = start_master(launcher, redis_url, prefix)
            pid = next(p.popen.pid for p in launcher.processes if p.name.startswith("master"))
            print(f"  {robots} robots: {len(world.nodes)} scene nodes, slavers ready in {result.ready_s:.1f} s, "
                  "master up", file=out, flush=True)
            workers = [p.popen.pid for p in launcher.processes if p.name.startswith("worker")]
            async with Observer(memory) as observer, httpx.AsyncClient(base_url=master, timeout=60) as http:
                movers = Movers(world)
                if full:
                    await _publish_phase(args.tasks, master, http, observer, movers, result, out)
                    await _handoff_phase(args.handoffs, world, http, memory, observer, result, out)
                before = await _cpu_s(memory, pid, workers)
                await _throughput_phase(args, http, observer, movers, result, out)
                after = await _cpu_s(memory, pid, workers)
                result.cpu_ms = {k: (after[k] - before[k]) * 1000 / max(result.subtasks, 1) for k in before}
            result.master_rss_mb = _rss_mb(pid)
            result.redis_mb = int((await memory.info())["used_memory"]) / 2**20
        await memory.clear()
    finally:
        await memory.close()
    return result


def _start_workers(launcher: Launcher, redis_url: str, prefix: str, robots: int, workers: int) -> None:
    processes = [
        launcher.start(f"worker-{index}", python_module(
            "deploy.bench_scale_worker", "--redis-url", redis_url, "--prefix", prefix, "--robots", str(robots),
            "--slice", str(index), "--of", str(workers)))
        for index in range(workers)
    ]
    for process in processes:
        launcher.wait_ready(process, log_line_ready("ready:"), timeout_s=READY_TIMEOUT_S + 30)


async def _publish_phase(
    count: int, master: str, http: httpx.AsyncClient, observer: Observer, movers: Movers, result: SizeResult,
    out: TextIO,
) -> None:
    """One-subtask tasks, one at a time, to robots across the fleet, POSTed from their own process;
    then a few through httpx from this loop, for the share of the round trip an async client takes here."""
    plain = PlainPublisher(master, timeout_s=TASK_TIMEOUT_S)
    try:
        for i in range(count):
            t0, t1, task_id = await plain.publish(movers.instruction(movers.names[i % len(movers.names)]))
            result.post_ms.append((t1 - t0) * 1000)
            await observer.succeeded(task_id)
            (call,) = await observer.calls_since(t0, 1)
            result.publish_ms.append((call.start - t0) * 1000)
            _progress(out, result.robots, "publish", i + 1, count)
    finally:
        plain.close()
    for i in range(max(1, count // HTTPX_SHARE)):
        t0 = time.perf_counter()
        task_id = await publish(http, movers.instruction(movers.names[-1 - i % len(movers.names)]))
        result.post_httpx_ms.append((time.perf_counter() - t0) * 1000)
        await observer.succeeded(task_id)


async def _handoff_phase(
    count: int, world: SyntheticWorld, http: httpx.AsyncClient, memory: SharedMemory, observer: Observer,
    result: SizeResult, out: TextIO,
) -> None:
    """Deliveries beyond one robot's reach, one at a time, until ``count`` two-robot handoffs are timed."""
    for text in _deliveries(world, HANDOFF_TRIES * count):
        if len(result.handoff_ms) >= count:
            return
        t0 = time.perf_counter()
        task_id = await publish(http, text)
        await observer.succeeded(task_id)
        record = await memory.tasks.get(task_id)
        assert record is not None, task_id
        steps = sorted(record.subtasks.values(), key=lambda s: s.order)
        calls = await observer.calls_since(t0, sum(len(s.actions) for s in steps))
        if len(steps) != 2 or steps[0].robot == steps[1].robot or steps[1].depends_on != [steps[0].subtask_id]:
            result.skipped_plans += 1
            continue
        first_end = max(c.end for c in calls if c.robot == steps[0].robot)
        second_start = min(c.start for c in calls if c.robot == steps[1].robot)
        result.handoff_ms.append((second_start - first_end) * 1000)
        _progress(out, result.robots, "handoff", len(result.handoff_ms), count)
    if len(result.handoff_ms) < count:
        print(f"  {result.robots} robots: only {len(result.handoff_ms)} of {count} handoffs in "
              f"{HANDOFF_TRIES * count} deliveries", file=out, flush=True)


def _deliveries(world: SyntheticWorld, count: int) -> list[str]:
    """"bring <object> to <table>" for light objects on furniture, each time HANDOFF_DISTANCE rooms
    on from where the previous round left it (every delivery succeeds, or the bench stops)."""
    parents = {n.name: n.parent for n in world.nodes if n.kind in ("furniture", "container")}
    light = [n for n in world.nodes if n.kind == "object" and n.relation == "on"
             and n.props.get("weight_kg", 0) <= LIGHT_KG]
    texts: list[str] = []
    for k in range(count if light else 0):
        node, rounds = light[k % len(light)], 1 + k // len(light)
        room = _room_index(parents[node.parent or ""]) + rounds * HANDOFF_DISTANCE
        texts.append(f"bring {node.name} to table_{room % world.rooms:04d}")
    return texts


def _room_index(room: str | None) -> int:
    return int((room or "").rsplit("_", 1)[-1])


async def _throughput_phase(
    args: argparse.Namespace, http: httpx.AsyncClient, observer: Observer, movers: Movers, result: SizeResult,
    out: TextIO,
) -> None:
    """``args.subtasks`` one-subtask tasks (fewer when ``args.throughput_s`` runs out first),
    ``args.concurrency`` in flight; each lane has its own robots, so that no robot gets a task
    before its previous one ended."""
    lanes = min(args.concurrency, len(movers.names))
    left = [args.subtasks]
    deadline = time.monotonic() + args.throughput_s

    async def lane(robots: list[str]) -> None:
        n = 0
        while left[0] > 0 and time.monotonic() < deadline:
            left[0] -= 1
            task_id = await publish(http, movers.instruction(robots[n % len(robots)]))
            await observer.succeeded(task_id)
            result.subtasks += 1
            n += 1
            _progress(out, result.robots, "throughput", result.subtasks, args.subtasks)

    t0 = time.perf_counter()
    await asyncio.gather(*(lane(movers.names[k::lanes]) for k in range(lanes)))
    result.elapsed_s = time.perf_counter() - t0
    result.concurrency = lanes


def _progress(out: TextIO, robots: int, phase: str, done: int, total: int) -> None:
    if done == total or done % max(1, total // 4) == 0:
        print(f"  {robots} robots: {phase} {done}/{total}", file=out, flush=True)


async def _cpu_s(memory: SharedMemory, master: int, workers: list[int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the master, the slaver workers, Redis (its own
    INFO cpu: the node of this deployment) and this bench process."""
    redis_cpu_s = (await memory.info())["used_cpu_s"]
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "master": _process_cpu_s(master),
        "slavers": sum(map(_process_cpu_s, workers)),
        "Redis": redis_cpu_s,
        "bench": own.ru_utime + own.ru_stime,
    }


def _process_cpu_s(pid: int) -> float:
    """CPU seconds of process ``pid`` (Linux: utime and stime of ``/proc/<pid>/stat``, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` (Linux: ``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _table(result: SizeResult, out: TextIO) -> None:
    rows = [("slavers ready", f"{result.ready_s:.1f} s ({result.workers} worker processes)")]
    if result.publish_ms:
        rows += [
            ("publish -> first skill call", f"{_p50_p99(result.publish_ms)} ({len(result.publish_ms)} tasks)"),
            ("POST /publish_task round trip", f"p50 {percentile(result.post_ms, 0.5):.1f} ms (http.client); "
                                              f"p50 {percentile(result.post_httpx_ms, 0.5):.1f} ms through httpx "
                                              f"({_count(len(result.post_httpx_ms), 'task')})"),
        ]
        skipped = f", {result.skipped_plans} other plans skipped" if result.skipped_plans else ""
        handoff = _p50_p99(result.handoff_ms) if result.handoff_ms else "none timed"
        rows.append(("handoff", f"{handoff} ({len(result.handoff_ms)} handoffs{skipped})"))
    rows += [
        ("throughput", (f"{result.rate:.0f} subtasks/s ({result.subtasks} subtasks in {result.elapsed_s:.2f} s, "
                        f"{result.concurrency} in flight)")),
        ("CPU per subtask", ", ".join(f"{name} {ms:.1f} ms" for name, ms in result.cpu_ms.items())
         + f" ({os.cpu_count()} cores)"),
        ("master RSS", f"{result.master_rss_mb:.0f} MB"),
        ("Redis used_memory", f"{result.redis_mb:.1f} MB"),
    ]
    print(f"\n{result.robots} robots", file=out)
    for name, value in rows:
        print(f"  {name:<31}{value}", file=out)
    print(file=out, flush=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _p50_p99(values_ms: list[float]) -> str:
    return f"p50 {percentile(values_ms, 0.5):8.1f} ms   p99 {percentile(values_ms, 0.99):8.1f} ms"
