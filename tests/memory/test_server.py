from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis

from memory import SharedMemoryError
from memory.server import EmbeddedRedis, find_redis_server


def test_finds_a_redis_server_binary() -> None:
    binary = find_redis_server()
    assert binary.is_file()
    assert binary.name == "redis-server"


def test_starts_on_loopback_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data").start()
    try:
        assert server.running
        assert server.url.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.ping()
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.close()
    finally:
        server.stop()
    assert not server.running
    assert (tmp_path / "data" / "redis.log").is_file()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(server.url, socket_connect_timeout=1).ping()


def test_data_survives_a_restart_through_the_append_only_file(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        client.hset("robot:a", mapping={"status": "idle"})
        client.xadd("events", {"data": "{}"})
        client.close()
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.hgetall("robot:a") == {"status": "idle"}
        assert client.xlen("events") == 1
        client.close()


def test_busy_port_fails_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmbeddedRedis(tmp_path, port=taken.getsockname()[1])
        with pytest.raises(SharedMemoryError) as info:
            server.start(timeout_s=5.0)
    assert "exited during start-up" in str(info.value)
    assert "Address already in use" in str(info.value) or "bind" in str(info.value).lower()
    assert not server.running


def test_url_before_start_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SharedMemoryError, match="start"):
        _ = EmbeddedRedis(tmp_path).url
