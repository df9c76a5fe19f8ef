"""The served master under load: concurrent publishes, many /events clients, duplicate ids,
half-sent requests. Real waitress server on loopback, real Redis; bounded in count and time."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import anyio
import httpx
import pytest

from memory import SharedMemory
from tests.master.fakes import FixedPlanner, plan_of, setup_world, step

pytestmark = pytest.mark.anyio

PLAN = plan_of(step("s1", "r1"))
LIMITS = httpx.Limits(max_connections=400, max_keepalive_connections=400)


def publish_all(base: str, bodies: list[dict]) -> list[int]:
    """POST every body at once from its own thread; the status codes in order."""
    start = threading.Barrier(len(bodies))
    with httpx.Client(base_url=base, timeout=60, limits=LIMITS) as client:

        def publish(body: dict) -> int:
            start.wait(10)
            return client.post("/publish_task", json=body).status_code

        with ThreadPoolExecutor(len(bodies)) as pool:
            return list(pool.map(publish, bodies))


async def test_200_concurrent_publishes_get_no_5xx(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    with masters.serve(FixedPlanner(PLAN), redis_max_connections=8) as base:
        statuses = await anyio.to_thread.run_sync(publish_all, base, [{"task": f"t{i}"} for i in range(200)])
        assert statuses == [200] * 200
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            assert (await client.get("/health")).status_code == 200
    assert len(await shared_memory.tasks.list(limit=500)) == 200


async def test_concurrent_publishes_of_one_task_id_give_one_success_and_409s(shared_memory: SharedMemory,
                                                                              masters) -> None:
    await setup_world(shared_memory)
    with masters.serve(FixedPlanner(PLAN)) as base:
        statuses = await anyio.to_thread.run_sync(publish_all, base, [{"task": "x", "task_id": "same"}] * 30)
    assert sorted(statuses) == [200] + [409] * 29


async def read_until(chunks: AsyncIterator[str], marker: str) -> str:
    text = ""
    async for chunk in chunks:
        text += chunk
        if marker in text:
            return text
    raise AssertionError(f"the stream ended before {marker!r}: {text[-200:]!r}")


async def system_status(client: httpx.AsyncClient) -> dict:
    return (await client.get("/system_status")).json()["data"]


async def test_150_event_clients_each_get_the_event_and_their_slots_come_back(shared_memory: SharedMemory,
                                                                               masters) -> None:
    await setup_world(shared_memory)
    clients = 150
    with masters.serve(FixedPlanner(PLAN), redis_max_connections=8) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=LIMITS) as client:
            connected = anyio.Event()
            opened: list[int] = []
            received: list[str] = []

            async def follow() -> None:
                async with client.stream("GET", "/events") as stream:
                    assert stream.status_code == 200
                    chunks = stream.aiter_text()
                    await read_until(chunks, ": connected")
                    opened.append(1)
                    if len(opened) == clients:
                        connected.set()
                    received.append(await read_until(chunks, "event: task_created"))

            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    for _ in range(clients):
                        group.start_soon(follow)
                    await connected.wait()
                    assert (await system_status(client))["event_streams"] == clients
                    published = await client.post("/publish_task", json={"task": "x", "task_id": "seen-by-all"})
                    assert published.status_code == 200
            assert len(received) == clients and all('"task_id":"seen-by-all"' in r for r in received)
            with anyio.fail_after(20):  # each stream notices its client left within a wake-up (1 s)
                while (await system_status(client))["event_streams"]:
                    await anyio.sleep(0.1)
            assert (await client.get("/health")).status_code == 200


async def test_event_streams_beyond_the_limit_get_503_with_retry_after(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    with masters.serve(FixedPlanner(PLAN), max_event_streams=3) as base:
        async with (httpx.AsyncClient(base_url=base, timeout=10) as client, client.stream("GET", "/events") as a,
                    client.stream("GET", "/events") as b, client.stream("GET", "/events") as c):
            assert [s.status_code for s in (a, b, c)] == [200] * 3
            refused = await client.get("/events")
            assert refused.status_code == 503 and refused.headers["Retry-After"]
            assert "no free event stream" in refused.json()["message"]
            assert (await client.get("/health")).status_code == 200


def half_open(base: str, count: int, partial: bytes) -> list[socket.socket]:
    address = urlsplit(base)
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((address.hostname, address.port), timeout=10)
        sock.sendall(partial)
        sockets.append(sock)
    return sockets


async def test_half_sent_requests_hold_no_thread_and_are_closed_after_the_channel_timeout(
        shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    with masters.serve(FixedPlanner(PLAN), http_threads=2, max_event_streams=2, channel_timeout_s=1.0) as base:
        headers_only = half_open(base, 25, b"GET /health HTTP/1.1\r\nHost: x\r\n")
        body_missing = half_open(base, 25, b"POST /publish_task HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        try:
            with httpx.Client(base_url=base, timeout=10) as client:
                assert client.get("/health").status_code == 200
                assert client.post("/publish_task", json={"task": "x"}).status_code == 200
            for sock in headers_only + body_missing:  # recv: b"" once the server closes it (bounded by 10 s)
                assert sock.recv(1024) == b""
        finally:
            for sock in headers_only + body_missing:
                sock.close()

