from __future__ import annotations

import socket

import pytest

from memory import SceneNode, SharedMemory, SharedMemoryError
from memory.shared_memory import redact_url

pytestmark = pytest.mark.anyio


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_redis_says_what_to_do() -> None:
    url = f"redis://:secret@127.0.0.1:{_closed_port()}"
    with pytest.raises(SharedMemoryError) as info:
        await SharedMemory.connect(url, timeout_s=1.0)
    message = str(info.value)
    assert "cannot reach Redis at redis://:***@127.0.0.1" in message
    assert "embedded server" in message
    assert "secret" not in message


async def test_ping_and_info(shared_memory: SharedMemory, key_prefix: str) -> None:
    assert await shared_memory.ping()
    info = await shared_memory.info()
    assert info["key_prefix"] == key_prefix
    assert info["redis_version"]
    assert info["used_memory"] > 0
    assert info["used_cpu_s"] > 0


async def test_clear_deletes_only_its_own_prefix(redis_url: str, shared_memory: SharedMemory) -> None:
    other = await SharedMemory.connect(redis_url, prefix=shared_memory.prefix + "[x]*")
    try:
        await shared_memory.scene.load([SceneNode("kitchen", "place")])
        await other.scene.load([SceneNode("hall", "place")])
        await other.events.append("note")
        assert await other.clear() == 6  # nodes, version, index marker, roots, roots stamp, events: that prefix only
        assert (await shared_memory.scene.get("kitchen")) is not None
        assert await other.redis.keys(other.keys.pattern) == []
    finally:
        await other.clear()
        await other.close()


def test_redact_url_leaves_urls_without_password_alone() -> None:
    assert redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert redact_url("redis://user:pw@host:1") == "redis://user:***@host:1"
