from __future__ import annotations

import os
import signal
import socket
import stat
from pathlib import Path

import pytest
import redis

from memory import SharedMemory, SharedMemoryError
from memory.server import EmbeddedRedis, find_redis_server
from memory.shared_memory import PASSWORD_ENV, split_password


def test_finds_a_redis_server_binary() -> None:
    binary = find_redis_server()
    assert binary.is_file()
    assert binary.name == "redis-server"


def test_starts_on_loopback_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data").start()
    try:
        assert server.running
        assert server.url.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(server.url, password=server.password, decode_responses=True)
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
        client = redis.Redis.from_url(server.url, password=server.password, decode_responses=True)
        client.hset("robot:a", mapping={"status": "idle"})
        client.xadd("events", {"data": "{}"})
        client.close()
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, password=server.password, decode_responses=True)
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


def test_password_is_generated_with_mode_0600_and_kept_across_restarts(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        first = server.password
        assert first and len(first) >= 32
        assert "@" not in server.url and first not in server.url
    path = tmp_path / "redis.password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with EmbeddedRedis(tmp_path) as server:
        assert server.password == first


def test_a_client_without_the_password_is_refused(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "data") as server:
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(server.url, socket_connect_timeout=2).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(server.url, password="wrong", socket_connect_timeout=2).ping()


def test_the_password_is_not_in_the_servers_argv(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        assert server._process is not None
        cmdline = Path(f"/proc/{server._process.pid}/cmdline").read_bytes()
        assert server.password is not None
        assert server.password.encode() not in cmdline


def test_a_password_file_written_by_hand_is_used(tmp_path: Path) -> None:
    own = 'my-"own"-pa$$word\\x'  # quotes and a backslash survive the server's config syntax
    (tmp_path / "redis.password").write_text(own + "\n")
    with EmbeddedRedis(tmp_path) as server:
        assert server.password == own
        assert redis.Redis.from_url(server.url, password=server.password).ping()


def test_an_unusable_password_file_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "redis.password").write_text("two words\n")
    with pytest.raises(SharedMemoryError, match="delete it"):
        EmbeddedRedis(tmp_path).start()


def test_without_auth_there_is_no_password(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, auth=False) as server:
        assert server.password is None
        assert redis.Redis.from_url(server.url).ping()
    assert not (tmp_path / "redis.password").exists()


def test_two_servers_cannot_share_a_data_folder(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path), pytest.raises(SharedMemoryError, match="another embedded Redis"):
        EmbeddedRedis(tmp_path).start()


def test_a_crashed_server_restarts_on_its_port_and_replays_its_data(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        url, client = server.url, redis.Redis.from_url(server.url, password=server.password)
        client.set("kept", "yes")
        client.close()
        assert server._process is not None
        os.kill(server._process.pid, signal.SIGKILL)
        server._process.wait(timeout=10)
        assert not server.running and server.exit_code == -signal.SIGKILL
        server.start()
        assert server.url == url
        client = redis.Redis.from_url(server.url, password=server.password)
        assert client.get("kept") == b"yes"
        client.close()


@pytest.mark.anyio
async def test_shared_memory_takes_the_password_from_the_argument_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with EmbeddedRedis(tmp_path) as server:
        assert server.password is not None
        with pytest.raises(SharedMemoryError, match="cannot reach Redis"):
            await SharedMemory.connect(server.url)
        memory = await SharedMemory.connect(server.url, password=server.password)
        assert await memory.ping()
        await memory.close()
        monkeypatch.setenv(PASSWORD_ENV, server.password)
        memory = await SharedMemory.connect(server.url)
        assert await memory.ping()
        assert server.password not in str(await memory.info())
        await memory.close()


def test_split_password_keeps_the_user_and_unquotes() -> None:
    assert split_password("redis://127.0.0.1:6379/0") == ("redis://127.0.0.1:6379/0", None)
    assert split_password("redis://:p%40ss@host:1") == ("redis://host:1", "p@ss")
    assert split_password("redis://me:pw@host:1/2") == ("redis://me@host:1/2", "pw")
