"""Hostile input to the served master: each gets the right 4xx before any stream starts, and the
server goes on serving. Real waitress server on loopback, real Redis."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from master.routes.tasks import TASK_ID_PATTERN
from memory import SharedMemory
from tests.master.fakes import FixedPlanner, plan_of, setup_world, step

pytestmark = pytest.mark.anyio

PLAN = plan_of(step("s1", "r1"))
LIMIT = 4096

HOSTILE_GETS = [
    ("/tasks?limit=\u00b2", "'limit' must be an integer"),  # superscript two: isdigit() but not int()
    ("/tasks?limit=\u0661\u0662", "'limit' must be an integer"),  # Arabic-Indic digits: int() takes them
    ("/tasks?limit=" + "9" * 5000, "'limit' must be an integer"),  # past int()'s digit limit
    ("/tasks?limit=50%0A", "'limit' must be an integer"),
    ("/events?since=\u0661\u0662\u0663", "'since' must be an event id"),
    ("/events?since=18446744073709551616-0", "'since' must be an event id"),  # 2**64
    ("/events?since=1-18446744073709551616", "'since' must be an event id"),
    ("/events?since=1712345678901-0%0A", "'since' must be an event id"),
    ("/events?since=-1", "'since' must be an event id"),
]


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


HOSTILE_BODIES = [
    (nested(1900), "nested too deeply"),
    (b'{"task": ' + nested(1900) + b"}", "nested too deeply"),
    (json.dumps({"task": "x", "task_id": "job-7\n"}).encode(), TASK_ID_PATTERN),
    (json.dumps({"task": "x", "task_id": "job\x1b[31m"}).encode(), TASK_ID_PATTERN),
    (json.dumps({"task": "x", "task_id": "j\u00f6b"}).encode(), TASK_ID_PATTERN),
]


@pytest.fixture
def base(masters) -> Iterator[str]:
    with masters.serve(FixedPlanner(PLAN), max_body_bytes=LIMIT) as url:
        yield url


async def test_hostile_queries_and_bodies_get_400_and_the_server_still_serves(shared_memory: SharedMemory,
                                                                              base: str) -> None:
    await setup_world(shared_memory)
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for path, expected in HOSTILE_GETS:
            response = await client.get(path)
            assert response.status_code == 400, (path, response.text)
            assert expected in response.json()["message"], path
        for body, expected in HOSTILE_BODIES:
            response = await client.post("/publish_task", content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, (body[:40], response.text)
            assert expected in response.json()["message"]
        assert (await client.get("/health")).status_code == 200
        assert (await client.post("/publish_task", json={"task": "x", "task_id": "job-7"})).status_code == 200


@pytest.mark.parametrize("header", ["\u0661\u0662\u0663", "18446744073709551616", "1-0\n"])
def test_a_bad_last_event_id_gets_400_before_the_stream_starts(base: str, header: str) -> None:
    address = urlsplit(base)
    request = f"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {header}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request.encode())  # raw: clients refuse to send such headers, attackers do not
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"400", answer[:300]
    if header.endswith("\n"):  # waitress refuses a bare LF in a header line before the app sees it
        assert b"Bare CR or LF" in rest
    else:
        assert b"'since' must be an event id" in rest


async def test_a_chunked_body_is_held_to_the_same_413_limit(shared_memory: SharedMemory, base: str) -> None:
    await setup_world(shared_memory)

    async def chunks(*parts: bytes) -> AsyncIterator[bytes]:  # no length: httpx sends it chunked
        for part in parts:
            yield part

    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        response = await client.post("/publish_task", content=chunks(b'{"task": "', *[b"x" * LIMIT] * 3, b'"}'))
        assert response.status_code == 413 and f"limit of {LIMIT} bytes" in response.json()["message"]
        assert response.request.headers["Transfer-Encoding"] == "chunked"
        fits = await client.post("/publish_task", content=chunks(b'{"task": ', b'"x"}'))
        assert fits.status_code == 200
