"""The master served by a real threaded WSGI server, over real HTTP."""

from __future__ import annotations

import socket
import threading

import anyio
import httpx
import pytest

from master.config import MasterConfig
from master.server import serve
from memory import SharedMemory
from tests.master.fakes import FixedPlanner, plan_of, setup_world, step

pytestmark = pytest.mark.anyio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_answers_http_and_stops_cleanly(shared_memory: SharedMemory, redis_url: str, key_prefix: str) -> None:
    await setup_world(shared_memory)
    port = free_port()
    config = MasterConfig(port=port, auth_token="tok")
    stop = threading.Event()
    planner = FixedPlanner(plan_of(step("s1", "r1")))
    thread = threading.Thread(target=serve, args=(config, redis_url, key_prefix, planner, stop), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            for _ in range(50):  # bounded wait for the listener
                try:
                    health = await client.get("/health")
                    break
                except httpx.ConnectError:
                    await anyio.sleep(0.1)
            assert health.status_code == 200 and health.json()["redis"] == "up"
            refused = await client.post("/publish_task", json={"task": "x"})
            assert refused.status_code == 401
            published = await client.post("/publish_task", json={"task": "x"}, headers={"Authorization": "Bearer tok"})
            assert published.status_code == 200 and published.json()["data"]["subtask_list"][0]["robot_name"] == "r1"
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/health", timeout=1)


def test_main_refuses_an_open_bind_without_a_token() -> None:
    from deploy.components import master_main

    assert master_main(["--host", "0.0.0.0", "--redis-url", "redis://127.0.0.1:1"]) == 2
