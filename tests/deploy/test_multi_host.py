"""Several hosts, played by loopback addresses: Redis on one, the master on another, a robot's skill
server on a third, its slaver connecting to both, and Redis reached over TLS (``rediss://``).

The bundled redis-server has no TLS, so a small TLS front relays to it: the clients' side (certificate
checks, the ``rediss://`` URL with ``ssl_ca_certs``) is the real redis-py one. Real processes throughout.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
import trustme

from memory import SharedMemory
from memory.profiles import SceneSnapshot
from memory.server import EmbeddedRedis, _free_port
from scene import load_scene

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

ROOT = Path(__file__).resolve().parents[2]
REDIS_HOST, TLS_HOST, MASTER_HOST, ROBOT_HOST = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
TOKEN = "multi-host-test-token"


class TlsFront:
    """Accepts TLS on ``host`` and relays each connection's bytes to a plain TCP ``target``."""

    def __init__(self, host: str, target: tuple[str, int], context: ssl.SSLContext) -> None:
        self.host, self.target, self.context = host, target, context
        self.port = 0
        self.relayed = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._streams: list[asyncio.StreamWriter] = []

    def __enter__(self) -> TlsFront:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._relay, self.host, 0, ssl=self.context))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _call(self, coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._streams:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self._streams), return_exceptions=True)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.relayed += 1
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._streams += [writer, upstream_writer]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))


@contextmanager
def started(argv: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_for(condition, timeout_s: float, what: str, logs: list[Path]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            shown = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
            raise AssertionError(f"{what}: not within {timeout_s} s\n{shown}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.HTTPError:
        return False


@pytest.mark.timeout(180)
async def test_robot_host_and_central_host_over_tls_redis(tmp_path: Path) -> None:
    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(TLS_HOST).configure_cert(context)

    scene = load_scene("restaurant")
    waiter = next(entry for entry in scene.fleet if entry.name == "waiter")
    with EmbeddedRedis(tmp_path / "redis", host=REDIS_HOST) as server, \
            TlsFront(TLS_HOST, (REDIS_HOST, server.port), context) as front:  # type: ignore[arg-type]
        url = f"rediss://{TLS_HOST}:{front.port}/0?ssl_ca_certs={ca_file}"
        with pytest.raises(redis.ConnectionError):  # the front speaks TLS only
            redis.Redis(host=TLS_HOST, port=front.port, socket_timeout=2).ping()

        env = {**os.environ, "PYTHONPATH": str(ROOT), "ROBOOS_REDIS_PASSWORD": server.password or "",
               "ROBOOS_AUTH_TOKEN": TOKEN}
        master_port, skill_port = _free_port(MASTER_HOST), _free_port(ROBOT_HOST)
        master_url = f"http://{MASTER_HOST}:{master_port}"
        skill_url = f"http://{ROBOT_HOST}:{skill_port}/mcp"
        logs = [tmp_path / "master.log", tmp_path / "skills.log", tmp_path / "slaver.log"]
        cli = [sys.executable, "-m", "deploy.cli"]
        with started([*cli, "master", "--host", MASTER_HOST, "--port", str(master_port), "--redis-url", url,
                      "--scene", "restaurant", "--set", f"master.auth_token={TOKEN}"], logs[0], env), \
                started([*cli, "skill", "sim", "--robot", "waiter", "--embodiment", waiter.embodiment,
                         "--zones", ",".join(waiter.zones), "--redis-url", url, "--speed", "0",
                         "--transport", "streamable-http", "--host", ROBOT_HOST, "--port", str(skill_port)],
                        logs[1], env):
            # as `roboos up` does: the slaver starts once its skill server listens (it stops if it cannot reach it)
            wait_for(lambda: "ready on" in logs[1].read_text(), 60, "the skill server listening", logs)
            with started([*cli, "slaver", "--robot", "waiter", "--embodiment", waiter.embodiment,
                          "--start-place", waiter.start, "--redis-url", url, "--skill-url", skill_url], logs[2], env):
                await run_the_task(master_url, url, server.password, logs)
        assert front.relayed >= 4  # the test's, the master's, the skill server's and the slaver's connections


async def run_the_task(master_url: str, redis_url: str, password: str | None, logs: list[Path]) -> None:
    """The waiter online, a task for it through the master, its effect in the scene and in Redis."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    wait_for(lambda: answers(f"{master_url}/health"), 60, "the master answering", logs)

    def waiter_online() -> bool:
        reply = httpx.get(f"{master_url}/robots", headers=headers, timeout=5)
        return reply.status_code == 200 and any(
            r["profile"]["name"] == "waiter" and r["online"] for r in reply.json()["data"])

    wait_for(waiter_online, 60, "the waiter online", logs)
    reply = httpx.post(f"{master_url}/publish_task", json={"task": "waiter go to the bar"},
                       headers=headers, timeout=30)
    assert reply.status_code == 200, reply.text
    task_id = reply.json()["task_id"]

    def state() -> str:
        return httpx.get(f"{master_url}/tasks/{task_id}", headers=headers, timeout=5).json()["data"]["state"]

    wait_for(lambda: state() in ("succeeded", "failed", "cancelled"), 60, "the task's end", logs)
    assert state() == "succeeded", [log.read_text()[-2000:] for log in logs]
    scene_now = SceneSnapshot.from_dict(httpx.get(f"{master_url}/scene", headers=headers, timeout=5).json()["data"])
    assert scene_now.nodes["waiter"].parent == "bar"
    memory = await SharedMemory.connect(redis_url, password=password)
    try:
        assert (await memory.robots.get("waiter")).status == "idle"  # type: ignore[union-attr]
    finally:
        await memory.close()
