"""The skill client over real transports: a simulated robot spawned over stdio, and one served
over streamable HTTP from a subprocess; servers that are down raise SkillUnavailable."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from memory import SharedMemory
from skills.client import SkillClient
from skills.errors import SkillUnavailable

pytestmark = pytest.mark.anyio

ROOT = str(Path(__file__).resolve().parents[2])
ENV = {"PYTHONPATH": ROOT}
READY = "ready on "


def sim_argv(redis_url: str, prefix: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "skills.sim", "--robot", "chef", "--embodiment", "wheeled_dual_arm",
            "--redis-url", redis_url, "--prefix", prefix, "--zones", "kitchen,pass", "--speed", "0", *extra]


async def wait_ready(process: Process, deadline_s: float = 30.0) -> str:
    """Read the server's stderr until its readiness line; return the URL it names."""
    seen = ""
    with anyio.fail_after(deadline_s):
        async for chunk in TextReceiveStream(process.stderr):
            seen += chunk
            if READY in seen and "\n" in seen.split(READY, 1)[1]:
                return seen.split(READY, 1)[1].split()[0]
    raise AssertionError(f"the skill server exited before it was ready:\n{seen}")


@asynccontextmanager
async def http_server(argv: list[str]) -> AsyncIterator[tuple[Process, str]]:
    process = await anyio.open_process(argv, stderr=-1, env={**os.environ, **ENV})
    try:
        yield process, await wait_ready(process)
    finally:
        if process.returncode is None:
            process.terminate()
        with anyio.fail_after(10):
            await process.wait()
        await process.aclose()


@pytest.fixture
async def chef_registered(world: SharedMemory) -> SharedMemory:
    from memory import RobotProfile

    await world.robots.register(RobotProfile("chef", "wheeled_dual_arm"), "kitchen")
    return world


async def test_stdio_transport(chef_registered: SharedMemory, redis_url: str, key_prefix: str) -> None:
    argv = sim_argv(redis_url, key_prefix, "--transport", "stdio")
    async with SkillClient.stdio(argv, env=ENV, connect_timeout_s=30) as chef:
        assert chef.endpoint.startswith("stdio:")
        names = {s.name for s in await chef.list_skills()}
        capabilities = await chef.capabilities()
        outcome = await chef.call("navigate", {"target": "serving_table"}, timeout_s=10)
        refused = await chef.call("navigate", {"target": "table_1"}, timeout_s=10)
    assert names == {"navigate", "pick", "place", "open", "close", "hand_over"}
    assert capabilities["zones"] == ["kitchen", "pass"]
    assert outcome.ok and outcome.effects[0].parent == "pass"
    assert not refused.ok and "outside chef's zones" in refused.message


async def test_streamable_http_transport(chef_registered: SharedMemory, redis_url: str, key_prefix: str) -> None:
    argv = sim_argv(redis_url, key_prefix, "--transport", "streamable-http", "--port", "0")
    async with http_server(argv) as (process, url):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        async with SkillClient.http(url) as chef:
            assert [s.semantics.kind for s in await chef.list_skills()][0] == "navigate"
            outcome = await chef.call("pick", {"object": "apple"}, timeout_s=10)
            assert outcome.ok and outcome.effects[0].relation == "held_by"
            process.terminate()
            with anyio.fail_after(10):
                await process.wait()
            with pytest.raises(SkillUnavailable, match="is down or unreachable"):
                await chef.call("pick", {"object": "bread"}, timeout_s=10)
    with pytest.raises(SkillUnavailable, match=f"cannot reach skill server {url}"):
        async with SkillClient.http(url, connect_timeout_s=5):
            pass


async def test_stdio_server_that_exits_is_unavailable() -> None:
    argv = [sys.executable, "-c", "import sys; sys.exit(3)"]
    with pytest.raises(SkillUnavailable, match="cannot reach skill server stdio:"):
        async with SkillClient.stdio(argv, connect_timeout_s=10):
            pass


def test_cli_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from skills.sim import main

    with pytest.raises(SystemExit):
        main(["--robot", "r", "--embodiment", "tank", "--redis-url", "redis://127.0.0.1:1"])
    assert "invalid choice: 'tank'" in capsys.readouterr().err


DYING_SERVER = '''
import os
from skills.sdk import SkillResult, SkillServer

server = SkillServer("fragile", embodiment="drone")

@server.skill()
async def crash() -> SkillResult:
    """Exit the process mid-call."""
    os._exit(1)

server.run("stdio")
'''


async def test_stdio_server_that_dies_mid_session_is_unavailable(tmp_path: Path) -> None:
    script = tmp_path / "fragile.py"
    script.write_text(DYING_SERVER)
    async with SkillClient.stdio([sys.executable, str(script)], env=ENV, connect_timeout_s=30) as fragile:
        assert [s.name for s in await fragile.list_skills()] == ["crash"]
        with pytest.raises(SkillUnavailable, match="is down or unreachable: Connection closed"):
            await fragile.call("crash", {}, timeout_s=10)
