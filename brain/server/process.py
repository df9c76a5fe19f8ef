"""Run `roboos brain serve` as a child process and wait for its readiness line (tests, bench, demo).

    with ServerProcess(["--max-tokens", "256"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="none")
        ...
"""

from __future__ import annotations

import collections
import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from brain.server.cli import READY_MARKER
from brain.server.errors import ServerError

__all__ = ["ServerProcess"]

logger = logging.getLogger(__name__)

_READY = re.compile(re.escape(READY_MARKER) + r"(\S+) \(model (.+), device (\w+)\)")
_ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """`python -m brain.server --port 0 ARGS...`; `start()` returns the base URL once it serves."""

    def __init__(self, args: list[str] | None = None, *, host: str = "127.0.0.1", log_path: Path | None = None) -> None:
        self.args = ["--host", host, "--port", "0", *(args or [])]
        self.log_path = log_path
        self.base_url = ""
        self.model = ""
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self._tail: collections.deque[str] = collections.deque(maxlen=40)

    def start(self, timeout_s: float = 300.0) -> str:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, "-m", "brain.server", *self.args]
        logger.info("starting %s", " ".join(command))
        self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True, env=env)
        self._reader = threading.Thread(target=self._read_log, args=(self._proc.stderr,), daemon=True,
                                        name="brain-server-log")
        self._reader.start()
        if not self._ready.wait(timeout_s) or not self.base_url:
            why = "exited" if self._proc.poll() is not None else f"was not ready after {timeout_s:.0f}s"
            self.stop()
            raise ServerError(f"the brain server {why}; its log ends with:\n" + "\n".join(self._tail))
        return self.base_url

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("the brain server ignored SIGTERM for %.0fs; killing it", timeout_s)
            self._proc.kill()
            self._proc.wait(timeout_s)
        if self._reader is not None:
            self._reader.join(timeout_s)  # it closes the pipe at end of file

    @property
    def log_tail(self) -> list[str]:
        return list(self._tail)

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read_log(self, stream: IO[str]) -> None:
        log = self.log_path.open("a", encoding="utf-8") if self.log_path else None
        try:
            for line in stream:
                self._tail.append(line.rstrip())
                if log:
                    log.write(line)
                    log.flush()
                match = _READY.search(line)
                if match and not self._ready.is_set():
                    self.base_url, self.model = match.group(1), match.group(2)
                    self._ready.set()
        finally:
            stream.close()
            self._ready.set()  # the process ended: wake start()
            if log:
                log.close()
