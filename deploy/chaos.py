"""``roboos bench chaos``: fault injection on real processes, real Redis and kill -9, in figures.

Each scenario runs N trials on one stack (``deploy.chaos_fleet``: embedded Redis with its
append-only file, the master, three slavers, two HTTP skill servers). A trial publishes a task
of one subtask (a navigation of about 1.5 s) for a chosen robot, injects the fault while the
subtask runs, restarts what it killed the way the supervisor would (same argv and environment,
log appended), waits for the task to end, and is then audited (``deploy.chaos_audit``) from the
slavers' logs, the master's task record and the event history::

    slaver kill -9: 20 trials, 0 lost, 0 duplicated, 0 stuck, recovered p50 7.9 s, 12 succeeded
    publish 1000 concurrent: 0 5xx, p99 2100 ms
    events 300 clients: 0 5xx

Scenarios: ``slaver kill -9`` (the slaver's process only; r1's stdio skill server is its child
and must exit on its own), ``master kill -9``, ``redis kill -9`` (restarted on its port and data
folder: the append-only file is replayed), ``skill server kill -9`` (an HTTP skill server,
restarted on its port), ``two slavers for one robot`` (the second must refuse, the task
succeeds), ``subtask times out while queued`` (the robot's slaver is stopped with SIGSTOP, its
queued subtask times out and is replanned to another robot; the slaver is then killed and
restarted: the old subtask must not run), ``duplicate task ids`` (concurrent publishes of one id:
one 200, the rest 409, no 5xx; the task runs once).

Run it with ``roboos bench chaos [--trials N] [--scenario NAME ...]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier
from typing import TextIO

import httpx

from deploy.chaos_audit import ScenarioResult, Trial, audit_trial, read_claims, task_events
from deploy.chaos_fleet import HTTP_ROBOTS, ROBOTS, ChaosError, ChaosFleet, ChaosSettings
from deploy.chaos_load import run_event_load, run_publish_load

__all__ = ["SCENARIOS", "run_chaos_bench", "run_chaos_from_args", "run_scenario"]

MID_SUBTASK_S = 0.6  # into a subtask of about 1.5 s
ORPHAN_WAIT_S = 5.0
SECOND_SLAVER_WAIT_S = 30.0
DUPLICATE_POSTS = 16


def _publish_for(fleet: ChaosFleet, robot: str) -> Trial:
    """Publish a task the planner gives ``robot`` and return its trial."""
    published_at = time.time()
    reply = fleet.publish(fleet.target(robot))
    trial = Trial(reply["task_id"], robot, published_at, fleet.settings.task_deadline_s)
    assigned = [s["robot_name"] for s in reply["data"]["subtask_list"]]
    if assigned != [robot]:
        trial.notes.append(f"planned for {assigned}, not [{robot}]")
    return trial


def _finish(fleet: ChaosFleet, trial: Trial) -> Trial:
    """Wait for the task's end, at most until its deadline."""
    left = trial.published_at + trial.deadline_s - time.time()
    record = fleet.wait_task(trial.task_id, max(0.0, left))
    trial.terminal_at = time.time() if record is not None else None
    trial.stuck = record is None
    if trial.stuck:
        trial.notes.append(f"not terminal within its deadline of {trial.deadline_s:g} s")
    return trial


def _kill_mid_subtask(fleet: ChaosFleet, trial: Trial, kill: Callable[[], float], restart: Callable[[], None]) -> Trial:
    if fleet.wait_subtask(trial.task_id, {"running"}, fleet.settings.subtask_timeout_s) is None:
        trial.notes.append("the subtask was not seen running before the kill")
    time.sleep(MID_SUBTASK_S)
    trial.fault_at = kill()
    restart()
    return _finish(fleet, trial)


def slaver_kill(fleet: ChaosFleet, index: int) -> Trial:
    """SIGKILL the slaver's process only; its stdio skill server (r1) must not outlive it."""
    robot = ROBOTS[index % len(ROBOTS)]
    name = f"slaver-{robot}"
    children = fleet.child_pids(fleet.process(name).popen.pid)
    trial = _publish_for(fleet, robot)
    _kill_mid_subtask(fleet, trial, lambda: fleet.kill(name), lambda: fleet.restart(name))
    orphans = _outliving(children, ORPHAN_WAIT_S)
    for pid in orphans:
        trial.notes.append(f"orphan: {name}'s stdio skill server (pid {pid}) still runs "
                           f"{ORPHAN_WAIT_S:g} s after its slaver was killed; killed it")
        os.kill(pid, signal.SIGKILL)
    return trial


def master_kill(fleet: ChaosFleet, index: int) -> Trial:
    trial = _publish_for(fleet, ROBOTS[index % len(ROBOTS)])
    return _kill_mid_subtask(fleet, trial, lambda: fleet.kill("master"), lambda: fleet.restart("master"))


def redis_kill(fleet: ChaosFleet, index: int) -> Trial:
    trial = _publish_for(fleet, ROBOTS[index % len(ROBOTS)])
    return _kill_mid_subtask(fleet, trial, fleet.kill_redis, fleet.restart_redis)


def skill_server_kill(fleet: ChaosFleet, index: int) -> Trial:
    name = f"skill-{HTTP_ROBOTS[index % len(HTTP_ROBOTS)]}"
    trial = _publish_for(fleet, HTTP_ROBOTS[index % len(HTTP_ROBOTS)])
    return _kill_mid_subtask(fleet, trial, lambda: fleet.kill(name), lambda: fleet.restart(name))


def two_slavers(fleet: ChaosFleet, index: int) -> Trial:
    """Start a second slaver for a served robot while a task of that robot is published."""
    robot = ROBOTS[index % len(ROBOTS)]
    first = fleet.process(f"slaver-{robot}")
    log_path = first.log_path.with_name(f"slaver-{robot}-second-{index}.log")
    fleet.extra_logs.append(log_path)
    with log_path.open("ab") as log:
        second = fleet.spawn(first.argv, log)
    try:
        # It reaches for the robot's lease right after connecting to its skill server: publish
        # then, so that the first slaver's subtask runs while the second one tries to take over.
        _wait_for_text(log_path, "connected to skill server", second, SECOND_SLAVER_WAIT_S)
        trial = _publish_for(fleet, robot)
        trial.fault_at = trial.published_at
        code = second.wait(timeout=SECOND_SLAVER_WAIT_S)
    except Exception:
        second.kill()
        second.wait(timeout=10)
        raise
    text = log_path.read_text(errors="replace")
    if code == 0 or "already served by another slaver" not in text:
        trial.duplicated += 1
        trial.notes.append(f"the second slaver for {robot} exited with {code} without refusing: {text[-300:]!r}")
    _finish(fleet, trial)
    if first.popen.poll() is not None:
        trial.notes.append(f"the first slaver for {robot} exited with {first.popen.returncode}")
    return trial


def queued_timeout(fleet: ChaosFleet, index: int) -> Trial:
    """SIGSTOP the robot's slaver, let its queued subtask time out and be replanned, then kill the
    stopped slaver and start it again: the old subtask must not run."""
    robot = ROBOTS[index % len(ROBOTS)]
    name = f"slaver-{robot}"
    process = fleet.process(name)
    children = fleet.child_pids(process.popen.pid)
    os.kill(process.popen.pid, signal.SIGSTOP)
    try:
        fault_at = time.time()
        trial = _publish_for(fleet, robot)
        trial.fault_at = fault_at
        timed_out = fleet.wait_subtask(trial.task_id, {"timed_out", "failed", "succeeded", "interrupted"},
                                       fleet.settings.subtask_timeout_s + 5.0)
        if timed_out is None or timed_out["state"] != "timed_out":
            trial.notes.append(f"expected the queued subtask to time out, got {timed_out}")
    finally:
        fleet.kill(name)
    fleet.restart(name)
    time.sleep(1.0)  # the restarted slaver reads its pending entries now
    _finish(fleet, trial)
    replanned = [s["robot"] for s in trial.record.get("subtasks", []) if s["attempt"] > 0]
    if replanned and robot in replanned:
        trial.notes.append(f"replanned to {replanned}, the stopped robot included")
    for pid in _outliving(children, ORPHAN_WAIT_S):
        trial.notes.append(f"orphan: {name}'s stdio skill server (pid {pid}) outlived its slaver; killed it")
        os.kill(pid, signal.SIGKILL)
    return trial


def duplicate_ids(fleet: ChaosFleet, index: int) -> Trial:
    """Publish one task id from many threads at once: one 200, the others 409, no 5xx."""
    robot = ROBOTS[index % len(ROBOTS)]
    task_id = f"dup-{uuid.uuid4().hex[:10]}"
    text = fleet.target(robot)
    barrier = Barrier(DUPLICATE_POSTS)

    def post() -> str:
        barrier.wait(timeout=30)
        try:
            return str(httpx.post(f"{fleet.master_url}/publish_task", json={"task": text, "task_id": task_id},
                                  timeout=30).status_code)
        except httpx.HTTPError as e:
            return type(e).__name__

    published_at = time.time()
    with ThreadPoolExecutor(DUPLICATE_POSTS) as pool:
        codes = sorted(pool.map(lambda _: post(), range(DUPLICATE_POSTS)))
    trial = Trial(task_id, robot, published_at, fleet.settings.task_deadline_s)
    if codes.count("200") != 1 or codes.count("409") != DUPLICATE_POSTS - 1:
        trial.duplicated += max(0, codes.count("200") - 1)
        trial.lost += int(codes.count("200") == 0)
        trial.notes.append(f"expected one 200 and {DUPLICATE_POSTS - 1} 409, got {codes}")
    return _finish(fleet, trial)


SCENARIOS: dict[str, Callable[[ChaosFleet, int], Trial]] = {
    "slaver kill -9": slaver_kill,
    "master kill -9": master_kill,
    "redis kill -9": redis_kill,
    "skill server kill -9": skill_server_kill,
    "two slavers for one robot": two_slavers,
    "subtask times out while queued": queued_timeout,
    "duplicate task ids": duplicate_ids,
}
_NEEDS_SUCCESS = {"two slavers for one robot", "duplicate task ids"}


def _wait_for_text(path: Path, text: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in path.read_text(errors="replace") and process.poll() is None:
        if time.monotonic() > deadline:
            raise ChaosError(f"no {text!r} in {path} within {timeout_s:g} s")
        time.sleep(0.01)


def _outliving(pids: list[int], timeout_s: float) -> list[int]:
    """Those of ``pids`` still alive after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _alive(pid)]
    return alive


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def run_scenario(fleet: ChaosFleet, name: str, trials: int, progress: TextIO | None = None) -> ScenarioResult:
    """Run ``trials`` trials of scenario ``name`` on ``fleet``, then audit them."""
    result = ScenarioResult(name)
    for index in range(trials):
        fleet.tidy()
        trial = SCENARIOS[name](fleet, index)
        result.trials.append(trial)
        if progress is not None:
            state = trial.record.get("state") or (fleet.task(trial.task_id) or {}).get("state")
            print(f"chaos: {name}: trial {index + 1}/{trials}: task {trial.task_id} {state}", file=progress, flush=True)
    _audit(fleet, result)
    return result


def _audit(fleet: ChaosFleet, result: ScenarioResult) -> None:
    fleet.tidy()  # every robot idle: whatever was going to run has run
    claims = read_claims(fleet.slaver_logs())
    for trial in result.trials:
        trial.record = fleet.task(trial.task_id) or {}
        audit_trial(trial, claims, task_events(fleet.master_url, trial.task_id))
        if result.name in _NEEDS_SUCCESS and not trial.succeeded and not trial.stuck:
            trial.notes.append("this scenario expects the task to succeed")


def run_chaos_bench(
    out: TextIO,
    trials: int = 5,
    scenarios: list[str] | None = None,
    *,
    publish_clients: int = 1000,
    event_clients: int = 300,
    run_dir: Path | None = None,
    settings: ChaosSettings | None = None,
    progress: TextIO | None = sys.stderr,
) -> int:
    """Run the scenarios (all by default) and the load lines (0 clients: skip one); print one line
    each to ``out``, the problems to ``progress``. 0 when nothing was lost, duplicated, stuck or
    answered with a 5xx, else 1."""
    names = scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r}, should be one of: {', '.join(SCENARIOS)}")
    with tempfile.TemporaryDirectory(prefix="roboos-chaos-") as tmp, \
            ChaosFleet(Path(run_dir or tmp), settings) as fleet:
        if progress is not None:
            print(f"chaos: stack up (master {fleet.master_url}, logs in {fleet.stack.run_dir})", file=progress,
                  flush=True)
        ok = True
        for name in names:
            result = run_scenario(fleet, name, trials, progress)
            print(result.line(), file=out, flush=True)
            for problem in result.problems():
                print(f"chaos: {problem}", file=progress or out, flush=True)
            ok &= result.ok and all(t.succeeded for t in result.trials if name in _NEEDS_SUCCESS)
        for clients, load in ((publish_clients, run_publish_load), (event_clients, run_event_load)):
            if clients > 0:
                fleet.tidy()
                line = load(fleet, clients)
                print(line.line(), file=out, flush=True)
                if progress is not None:
                    print(f"chaos: {line.detail()}", file=progress, flush=True)
                ok &= line.ok
    return 0 if ok else 1


def run_chaos_from_args(args: argparse.Namespace, out: TextIO) -> int:
    """``run_chaos_bench`` from the flags of ``roboos bench chaos`` (defined in ``deploy.cli``)."""
    try:
        return run_chaos_bench(out, args.trials, args.scenario, publish_clients=args.publish_clients,
                               event_clients=args.event_clients, run_dir=args.run_dir)
    except (ChaosError, ValueError) as e:
        print(f"roboos bench chaos: {e}", file=sys.stderr)
        return 2
