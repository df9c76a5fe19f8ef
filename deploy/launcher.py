"""Start components as processes, wait until they are ready, stop them all on the way out.

Processes are started from argument lists (never through a shell), each in its own process
group, with stdout and stderr going to ``<log_dir>/<name>.log``.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.errors import LaunchError

__all__ = ["Launcher", "Process", "free_port", "http_ready", "log_line_ready", "port_ready", "python_module"]

logger = logging.getLogger(__name__)

ReadyCheck = Callable[["Process"], bool]


@dataclass
class Process:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

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


def port_ready(port: int, host: str = "127.0.0.1") -> ReadyCheck:
    """Ready once a TCP connection to ``host:port`` succeeds."""

    def check(_: Process) -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


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

    def __init__(self, log_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.processes: list[Process] = []

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
        log_file = log_path.open("wb")
        try:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        except OSError as e:
            raise LaunchError(f"cannot start {name} ({argv[0]}): {e}") from e
        finally:
            log_file.close()
        process = Process(name, list(argv), popen, log_path)
        self.processes.append(process)
        logger.info("started %s (pid %d), log %s", name, popen.pid, log_path)
        if ready is not None:
            self.wait_ready(process, ready, timeout_s)
        return process

    def wait_ready(self, process: Process, ready: ReadyCheck, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while not ready(process):
            if not process.running:
                raise LaunchError(
                    f"{process.name} exited with code {process.popen.returncode} before it was ready; "
                    f"last lines of {process.log_path}:\n{process.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise LaunchError(
                    f"{process.name} was not ready after {timeout_s:.0f} s; "
                    f"last lines of {process.log_path}:\n{process.log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    def exited(self) -> list[Process]:
        """The processes that have exited on their own."""
        return [p for p in self.processes if not p.running]

    def stop_all(self, timeout_s: float = 5.0) -> None:
        """Stop every process, newest first (slavers before the master before servers)."""
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
        self.processes.clear()


def _signal_group(process: Process, sig: signal.Signals) -> None:
    try:
        os.killpg(process.popen.pid, sig)
    except ProcessLookupError:
        pass


def python_module(module: str, *args: str) -> list[str]:
    """The argument list that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
