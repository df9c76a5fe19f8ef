r"""``roboos bench actions``: one action model shared by robots that run at different rates.

Each simulated robot executes a chunk of ``--horizon`` actions at its control rate and asks for
the next chunk when ``--lead`` actions remain; the new chunk answers the observation it was asked
for, so the robot joins it at the step it has reached meanwhile (as real-time chunking does). It
underruns when a chunk runs out before the next one arrives. A refused request (the server busy) is retried after the retry-after it names;
a subtask fails when a robot gets no chunk within ``--subtask-timeout`` of asking. The model is the
reference pi0 server's scripted policy, in a worker thread, made to take a fixed time per call
(a batch of compatible requests takes the same time as one, as on a GPU), sized for the load:
``load = model time x the chunks per second the fleet asks for``. Budgets follow the robots'
rates (what an operator would give them); in the overload run the first ``--priority-robots``
robots have priority.

Figures per load: each robot's share of the model time against its budget share, Jain's fairness
of share/budget, underruns, refusals, failed subtasks, and the latency from asking to the chunk.
Example::

    roboos bench actions                       # 8 robots, 80 % and 200 % load, 30 s each
    roboos bench actions --loads 0.5,0.8,1.5 --duration 10 --max-batch 4
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

import anyio
import numpy as np

from deploy.bench import percentile
from skills.pi0.protocol import EMBODIMENTS
from skills.pi0.reference import ScriptedPolicy
from skills.serving import ActionScheduler, ActionServerBusy

__all__ = ["main", "run_actions_bench"]

DEFAULT_RATES = (20.0, 20.0, 50.0, 50.0, 30.0, 30.0, 10.0, 10.0)  # Hz: two of each; the first two have priority
STATE = np.zeros(EMBODIMENTS["aloha"].state_dim)


@dataclass
class RobotRun:
    index: int
    name: str
    rate_hz: float
    priority: bool
    chunks: int = 0
    underruns: int = 0
    stalled_s: float = 0.0
    refused: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos bench actions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robots", type=int, default=len(DEFAULT_RATES), help="robots (default 8)")
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in DEFAULT_RATES),
                        help="control rates in Hz, cycled over the robots (default 20,20,50,50,30,30,10,10)")
    parser.add_argument("--loads", default="0.8,2.0", help="model loads to run (default 0.8,2.0)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per load (default 30)")
    parser.add_argument("--horizon", type=int, default=50, help="actions per chunk (default 50)")
    parser.add_argument("--lead", type=int, default=30, help="ask for the next chunk when this many remain (30)")
    parser.add_argument("--priority-robots", type=int, default=2, help="robots with priority when overloaded (2)")
    parser.add_argument("--max-batch", type=int, default=1, help="compatible requests run together (default 1)")
    parser.add_argument("--max-wait", type=float, default=0.5,
                        help="refuse a request expected to wait longer than this, in s (default 0.5)")
    parser.add_argument("--subtask-timeout", type=float, default=5.0,
                        help="a robot with no chunk this long after asking fails its subtask (default 5 s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
        args.load_list = [float(x) for x in args.loads.split(",") if x.strip()]
    except ValueError:
        print("error: --rates and --loads are comma-separated numbers", file=sys.stderr)
        return 2
    if (args.robots < 1 or not args.rate_list or min(args.rate_list) <= 0 or not args.load_list
            or min(args.load_list) <= 0 or not 0 < args.lead < args.horizon or args.max_batch < 1
            or args.duration <= 0):
        print("error: need robots >= 1, rates and loads > 0, 0 < lead < horizon, max-batch >= 1, duration > 0",
              file=sys.stderr)
        return 2
    return run_actions_bench(args, sys.stdout)


def run_actions_bench(args: argparse.Namespace, out: TextIO) -> int:
    summaries = [anyio.run(_run_load, args, load, out) for load in args.load_list]
    for line in summaries:
        print(line, file=out)
    return 0


async def _run_load(args: argparse.Namespace, load: float, out: TextIO) -> str:
    rates = [args.rate_list[i % len(args.rate_list)] for i in range(args.robots)]
    overloaded = load > 1.0
    robots = [RobotRun(i, f"r{i}", rate, overloaded and i < args.priority_robots) for i, rate in enumerate(rates)]
    demand = sum(rate / (args.horizon - args.lead) for rate in rates)  # chunks per second asked for
    model_s = load / demand
    policy = ScriptedPolicy(EMBODIMENTS["aloha"], args.horizon, model_time_s=model_s)

    def run_batch_sync(instructions: list[str]) -> list[np.ndarray]:
        started = time.perf_counter()
        chunks = [ScriptedPolicy(policy.embodiment, args.horizon).act(text, {}, STATE) for text in instructions]
        left = model_s - (time.perf_counter() - started)  # one model call's time for the whole batch
        if left > 0:
            time.sleep(left)
        return chunks

    async def run_batch(instructions: list[str]) -> list[np.ndarray]:
        return await anyio.to_thread.run_sync(run_batch_sync, instructions)

    scheduler: ActionScheduler[str, np.ndarray] = ActionScheduler(
        run_batch, budgets={r.name: r.rate_hz for r in robots},
        priorities={r.name: 1 for r in robots if r.priority}, max_batch=args.max_batch,
        max_wait_s=args.max_wait, expected_model_s=model_s)
    print(f"load {load:.0%}: model {model_s * 1000:.1f} ms per call, {len(robots)} robots, {args.duration:g} s"
          + (f", priority: {', '.join(r.name for r in robots if r.priority)}" if overloaded else "")
          + " ...", file=out, flush=True)
    async with scheduler:
        end = time.perf_counter() + args.duration
        await asyncio.gather(*(_robot(scheduler, r, args, end) for r in robots))
        stats = scheduler.stats()
    return _report(robots, stats, load, out)


async def _robot(scheduler: ActionScheduler[str, np.ndarray], run: RobotRun, args: argparse.Namespace,
                 end: float) -> None:
    """Execute chunks until ``end``: ask ``lead`` actions before the chunk runs out, count underruns."""
    step_s = 1.0 / run.rate_hz
    chunk_start = time.perf_counter()
    # stagger the robots' first requests over one cycle so that they do not all ask at once
    chunk_start -= run.index / args.robots * (args.horizon - args.lead) * step_s
    n = 0
    while True:
        ask_at = chunk_start + (args.horizon - args.lead) * step_s
        if ask_at >= end:
            return
        await asyncio.sleep(max(0.0, ask_at - time.perf_counter()))
        asked = time.perf_counter()
        got = await _chunk(scheduler, run, f"{run.name} step {n}", asked + args.subtask_timeout)
        n += 1
        arrived = time.perf_counter()
        if not got or arrived - asked > args.subtask_timeout:  # too late is failed too
            run.failed += 1
            chunk_start = arrived
            continue
        run.chunks += 1
        run.latencies_ms.append((arrived - asked) * 1000)
        runs_out = chunk_start + args.horizon * step_s
        if arrived > runs_out:  # the robot stood still since runs_out: the chunk starts now
            run.underruns += 1
            run.stalled_s += arrived - runs_out
            chunk_start = arrived
        else:  # the chunk is for the observation when it asked: the robot joins it where it is by now
            chunk_start = asked


async def _chunk(scheduler: ActionScheduler[str, np.ndarray], run: RobotRun, instruction: str,
                 give_up_at: float) -> bool:
    """One chunk, retried after each refusal until ``give_up_at``; False when none came."""
    while True:
        try:
            await scheduler.submit(run.name, instruction)
            return True
        except ActionServerBusy as busy:
            run.refused += 1
            if time.perf_counter() + busy.retry_after_s > give_up_at:
                return False
            await asyncio.sleep(busy.retry_after_s)


def _report(robots: list[RobotRun], stats: dict, load: float, out: TextIO) -> str:
    total_model = sum(s.model_s for s in stats.values()) or 1.0
    total_budget = sum(s.budget for s in stats.values())
    print(f"  {'robot':<6}{'rate':>6}{'prio':>6}{'budget':>8}{'share':>8}{'ratio':>7}{'chunks':>8}"
          f"{'underruns':>11}{'refused':>9}{'failed':>8}{'latency p50/p99 ms':>20}", file=out)
    ratios = []
    for run in robots:
        s = stats.get(run.name)
        share = (s.model_s / total_model) if s else 0.0
        budget = (s.budget / total_budget) if s else 0.0
        ratio = share / budget if budget else 0.0
        ratios.append(ratio)
        lat = run.latencies_ms or [float("nan")]
        print(f"  {run.name:<6}{run.rate_hz:>6g}{'yes' if run.priority else '':>6}{budget:>8.1%}{share:>8.1%}"
              f"{ratio:>7.2f}{run.chunks:>8}{run.underruns:>11}{run.refused:>9}{run.failed:>8}"
              f"{statistics.median(lat):>12.1f} / {percentile(lat, 0.99):.1f}", file=out)
    jain = sum(ratios) ** 2 / (len(ratios) * sum(r * r for r in ratios)) if any(ratios) else 0.0
    worst = max(abs(r - 1) for r in ratios)
    latencies = [v for r in robots for v in r.latencies_ms] or [float("nan")]
    underruns = sum(r.underruns for r in robots)
    failed = sum(r.failed for r in robots)
    print(f"  Jain fairness {jain:.3f}, shares within {worst:.0%} of budgets, {underruns} underruns, "
          f"{sum(r.refused for r in robots)} refused, {failed} failed subtasks, latency p50 "
          f"{statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms", file=out, flush=True)
    if not any(r.priority for r in robots):
        return (f"at {load:.0%} load: shares within {worst:.0%} of budgets, Jain fairness {jain:.3f}, "
                f"{underruns} underruns, {failed} failed subtasks")
    prio = [r for r in robots if r.priority]
    rest = [r for r in robots if not r.priority]
    return (f"at {load:.0%} load: priority robots {sum(r.underruns for r in prio)} underruns, "
            f"{sum(r.failed for r in prio)} failed subtasks; the others {sum(r.underruns for r in rest)} underruns, "
            f"{sum(r.failed for r in rest)} failed subtasks, Jain fairness {jain:.3f}")
