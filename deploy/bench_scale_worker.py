"""One worker process of ``roboos bench scale``: a slice of the fleet's slavers in one asyncio loop.

Run by the bench, one process per slice::

    python -m deploy.bench_scale_worker --redis-url redis://127.0.0.1:6390 --prefix bench:scale:1000: \\
        --robots 1000 --slice 0 --of 4

The worker rebuilds the seeded synthetic fleet (``scale_world``), takes every
``of``-th robot from ``slice`` on, and serves them as ``deploy.bench`` does: one slaver per robot
on an in-process simulated skill server with instant skills. Each skill call is timestamped with
``time.perf_counter()`` (CLOCK_MONOTONIC, shared by the processes of a machine) and sent in
batches to the stream ``<prefix>bench_calls`` (fields robot, tool, start, end) for the bench to
read. It prints ``ready`` once every slaver serves, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys

from deploy.bench import CallLog, pool_size, serve_fleet
from deploy.synthetic import SyntheticWorld, ring_world
from slaver.config import SlaverSettings
from memory import SharedMemory
from memory.shared_memory import MAX_BLOCK_MS

__all__ = ["CALLS_STREAM", "main", "scale_world", "slice_fleet"]

CALLS_STREAM = "bench_calls"  # under the prefix, so clearing the prefix removes it
OBJECTS_PER_ROBOT = 5
MIN_ROOMS = 8  # so that small fleets too have deliveries beyond one robot's reach (handoffs)
FLUSH_INTERVAL_S = 0.02  # calls reach the bench in batches at most this late; off the serving path
READY_TIMEOUT_S = 300.0
# Hundreds of slavers share one process and loop here, and the machine's cores with the master (a
# robot's slaver is a process of its own, on the robot, in a deployment). Idle, each one beats and
# polls its stream: at the defaults (1 s each) 1000 of them kept 0.8 of a core busy, and the master
# measured its publishes on what was left. So they beat every 5 s with a 15 s lease and block as
# long as a read may on their stream (a subtask still arrives at once).
WORKER_SLAVERS = SlaverSettings(heartbeat_interval_s=5.0, liveness_ttl_s=15.0, read_block_ms=MAX_BLOCK_MS)

logger = logging.getLogger(__name__)


def scale_world(robots: int) -> SyntheticWorld:
    """The seeded ring world of a fleet size (the bench and its workers build the same one)."""
    return ring_world(robots, OBJECTS_PER_ROBOT * robots, instructions=0, rooms=max(MIN_ROOMS, robots // 2))


def slice_fleet(robots: int, index: int, of: int) -> dict[str, tuple[str, str, list[str]]]:
    """The robots of slice ``index`` (of ``of``) of the synthetic fleet: ``name: (embodiment, start, zones)``."""
    fleet = scale_world(robots).fleet
    return {e.name: (e.embodiment, e.start, list(e.zones)) for e in fleet[index::of]}


async def _flush_calls(memory: SharedMemory, log: CallLog, stop: asyncio.Event) -> None:
    """Send the calls logged since the last flush, every ``FLUSH_INTERVAL_S``, until ``stop``."""
    key, sent = memory.keys.key(CALLS_STREAM), 0
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FLUSH_INTERVAL_S)
        calls = log.calls[sent:]
        if calls:
            async with memory.redis.pipeline(transaction=False) as pipe:
                for robot, tool, start, end in calls:
                    pipe.xadd(key, {"robot": robot, "tool": tool, "start": repr(start), "end": repr(end)})
                await pipe.execute()
            sent += len(calls)
        if stop.is_set():
            return


async def _serve(args: argparse.Namespace) -> None:
    fleet = slice_fleet(args.robots, args.slice, args.of)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    memory = await SharedMemory.connect(args.redis_url, prefix=args.prefix, max_connections=pool_size(len(fleet)))
    log = CallLog()
    try:
        async with serve_fleet(memory, args.redis_url, args.prefix, fleet, log, ready_timeout_s=READY_TIMEOUT_S,
                               settings=WORKER_SLAVERS):
            # Hundreds of slavers in one heap: a full garbage collection walked all of it, 240-690 ms
            # at 250 slavers a worker, stalling every robot of the worker (a robot's own slaver
            # process has a small heap). What serving built is left out of the collector's walks.
            gc.collect()
            gc.freeze()
            print(f"ready: {len(fleet)} slavers", flush=True)
            flusher = asyncio.create_task(_flush_calls(memory, log, stop))
            await stop.wait()
            await asyncio.wait_for(flusher, timeout=10)
    finally:
        await memory.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.bench_scale_worker", description=__doc__.split("\n")[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--robots", type=int, required=True, help="size of the whole synthetic fleet")
    parser.add_argument("--slice", type=int, required=True, help="which slice this worker serves (from 0)")
    parser.add_argument("--of", type=int, required=True, help="how many slices (workers) there are")
    args = parser.parse_args(argv)
    if not 0 <= args.slice < args.of:
        parser.error(f"--slice must be in [0, --of), got {args.slice} for --slice and {args.of} for --of")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
