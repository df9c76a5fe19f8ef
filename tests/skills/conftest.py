"""Fixtures for the skills tests: a small world in real Redis and in-process simulated robots."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

import pytest
from flask import Flask
from waitress.server import create_server

from master.server import close_http
from memory import RobotProfile, SceneNode, SharedMemory
from skills.client import SkillClient
from skills.sim import build_sim_server

WORLD = [
    SceneNode("kitchen", "place"),
    SceneNode("pass", "place"),
    SceneNode("dining_room", "place"),
    SceneNode("kitchen_table", "furniture", "kitchen", "at"),
    SceneNode("fridge", "container", "kitchen", "at", {"open": False}),
    SceneNode("serving_table", "furniture", "pass", "at"),
    SceneNode("table_1", "furniture", "dining_room", "at"),
    SceneNode("apple", "object", "kitchen_table", "on", {"weight_kg": 0.2}),
    SceneNode("bread", "object", "kitchen_table", "on"),
    SceneNode("cup", "object", "kitchen_table", "on", {"weight_kg": 0.3}),
    SceneNode("cheese", "object", "fridge", "in", {"weight_kg": 0.5}),
    SceneNode("soup_pot", "object", "kitchen_table", "on", {"weight_kg": 4.0}),
]

SimClient = Callable[..., AbstractAsyncContextManager[SkillClient]]


@pytest.fixture
async def world(shared_memory: SharedMemory) -> SharedMemory:
    """The shared memory with a small restaurant loaded."""
    await shared_memory.scene.load(list(WORLD))
    return shared_memory


@pytest.fixture
def sim_robot(world: SharedMemory, redis_url: str, key_prefix: str) -> SimClient:
    """``async with sim_robot(name, embodiment, start, **settings) as client``: a registered,
    in-process simulated robot (instant unless ``speed`` is given)."""

    @asynccontextmanager
    async def connect(name: str, embodiment: str, start: str, **settings: Any) -> AsyncIterator[SkillClient]:
        await world.robots.register(RobotProfile(name, embodiment), start)
        settings.setdefault("speed", 0.0)
        server = build_sim_server(name, embodiment, redis_url=redis_url, prefix=key_prefix, **settings)
        async with SkillClient.in_process(server) as client:
            yield client

    return connect


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` under waitress on a free loopback port, in a thread; yields its base URL."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        close_http(server, thread)


@asynccontextmanager
async def serving_skills(server: Any) -> AsyncIterator[str]:
    """A SkillServer over streamable HTTP on a free loopback port, in this loop; yields its base URL
    (MCP at /mcp, the server's own routes beside it)."""
    import socket

    import anyio
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    http = uvicorn.Server(uvicorn.Config(server.mcp.streamable_http_app(host="127.0.0.1"), log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: http.serve(sockets=[sock]))
        with anyio.fail_after(10):
            while not http.started:
                await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
        http.should_exit = True
    sock.close()
