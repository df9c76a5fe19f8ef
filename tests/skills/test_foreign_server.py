"""A RoboOS-style ``skill.py`` (tests/fixtures/roboos_skill.py) through our skill client, unchanged."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from skills.client import SkillClient
from skills.errors import SkillUnavailable

SKILL_PY = Path(__file__).resolve().parents[1] / "fixtures" / "roboos_skill.py"
# Runs the server with its stderr in a file, after printing a banner on stdout (the protocol channel).
WRAPPER = ("import os, runpy, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC); "
           "os.dup2(fd, 2); os.write(1, b'robot driver starting...\\n'); "
           "sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')")

pytestmark = pytest.mark.anyio


def stdio_client(stderr: Path) -> SkillClient:
    return SkillClient.stdio([sys.executable, "-c", WRAPPER, str(stderr), str(SKILL_PY), "stdio"])


async def test_stdio_discovery_is_quiet_and_results_carry_the_state(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stderr = tmp_path / "server.err"
    with anyio.fail_after(30):
        async with stdio_client(stderr) as skills:
            specs = {s.name: s for s in await skills.list_skills()}
            assert await skills.capabilities() == {}
            moved = await skills.call("navigate_to_target", {"target": "table_2"})
            battery = await skills.call("report_battery", {})
    assert set(specs) == {"navigate_to_target", "grasp_object", "place_to_affordance", "report_battery"}
    assert specs["grasp_object"].semantics.kind == "other"
    assert moved.ok and moved.state == {"position": "table_2"}
    assert moved.message == "Navigation to table_2 has been successfully performed."
    assert battery.state == {"battery": 0.87}
    log = stderr.read_text()
    assert "error" not in log.lower() and "failed" not in log.lower() and "Unknown resource" not in log, log
    noise = [r for r in caplog.records if "not MCP on stdout" in r.getMessage()]
    assert len(noise) == 1 and "robot driver starting" in noise[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("skill") / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, str(SKILL_PY), "streamable-http", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and server.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


async def test_a_base_url_finds_the_mcp_endpoint(http_server: str) -> None:
    with anyio.fail_after(30):
        async with SkillClient.http(http_server) as skills:
            assert len(await skills.list_skills()) == 4
            outcome = await skills.call("grasp_object", {"object": "cup"})
    assert outcome.ok and outcome.state == {"grasped": "cup"}


async def test_a_url_that_is_no_endpoint_names_both_tries(http_server: str) -> None:
    with anyio.fail_after(30), pytest.raises(SkillUnavailable) as caught:
        async with SkillClient.http(f"{http_server}/robot"):
            pass
    assert f"{http_server}/robot (HTTP 404)" in str(caught.value)
    assert f"{http_server}/robot/mcp (HTTP 404)" in str(caught.value)
