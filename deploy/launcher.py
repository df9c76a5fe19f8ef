"""Start components as processes, wait until they are ready, restart those that crash, stop them all.

Processes are started from argument lists (never through a shell), each in its own process
group, with stdout and stderr going to ``<log_dir>/<name>.log``. Each child gets SIGTERM when
the launching process dies (Linux), so even a kill -9 of the launcher leaves no orphans.
``supervise()``, called now and then, restarts a component that exited on its own (same argv and
environment, its log appended to) with exponential backoff, and gives up on one that keeps crashing.
Each process has a ``ComponentState``; ``on_change`` hears of every change (the stack writes them out).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx

from deploy.errors import LaunchError
from memory.server import die_with_parent

__all__ = [
    "ComponentState", "Launcher", "PortClaim", "Process", "RestartPolicy", "Restarts", "check_ports", "free_port",
    "http_ready", "live_parents", "log_line_ready", "port_in_use", "port_open", "port_ready", "python_module",
]

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0  # what every stop gets, SIGTERM to SIGKILL...
STOP_TIMEOUT_PER_PROCESS_S = 0.25  # ...plus this per process stopping at the same time

ReadyCheck = Callable[["Process"], bool]


class ComponentState(StrEnum):
    """Where a component stands: STARTING until its readiness check passes (READY); RESTARTING after it
    exited on its own, RUNNING once restarted; FAILED when it never got ready or kept crashing; EXITED
    once stopped."""

    STARTING = "starting"
    READY = "ready"
    RUNNING = "running"
    EXITED = "exited"
    RESTARTING = "restarting"
    FAILED = "failed"


@dataclass(frozen=True)
class RestartPolicy:
    """How a crashed component is restarted: after ``initial_s``, doubling up to ``max_s`` while it keeps
    crashing (back to ``initial_s`` once it has stayed up ``stable_s``); after ``max_restarts`` restarts
    within ``window_s`` the launcher gives up on it."""

    initial_s: float = 0.5
    max_s: float = 30.0
    stable_s: float = 60.0
    max_restarts: int = 5
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError(f"need 0 < initial_s <= max_s, got {self.initial_s} for initial_s and {self.max_s} "
                             "for max_s")
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {self.max_restarts}")


@dataclass
class Restarts:
    """One component's restart history under ``policy``."""

    policy: RestartPolicy
    count: int = 0
    _streak: int = 0
    _recent: list[float] = field(default_factory=list)

    def next_delay(self, up_since: float, now: float) -> float | None:
        """Seconds to wait before restarting a component that was up since ``up_since``; None: give up."""
        if now - up_since >= self.policy.stable_s:
            self._streak = 0
        self._recent = [t for t in self._recent if now - t < self.policy.window_s]
        if len(self._recent) >= self.policy.max_restarts:
            return None
        delay = min(self.policy.initial_s * 2**self._streak, self.policy.max_s)
        self._streak += 1
        self.count += 1
        self._recent.append(now)
        return delay


@dataclass
class Process:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    restarts: Restarts
    started_at: float = field(default_factory=time.monotonic)
    restart_at: float | None = None  # set while a restart is pending
    state: ComponentState = ComponentState.STARTING

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def status(self) -> dict[str, object]:
        """What the stack reports of this component; ``log`` is the file's name inside the log folder."""
        return {"name": self.name, "pid": self.popen.pid, "state": str(self.state), "restarts": self.restarts.count,
                "exit_code": self.popen.returncode, "log": self.log_path.name}

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ready(url: str) -> ReadyCheck:
    """Ready once ``GET url`` answers 200."""

    def check(_: Process) -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port`` right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could not listen on ``host:port`` now: something answers there or holds the port.

    A wildcard ``host`` (``0.0.0.0``, ``::``) is probed on loopback too. Only "address in use" counts: an
    address this machine does not have is for the server itself to report.
    """
    if port_open(port, "127.0.0.1" if host in ("", "0.0.0.0", "::") else host):
        return True
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no conflict
        try:
            s.bind((host, port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


@dataclass(frozen=True)
class PortClaim:
    """A fixed port a component will listen on, and how the user moves it (``hint``, e.g. "pass --port N")."""

    port: int
    component: str
    hint: str
    host: str = "127.0.0.1"


def check_ports(claims: Sequence[PortClaim]) -> None:
    """``LaunchError`` naming every claim whose port is out of range, claimed twice or in use by another program.

    Run before anything starts: once a component is up, its readiness check could pass on another server
    that answers on its port (another stack's master) and the stack would report success.
    """
    problems: list[str] = []
    owners: dict[int, PortClaim] = {}
    for claim in claims:
        where = f"port {claim.port} for {claim.component}"
        if not 0 < claim.port < 65536:
            problems.append(f"{where} is not a TCP port (1-65535); {claim.hint}")
        elif claim.port in owners:
            problems.append(f"{where} is also the port of {owners[claim.port].component}; {claim.hint}")
        elif port_in_use(claim.port, claim.host):
            problems.append(f"{where} is in use by another program (another RoboOS?); {claim.hint}")
        owners.setdefault(claim.port, claim)
    if problems:
        raise LaunchError("nothing was started:\n  " + "\n  ".join(problems))


def port_ready(port: int, host: str = "127.0.0.1") -> ReadyCheck:
    """Ready once a TCP connection to ``host:port`` succeeds."""
    return lambda _: port_open(port, host)


def log_line_ready(text: str) -> ReadyCheck:
    """Ready once the component's log contains ``text``."""

    def check(process: Process) -> bool:
        try:
            return text in process.log_path.read_text(errors="replace")
        except OSError:
            return False

    return check


class Launcher:
    """Owns the processes of one stack; ``stop_all`` (or leaving the ``with``) ends them."""

    def __init__(
        self,
        log_dir: Path,
        *,
        env: dict[str, str | None] | None = None,
        restart: RestartPolicy | None = None,
        on_change: Callable[[list[Process]], None] | None = None,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        given = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}  # a None in ``env`` unsets the variable
        self.env: dict[str, str] = {name: value for name, value in given.items() if value is not None}
        self.restart_policy = restart or RestartPolicy()
        self.processes: list[Process] = []
        self.on_change = on_change  # called with every process after any state changed

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready: ReadyCheck | None = None,
        timeout_s: float = 30.0,
    ) -> Process:
        """Start ``argv`` and wait (at most ``timeout_s``) until ``ready`` says so."""
        log_path = self.log_dir / f"{name}.log"
        popen = self._spawn(name, list(argv), log_path, mode="wb")
        process = Process(name, list(argv), popen, log_path, Restarts(self.restart_policy))
        self.processes.append(process)
        logger.info("started %s (pid %d), log %s", name, popen.pid, log_path)
        self._changed()
        if ready is not None:
            self.wait_ready(process, ready, timeout_s)
        self._set_state(process, ComponentState.READY)
        return process

    def _set_state(self, process: Process, state: ComponentState) -> None:
        process.state = state
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.processes)

    def _spawn(self, name: str, argv: list[str], log_path: Path, mode: str) -> subprocess.Popen[bytes]:
        log_file = log_path.open(mode)
        try:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        except OSError as e:
            raise LaunchError(f"cannot start {name} ({argv[0]}): {e}") from e
        finally:
            log_file.close()

    def supervise(self, now: float | None = None) -> list[str]:
        """Restart what exited on its own, with backoff; one line per exit noticed, for the operator.

        ``LaunchError`` when a component has crashed more often than the restart policy allows.
        """
        now = time.monotonic() if now is None else now
        notes: list[str] = []
        before = [p.status() for p in self.processes]
        try:
            for process in self.processes:
                if process.restart_at is not None and now >= process.restart_at:
                    self._respawn(process, now)
                elif process.restart_at is None and not process.running:
                    notes.append(self._schedule_restart(process, now))
        finally:
            if [p.status() for p in self.processes] != before:
                self._changed()
        return notes

    def _schedule_restart(self, process: Process, now: float) -> str:
        code = process.popen.returncode
        delay = process.restarts.next_delay(process.started_at, now)
        if delay is None:
            process.state = ComponentState.FAILED
            policy = self.restart_policy
            raise LaunchError(
                f"{process.name} exited with code {code} after {policy.max_restarts} restarts within "
                f"{policy.window_s:g} s; giving up. Last lines of {process.log_path}:\n{process.log_tail()}"
            )
        process.restart_at, process.state = now + delay, ComponentState.RESTARTING
        note = f"{process.name} exited with code {code}; restarting in {delay:.1f} s (restart {process.restarts.count})"
        logger.info("%s", note)  # the caller shows it
        return note

    def _respawn(self, process: Process, now: float) -> None:
        with process.log_path.open("ab") as log:
            log.write(f"--- restarted by the launcher (restart {process.restarts.count}) ---\n".encode())
        process.popen = self._spawn(process.name, process.argv, process.log_path, mode="ab")
        process.started_at, process.restart_at, process.state = now, None, ComponentState.RUNNING
        logger.info("restarted %s (pid %d)", process.name, process.popen.pid)

    def wait_ready(self, process: Process, ready: ReadyCheck, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while not ready(process):
            if not process.running:
                self._set_state(process, ComponentState.FAILED)
                raise LaunchError(
                    f"{process.name} exited with code {process.popen.returncode} before it was ready; "
                    f"last lines of {process.log_path}:\n{process.log_tail()}"
                )
            if time.monotonic() > deadline:
                self._set_state(process, ComponentState.FAILED)
                raise LaunchError(
                    f"{process.name} was not ready after {timeout_s:.0f} s; "
                    f"last lines of {process.log_path}:\n{process.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def exited(self) -> list[Process]:
        """The processes that have exited on their own."""
        return [p for p in self.processes if not p.running]

    def stop_all(self, timeout_s: float | None = None) -> None:
        """Stop every process, newest first (slavers before the master before servers).

        They all get SIGTERM at once and ``timeout_s`` together to exit before SIGKILL; by default
        5 s plus a quarter second per process, since on a small machine a large fleet's processes
        share the CPU while they shut down (20 slavers took more than 5 s on 2 cores).
        """
        if timeout_s is None:
            timeout_s = STOP_TIMEOUT_S + STOP_TIMEOUT_PER_PROCESS_S * len(self.processes)
        for process in list(reversed(self.processes)):
            if process.running:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in list(reversed(self.processes)):
            try:
                process.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %.0f s; killing it", process.name, timeout_s)
                _signal_group(process, signal.SIGKILL)
                process.popen.wait(timeout=timeout_s)
        for process in self.processes:
            if process.state != ComponentState.FAILED:
                process.state = ComponentState.EXITED
        if self.processes:
            self._changed()
        self.processes.clear()


def _signal_group(process: Process, sig: signal.Signals) -> None:
    try:
        os.killpg(process.popen.pid, sig)
    except ProcessLookupError:
        pass


def live_parents() -> dict[int, int]:
    """Every live process of this machine (Linux ``/proc``) and its parent: ``{pid: ppid}``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended while we looked
            if fields[0] not in ("Z", "X"):
                parents[int(entry.name)] = int(fields[1])
    return parents


def python_module(module: str, *args: str) -> list[str]:
    """The argument list that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
