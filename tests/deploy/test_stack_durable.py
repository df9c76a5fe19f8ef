"""``roboos up`` across restarts: the password stays secret, the data stays, crashes are restarted, no orphans.

Real processes throughout: ``roboos up`` on the restaurant scene, its embedded Redis, kill -9.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from deploy.launcher import live_parents
from memory.profiles import SceneSnapshot

pytestmark = pytest.mark.slow

ROBOOS = [sys.executable, "-m", "deploy.cli"]
ROBOTS = {"chef", "waiter", "bartender"}


class Up:
    """A running ``roboos up`` and what it printed."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        line = self.wait_for(r"RoboOS is up: master at http://", timeout_s=90)
        self.master = re.search(r"master at (http://[\d.:]+)", line).group(1)  # type: ignore[union-attr]
        self.redis_port = int(re.search(r"Redis at redis://127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]

    def wait_for(self, pattern: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line:
                self.lines.append(line)
                if re.search(pattern, line):
                    return line
            elif self.process.poll() is not None:
                break
            else:
                time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in time; got:\n{''.join(self.lines)}")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.master}{path}", timeout=10)

    def cup(self) -> tuple[str | None, str | None]:
        node = SceneSnapshot.from_dict(self.get("/scene").json()["data"]).nodes["cup"]
        return node.parent, node.relation


@contextmanager
def roboos_up(cwd: Path, *extra: str) -> Iterator[Up]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("ROBOOS_REDIS_PASSWORD", None)
    argv = ROBOOS + ["up", "--scene", "restaurant", "--port", "0", "--speed", "0", "--data-dir", "data", "--no-ui", *extra]
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        yield Up(process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
            assert process.stdout is not None
            process.stdout.close()


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (children, grandchildren...)."""
    parents = live_parents()
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(0.1)


def online(up: Up) -> set[str]:
    reply = up.get("/robots")
    if reply.status_code != 200:  # 503 while Redis restarts
        return set()
    return {r["profile"]["name"] for r in reply.json()["data"] if r["online"]}


def wait_beating_since(up: Up, since: float, timeout_s: float, what: str) -> None:
    """Until every robot is online and its slaver beat after ``since`` (after a Redis restart, a
    liveness key replayed from the append-only file may be about to expire: only a beat since
    renews it); on timeout, what ``/robots`` said last."""
    last: list[str] = []

    def beating() -> bool:
        reply = up.get("/robots")
        if reply.status_code != 200:
            last[:] = [f"/robots answered {reply.status_code}: {reply.text[:200]}"]
            return False
        last[:] = [f"{r['profile']['name']} online={r['online']} last_heartbeat={r['last_heartbeat']:.1f}"
                   for r in reply.json()["data"]]
        fresh = {r["profile"]["name"] for r in reply.json()["data"] if r["online"] and r["last_heartbeat"] > since}
        return fresh == ROBOTS

    deadline = time.monotonic() + timeout_s
    while not beating():
        assert time.monotonic() < deadline, (f"{what}: not within {timeout_s} s (since {since:.1f}; last seen: "
                                             f"{last}); the stack's last lines:\n{''.join(up.lines[-20:])}")
        time.sleep(0.1)


def publish_and_finish(up: Up, text: str) -> str:
    reply = httpx.post(f"{up.master}/publish_task", json={"task": text}, timeout=60)
    assert reply.status_code == 200, reply.text
    task_id = reply.json()["task_id"]
    wait_until(lambda: up.get(f"/tasks/{task_id}").json()["data"]["state"] == "succeeded", 60, f"task {task_id}")
    return task_id


def test_up_keeps_tasks_and_world_across_restarts_supervises_and_never_shows_the_password(tmp_path: Path) -> None:
    with roboos_up(tmp_path) as up:
        assert any("scene restaurant loaded" in line for line in up.lines), up.lines
        password_file = tmp_path / "data" / "redis.password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=up.redis_port, socket_connect_timeout=2).ping()
        children = descendants(up.process.pid)
        assert len(children) >= 8  # redis, 2 skill servers, master, 3 slavers, the chef's stdio skills
        assert not [pid for pid in children if password.encode() in cmdline(pid)]
        assert password not in up.get("/robots").text

        task_id = publish_and_finish(up, "bring the cup to table 2")
        assert up.cup() == ("table_2", "on")

        chef = next(pid for pid in children if b"--robot\x00chef\x00" in cmdline(pid) and b"slaver" in cmdline(pid))
        os.kill(chef, signal.SIGKILL)
        up.wait_for(r"slaver-chef exited with code -9; restarting in 0\.5 s \(restart 1\)", timeout_s=10)
        chef_log = next((tmp_path / "run").glob("*/logs/slaver-chef.log"))
        wait_until(lambda: chef_log.read_text().count("slaver chef ready") == 2, 30, "a new chef slaver ready")
        wait_until(lambda: online(up) == ROBOTS, 10, "every robot online")
        assert publish_and_finish(up, "bring the cheese to table 1")  # the restarted chef works

        server = next(pid for pid in descendants(up.process.pid) if b"redis-server" in cmdline(pid))
        killed_at = time.time()
        os.kill(server, signal.SIGKILL)
        up.wait_for(r"redis exited with code -9; restarting now \(restart 1\)", timeout_s=10)
        wait_beating_since(up, killed_at, 20, "every robot beating after the Redis restart")
        assert up.cup() == ("table_2", "on")  # replayed from the append-only file
        assert publish_and_finish(up, "put the milk in the fridge")

        children = descendants(up.process.pid)
        up.process.kill()
        up.process.wait(timeout=10)
        wait_until(lambda: not [pid for pid in children if cmdline(pid)], 10, "children gone after kill -9 of up")

    shown = "".join(up.lines)
    logs = [p for p in (tmp_path / "run").rglob("*") if p.is_file() and p != password_file]
    assert password not in shown and not [p for p in logs if password in p.read_text(errors="replace")]

    with roboos_up(tmp_path) as again:
        assert any("kept the world already in Redis" in line for line in again.lines), again.lines
        assert again.get(f"/tasks/{task_id}").status_code == 200
        assert again.cup() == ("table_2", "on")
        assert (tmp_path / "data" / "redis.password").read_text().strip() == password

    with roboos_up(tmp_path, "--reset-scene") as reset:
        assert any("scene restaurant loaded" in line for line in reset.lines), reset.lines
        assert reset.cup() == ("cupboard", "in")
        assert reset.get(f"/tasks/{task_id}").status_code == 200


def node_serving(data: Path, key: str, password: str) -> Path:
    """The data folder of the embedded cluster node that serves ``key`` (a node's ``nodes.conf`` names its port)."""
    ports = {}
    for conf in data.glob("node-*/nodes.conf"):
        myself = next(line for line in conf.read_text().splitlines() if "myself" in line.split()[2])
        ports[int(myself.split()[1].split("@")[0].rsplit(":", 1)[1])] = conf.parent
    client = redis.RedisCluster(host="127.0.0.1", port=min(ports), password=password)
    try:
        return ports[client.get_node_from_key(key).port]
    finally:
        client.close()


def test_up_on_an_embedded_cluster_survives_kill_9_of_the_node_holding_the_deployment(tmp_path: Path) -> None:
    with roboos_up(tmp_path, "--redis-cluster") as up:
        publish_and_finish(up, "bring the cup to table 2")
        password = (tmp_path / "data" / "redis.password").read_text().strip()
        folder = node_serving(tmp_path / "data", "{roboos:}events", password)
        servers = [pid for pid in descendants(up.process.pid) if b"redis-server" in cmdline(pid)]
        assert len(servers) == 3
        node = next(pid for pid in servers if Path(f"/proc/{pid}/cwd").resolve() == folder.resolve())
        killed_at = time.time()
        os.kill(node, signal.SIGKILL)
        up.wait_for(r"redis exited with code -9; restarting now \(restart 1\)", timeout_s=10)
        wait_beating_since(up, killed_at, 30, "every robot beating after the node's restart")
        assert up.cup() == ("table_2", "on")  # replayed from the node's append-only file
        assert publish_and_finish(up, "put the milk in the fridge")
