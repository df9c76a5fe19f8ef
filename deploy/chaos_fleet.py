"""A whole stack on a small lanes scene, with the controls fault injection needs.

``ChaosFleet`` starts a ``deploy.stack.Stack`` (embedded Redis with its append-only file, the
master, one slaver per robot, HTTP skill servers) on a scene built so that the planner's choice
is known: each robot ``rN`` goes back and forth in its own lane (``home_N`` - ``hall_N``, one
travel unit apart) and every lane meets the others only through ``hub`` (one unit from each lane
room), so "go to hall 2" goes to r2 while r2 is in its lane, and to another robot (two units
away) when r2 is avoided. ``r1`` runs its skill server as a stdio child; ``r2`` and ``r3`` reach
theirs over HTTP.

Kills are ``SIGKILL`` of one process; restarts start the same argv with the same environment and
append to the same log, as the launcher's supervisor does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from deploy.config import RoboOSConfig, SkillDefaults
from deploy.errors import LaunchError
from deploy.launcher import Process, live_parents, port_open
from deploy.stack import Stack
from master.config import MasterConfig
from scene import load_scene

__all__ = ["ChaosError", "ChaosFleet", "ChaosSettings", "ROBOTS"]

ROBOTS = ("r1", "r2", "r3")
HTTP_ROBOTS = ("r2", "r3")
RUNNING_GRACE_S = 5.0  # master.scheduler.RUNNING_GRACE_S: a started subtask's report may come this late
_EMBODIMENT = "wheeled_dual_arm"


class ChaosError(Exception):
    """The harness could not set a trial up (not a finding about the system)."""


@dataclass(frozen=True)
class ChaosSettings:
    """The stack's timings. At ``speed`` 0.75 one navigation (one subtask) takes about 1.5 s.

    ``offline_grace_s`` is longer than the liveness TTL plus ``subtask_timeout_s`` so that a
    stopped slaver's queued subtask times out (and is replanned) before its robot's work is failed
    as offline.
    """

    speed: float = 0.75
    subtask_timeout_s: float = 5.0
    offline_grace_s: float = 6.0
    plan_timeout_s: float = 5.0
    max_replans: int = 2
    restart_delay_s: float = 0.5  # the launcher's first restart backoff

    @property
    def task_deadline_s(self) -> float:
        """How long a one-subtask task may take: every plan's subtask may time out (running, plus
        the grace for its report) or wait out an offline robot, then planning."""
        grace = min(RUNNING_GRACE_S, self.subtask_timeout_s) + self.offline_grace_s
        return (self.max_replans + 1) * (self.subtask_timeout_s + grace) + self.plan_timeout_s

    def config(self, run_dir: Path) -> RoboOSConfig:
        master = MasterConfig(port=0, subtask_timeout_s=self.subtask_timeout_s, offline_grace_s=self.offline_grace_s,
                              plan_timeout_s=self.plan_timeout_s, max_replans=self.max_replans)
        return RoboOSConfig(run_dir=run_dir, master=master, skills=SkillDefaults(speed=self.speed))


def scene_yaml() -> str:
    lanes = [f"  home_{n}: {{kind: place}}\n  hall_{n}: {{kind: place}}\n" for n in (1, 2, 3)]
    passages = [f"  - {{between: [{a}_{n}, {b}], travel_s: 1.0}}\n"
                for n in (1, 2, 3) for a, b in (("home", f"hall_{n}"), ("home", "hub"), ("hall", "hub"))]
    fleet = [f"  - {{name: r{n}, embodiment: {_EMBODIMENT}, start: home_{n}, "
             + ("transport: stdio}\n" if n == 1 else f"transport: http, port: {18900 + n}}}\n") for n in (1, 2, 3)]
    return ("name: chaos\ndescription: three robots, each in its own lane of two rooms; the lanes meet at a hub\n"
            "nodes:\n  hub: {kind: place}\n" + "".join(lanes) + "passages:\n" + "".join(passages)
            + "fleet:\n" + "".join(fleet))


class ChaosFleet:
    """``with ChaosFleet(run_dir) as fleet:`` a started stack; every process stops on exit."""

    def __init__(self, run_dir: Path, settings: ChaosSettings | None = None) -> None:
        self.settings = settings or ChaosSettings()
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        scene_path = self.run_dir / "chaos-scene.yaml"
        scene_path.write_text(scene_yaml())
        self.stack = Stack(self.settings.config(self.run_dir), load_scene(scene_path), run_dir=self.run_dir)
        self.extra_logs: list[Path] = []  # logs of processes the harness started beside the stack
        self.http = httpx.Client(timeout=10.0)

    def __enter__(self) -> ChaosFleet:
        self.stack.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stack.stop()
        finally:
            self.http.close()

    @property
    def master_url(self) -> str:
        return self.stack.master_url

    # -- processes -------------------------------------------------------------------------

    def process(self, name: str) -> Process:
        for process in self.stack.launcher.processes:
            if process.name == name:
                return process
        raise ChaosError(f"no process {name!r}; have: {', '.join(p.name for p in self.stack.launcher.processes)}")

    def slaver_logs(self) -> list[Path]:
        return [p.log_path for p in self.stack.launcher.processes if p.name.startswith("slaver-")] + self.extra_logs

    def kill(self, name: str) -> float:
        """SIGKILL the component's process (not its group); the time of the kill."""
        process = self.process(name)
        at = time.time()
        os.kill(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)
        return at

    def restart(self, name: str) -> None:
        """Start the component again as the supervisor would (same argv, env and log) and wait until ready."""
        process = self.process(name)
        ready = self._ready_check(process)
        time.sleep(self.settings.restart_delay_s)
        with process.log_path.open("ab") as log:
            log.write(b"--- restarted by the chaos harness ---\n")
            log.flush()
            process.popen = self.spawn(process.argv, log)
        _wait(ready, 30.0, f"{name} ready after its restart", process)

    def spawn(self, argv: list[str], log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=self.stack.launcher.env, start_new_session=True, preexec_fn=_die_with_parent())

    def _ready_check(self, process: Process) -> Callable[[], bool]:
        if process.name == "master":
            return lambda: self._get("/health") is not None
        if process.name.startswith("slaver-"):
            mark = f"slaver {process.name.removeprefix('slaver-')} ready"
            before = process.log_path.read_text(errors="replace").count(mark)
            return lambda: process.log_path.read_text(errors="replace").count(mark) > before
        port = int(process.argv[process.argv.index("--port") + 1])
        return lambda: port_open(port)

    def child_pids(self, pid: int) -> list[int]:
        """The live direct children of ``pid`` (a stdio slaver's skill server)."""
        return [child for child, parent in live_parents().items() if parent == pid]

    # -- redis -------------------------------------------------------------------------------

    def redis_client(self) -> redis.Redis:
        return redis.Redis.from_url(self.stack.redis_url, password=getattr(self.stack.redis, "password", None),
                                    socket_timeout=5, decode_responses=True)

    def kill_redis(self) -> float:
        """SIGKILL redis-server (its pid from INFO); the time of the kill."""
        if self.stack.redis is None:
            raise ChaosError("the stack uses an external Redis; only the embedded one can be killed")
        client = self.redis_client()
        try:
            pid = int(client.info("server")["process_id"])
        finally:
            client.close()
        at = time.time()
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not self.stack.redis.running, 10.0, "redis-server gone after SIGKILL")  # type: ignore[union-attr]
        return at

    def restart_redis(self) -> None:
        """Start redis-server again on its port and data folder: it replays the append-only file."""
        embedded = self.stack.redis
        assert embedded is not None
        port = embedded.port
        time.sleep(self.settings.restart_delay_s)
        embedded.start()
        if embedded.port != port:
            raise ChaosError(f"the embedded Redis came back on port {embedded.port}, not {port}: this "
                             "EmbeddedRedis cannot restart in place (the clients would not find it)")

    # -- the world ---------------------------------------------------------------------------

    def _get(self, path: str) -> dict[str, Any] | None:
        try:
            reply = self.http.get(f"{self.master_url}{path}")
        except httpx.HTTPError:
            return None
        return reply.json() if reply.status_code == 200 else None

    def robots(self) -> dict[str, dict[str, Any]]:
        reply = self._get("/robots")
        return {r["profile"]["name"]: r for r in reply["data"]} if reply else {}

    def task(self, task_id: str) -> dict[str, Any] | None:
        reply = self._get(f"/tasks/{task_id}")
        return reply["data"] if reply else None

    def publish(self, text: str, task_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"task": text}
        if task_id:
            body["task_id"] = task_id
        reply = self.http.post(f"{self.master_url}/publish_task", json=body, timeout=30.0)
        if reply.status_code != 200:
            raise ChaosError(f"publish {text!r}: HTTP {reply.status_code}: {reply.text[:300]}")
        return reply.json()

    def wait_task(self, task_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The task once terminal, or None if it is not within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            record = self.task(task_id)
            if record and record["state"] in ("succeeded", "failed", "cancelled"):
                return record
            time.sleep(0.1)
        return None

    def wait_subtask(self, task_id: str, states: set[str], timeout_s: float) -> dict[str, Any] | None:
        """The task's first-plan subtask once in one of ``states``, or None."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            record = self.task(task_id)
            for sub in (record or {}).get("subtasks", []):
                if sub["attempt"] == 0 and sub["state"] in states:
                    return sub
            time.sleep(0.05)
        return None

    def target(self, robot: str) -> str:
        """The text of a task the planner gives ``robot``: go to the other room of its lane."""
        n = robot.removeprefix("r")
        position = self.robots()[robot]["position"]
        return f"go to hall {n}" if position == f"home_{n}" else f"go to home {n}"

    def tidy(self) -> None:
        """Bring every robot back into its lane and wait until all are online, idle and not degraded."""
        _wait(self._all_ready, 30.0, "every robot online, idle and not degraded")
        for name, robot in self.robots().items():
            n = name.removeprefix("r")
            if robot["position"] not in (f"home_{n}", f"hall_{n}"):
                reply = self.publish(f"{name} go to home {n}")
                if self.wait_task(reply["task_id"], self.settings.task_deadline_s) is None:
                    raise ChaosError(f"tidying: {name} did not get back to home_{n}")
        _wait(self._all_ready, 30.0, "every robot online, idle and not degraded")

    def _all_ready(self) -> bool:
        robots = self.robots()
        return set(ROBOTS) <= set(robots) and all(
            r["online"] and not r["degraded"] and r["status"] == "idle" for r in robots.values())


def _wait(condition: Callable[[], bool], timeout_s: float, what: str, process: Process | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process is not None and process.popen.poll() is not None:
            raise LaunchError(f"{what}: it exited with code {process.popen.returncode}:\n{process.log_tail()}")
        if time.monotonic() > deadline:
            raise ChaosError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.05)


def _die_with_parent() -> Callable[[], None] | None:
    """The launcher's parent-death hook where this version of ``memory.server`` has one."""
    try:
        from memory.server import die_with_parent
    except ImportError:
        return None
    return die_with_parent()
