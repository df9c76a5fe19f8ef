"""The ``roboos`` command line: every command's --help, bare groups, --version, ports, status."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import cli
from deploy.follow import MasterClient
from deploy.status import MasterStatus, fetch_status, write_status, write_status_json
from memory.profiles import RobotProfile, RobotRecord, SubtaskRecord, TaskRecord

ROOT = Path(__file__).resolve().parents[2]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the parser, groups included: ``()``, ``("up",)``, ``("skill", "sim")``..."""
    yield prefix
    for name, child in _subparsers(parser).items():
        yield from _commands(child, (*prefix, name))


PARSER = cli.build_parser()
COMMANDS = sorted(set(_commands(PARSER)) | set(cli.COMPONENTS))


def _parser_of(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = PARSER
    for word in path:
        parser = _subparsers(parser)[word]
    return parser


GROUPS = sorted(path for path in COMMANDS if path and _subparsers(_parser_of(path)))


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``roboos argv`` in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def test_every_component_and_group_is_in_the_parser() -> None:
    assert set(cli.COMPONENTS) <= set(COMMANDS)
    assert {("skill",), ("brain",), ("x0",), ("bench",)} <= set(GROUPS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "roboos")
def test_every_command_answers_help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main([*path, "--help"], capsys)
    assert code == 0, err
    assert out.startswith(f"usage: {' '.join(('roboos', *path))} ") and len(out.splitlines()) > 1
    assert "Traceback" not in out + err


@pytest.mark.parametrize("path", GROUPS, ids=" ".join)
def test_a_bare_group_prints_its_help_on_stderr(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(list(path), capsys)
    assert code == 2 and not out
    assert err.startswith(f"usage: roboos {' '.join(path)} ")
    assert all(name in err for name in _subparsers(_parser_of(path)))
    assert "Traceback" not in err


def test_bare_roboos_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main([], capsys)
    assert code == 2 and err.startswith("usage: roboos") and "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--version"], capsys)
    assert code == 0 and out.strip() == f"roboos {cli.version()}"
    assert cli.version()[0].isdigit()


def test_a_component_after_global_options_gets_its_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--log-level", "INFO", "brain", "serve", "--help"], capsys)
    assert code == 0 and out.startswith("usage: roboos brain serve")


def test_unknown_arguments_are_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["status", "--no-such-flag"], capsys)
    assert code == 2 and "unrecognized arguments: --no-such-flag" in err


# Ports


def _load(argv: list[str]) -> object:
    config, _ = cli._load(PARSER.parse_args(argv))
    return config


def test_base_port_moves_master_and_skill_servers() -> None:
    config = _load(["up", "--scene", "restaurant", "--base-port", "7100"])
    assert config.master.port == 7100 and config.skills.http_port_base == 7110


def test_explicit_ports_win_over_the_base_port() -> None:
    config = _load(["up", "--scene", "restaurant", "--base-port", "7100", "--port", "7000",
                    "--skill-port-base", "7300"])
    assert config.master.port == 7000 and config.skills.http_port_base == 7300
    assert cli._chosen_port(None, 7100, "ui", cli.DEFAULT_UI_PORT) == 7101
    assert cli._chosen_port(9000, 7100, "ui", cli.DEFAULT_UI_PORT) == 9000
    assert cli._chosen_port(None, None, "ui", cli.DEFAULT_UI_PORT) == 8888
    assert cli._chosen_port(None, 7100, "brain_server") == 7102


def test_a_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["up", "--base-port", "70000"], capsys)
    assert code == 2 and "a TCP port is 0-65535" in err


def test_up_refuses_a_taken_master_port_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "deploy.cli", "up", "--port", str(port), "--no-ui"],
                                cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {port} for the master is in use" in result.stderr and "--port N" in result.stderr
    assert "RoboOS is up" not in result.stdout and "Traceback" not in result.stderr
    assert not list((tmp_path / "run").glob("*/logs/*.log"))  # nothing was started


# Status


def _robot(name: str, *, online: bool, seen_s_ago: float, now: float, subtask: str | None = None) -> dict:
    record = RobotRecord(RobotProfile(name, "wheeled_dual_arm"), status="busy" if subtask else "idle",
                         online=online, position="kitchen", holding=["cup"] if subtask else [],
                         current_subtask=subtask, last_heartbeat=now - seen_s_ago)
    return record.to_dict()


def _status(now: float) -> MasterStatus:
    task = TaskRecord("t-1", "bring the cup to table 2\x1b[2J", created_at=now - 125,
                      subtasks={"s1": SubtaskRecord("s1", "waiter", "carry the cup to table 2")})
    robots = [
        _robot("waiter", online=True, seen_s_ago=1, now=now, subtask="s1"),
        _robot("chef", online=False, seen_s_ago=30, now=now),
        _robot("ghost", online=False, seen_s_ago=3600, now=now),
    ]
    system = {"status": "success", "message": "running",
              "data": {"tasks_active": 1, "scene_version": 4, "planner": "symbolic", "uptime_s": 90}}
    return MasterStatus("http://127.0.0.1:5000", system, robots, [task.to_dict()], now)


def test_status_shows_each_robot_and_hides_long_gone_ones() -> None:
    out = io.StringIO()
    write_status(_status(time.time()), out, gone_after_s=60)
    text = out.getvalue()
    assert "1 of 3 robots online, 1 active tasks, scene version 4" in text
    waiter = next(line for line in text.splitlines() if line.strip().startswith("waiter"))
    assert "busy" in waiter and "at kitchen" in waiter and "holding cup" in waiter and "seen 1s ago" in waiter
    assert waiter.endswith("on s1: carry the cup to table 2")
    assert re.search(r"chef .* holding nothing +seen 30s ago$", text, re.MULTILINE) and "ghost" not in text
    assert "1 robot offline for more than 60 s not shown; --all shows them" in text
    task = next(line for line in text.splitlines() if line.strip().startswith("t-1"))
    assert "2m" in task and "bring the cup to table 2\\x1b[2J" in task and "\x1b" not in text


def test_status_all_shows_every_robot() -> None:
    out = io.StringIO()
    write_status(_status(time.time()), out, gone_after_s=60, show_all=True)
    assert "ghost" in out.getvalue() and "not shown" not in out.getvalue()


def test_status_json() -> None:
    out = io.StringIO()
    write_status_json(_status(time.time()), out, gone_after_s=10)
    document = json.loads(out.getvalue())
    assert [r["name"] for r in document["robots"]] == ["waiter"]
    assert document["hidden_robots"] == ["chef", "ghost"]
    assert document["robots"][0]["subtask"] == "s1: carry the cup to table 2"
    assert document["tasks"][0]["task_id"] == "t-1" and document["tasks"][0]["age_s"] >= 125


def test_fetch_status_reads_the_master_api() -> None:
    now = time.time()
    expected = _status(now)
    bodies = {"/system_status": expected.system,
              "/robots": {"status": "success", "message": "3 robots", "data": expected.robots},
              "/tasks": {"status": "success", "message": "1 task", "data": expected.tasks}}
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=bodies[request.url.path])

    client = MasterClient("http://master.test")
    client.http = httpx.Client(base_url=client.base_url, transport=httpx.MockTransport(answer))
    try:
        status = fetch_status(client, tasks=5)
    finally:
        client.close()
    assert status.robots == expected.robots and status.tasks == expected.tasks
    assert "http://master.test/tasks?limit=5" in seen
