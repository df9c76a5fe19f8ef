"""The Launch page: components and log tails read from a stack's run folder (never a path from the
browser), a real stack's ``components.json`` through start, crash and restart, and the page in Chromium."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from flask.testing import FlaskClient

from deploy.config import load_config
from deploy.launcher import free_port
from deploy.stack import COMPONENTS_FILE, Stack
from deploy.ui import UISettings, create_ui_app
from deploy.ui.server import parse_args, settings_from_args
from scene import load_scene
from tests.deploy.browser import chromium_page

pytestmark = pytest.mark.timeout(60)

XSS = "<img src=x onerror=alert(1)>"


def no_master(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"status": "error", "message": "no master here"})


def ui_client(**settings: object) -> FlaskClient:
    return create_ui_app(UISettings(**settings), transport=httpx.MockTransport(no_master)).test_client()  # type: ignore[arg-type]


def write_run_dir(folder: Path, components: list[dict[str, object]]) -> Path:
    (folder / "logs").mkdir(parents=True)
    (folder / COMPONENTS_FILE).write_text(json.dumps(components))
    return folder


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = write_run_dir(tmp_path / "run", [
        {"name": "master", "pid": 41, "state": "ready", "restarts": 0, "exit_code": None, "log": "master.log"},
        {"name": "slaver-waiter", "pid": 42, "state": "restarting", "restarts": 2, "exit_code": -9,
         "log": "slaver-waiter.log"},
        {"name": "evil", "pid": 43, "state": "ready", "restarts": 0, "exit_code": None, "log": "../../secret.log"},
    ])
    (folder / "logs" / "master.log").write_text("".join(f"line {i}\n" for i in range(30)))
    (tmp_path / "secret.log").write_text("secret\n")
    return folder


def test_components_are_read_from_the_stacks_run_folder(run_dir: Path) -> None:
    body = ui_client(stack_run_dir=run_dir).get("/api/launch/components").get_json()
    assert body["stack"] is True
    assert [(c["name"], c["state"], c["pid"], c["restarts"], c["exit_code"]) for c in body["components"]] == [
        ("master", "ready", 41, 0, None), ("slaver-waiter", "restarting", 42, 2, -9), ("evil", "ready", 43, 0, None)]


def test_log_tail_is_the_last_20_lines_of_a_listed_component(run_dir: Path) -> None:
    client = ui_client(stack_run_dir=run_dir)
    assert client.get("/api/launch/log/master").get_json()["lines"] == [f"line {i}" for i in range(10, 30)]
    assert client.get("/api/launch/log/slaver-waiter").get_json()["lines"] == []  # no log file yet


def test_a_component_not_in_the_file_or_a_log_outside_the_log_folder_is_refused(run_dir: Path) -> None:
    client = ui_client(stack_run_dir=run_dir)
    reply = client.get("/api/launch/log/redis")
    assert reply.status_code == 404 and "master, slaver-waiter, evil" in reply.get_json()["message"]
    assert client.get("/api/launch/log/..%2F..%2Fsecret").status_code == 404
    reply = client.get("/api/launch/log/evil")
    assert reply.status_code == 502 and "secret\n" not in reply.get_data(as_text=True)


def test_a_broken_components_file_is_an_error_and_a_missing_one_is_empty(tmp_path: Path) -> None:
    client = ui_client(stack_run_dir=tmp_path)
    assert client.get("/api/launch/components").get_json()["components"] == []
    (tmp_path / COMPONENTS_FILE).write_text("{not json")
    reply = client.get("/api/launch/components")
    assert reply.status_code == 502 and reply.get_json()["status"] == "error"


def test_page_with_a_stack_loads_the_script(run_dir: Path) -> None:
    html = ui_client(stack_run_dir=run_dir).get("/launch").get_data(as_text=True)
    assert 'id="components"' in html and "launch.js" in html
    assert 'href="/launch"' in html  # the header's link


def test_page_without_a_stack_says_how_to_start_one_with_the_saved_configs(tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "diner.yaml").write_text("planner: symbolic\n")
    client = ui_client(configs_dir=configs)
    html = client.get("/launch").get_data(as_text=True)
    assert "not started by a stack" in html and "launch.js" not in html
    assert f"roboos up --config {configs}/diner.yaml" in html
    assert client.get("/api/launch/components").get_json() == {"status": "success", "stack": False, "components": []}
    assert client.get("/api/launch/log/master").status_code == 404


def test_the_stack_run_dir_flag_reaches_the_settings(tmp_path: Path) -> None:
    assert settings_from_args(parse_args(["--stack-run-dir", str(tmp_path)])).stack_run_dir == tmp_path
    assert settings_from_args(parse_args([])).stack_run_dir is None


def csrf_of(client: FlaskClient) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/launch").get_data(as_text=True))
    assert match
    return match.group(1)


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "diner.yaml").write_text("scene: restaurant\nskills:\n  speed: 0\n")
    return folder


def test_start_and_stop_need_the_csrf_token(configs: Path) -> None:
    client = ui_client(configs_dir=configs)
    for path in ("/launch/start", "/launch/stop"):
        reply = client.post(path, data={"name": "diner"})
        assert reply.status_code == 403 and "CSRF" in reply.get_data(as_text=True)
    assert not (configs.parent / "run").exists()  # nothing was started


@pytest.mark.parametrize(("name", "status"), [("../diner", 400), ("diner.yaml", 400), ("", 400), (XSS, 400),
                                              ("missing", 404)])
def test_start_refuses_bad_or_unknown_config_names(configs: Path, name: str, status: int) -> None:
    client = ui_client(configs_dir=configs)
    reply = client.post("/launch/start", data={"name": name, "csrf_token": csrf_of(client)})
    assert reply.status_code == status
    assert XSS not in reply.get_data(as_text=True)
    assert not (configs.parent / "run").exists()


def test_a_ui_started_by_a_stack_neither_starts_nor_stops_one(run_dir: Path, configs: Path) -> None:
    client = ui_client(configs_dir=configs, stack_run_dir=run_dir)
    token = csrf_of(client)
    for path in ("/launch/start", "/launch/stop"):
        assert client.post(path, data={"name": "diner", "csrf_token": token}).status_code == 409


@pytest.mark.slow
def test_start_runs_one_stack_in_its_own_run_folder_and_stop_ends_it(configs: Path) -> None:
    master_url = f"http://127.0.0.1:{free_port()}"  # the started stack's master comes up here: the dashboard's
    client = ui_client(configs_dir=configs, master_url=master_url)
    token = csrf_of(client)
    assert client.post("/launch/start", data={"name": "diner", "csrf_token": token}).status_code == 303
    runner = client.application.extensions["roboos_launch"]
    try:
        assert client.post("/launch/start", data={"name": "diner", "csrf_token": token}).status_code == 409
        states = lambda: {c["name"]: c["state"] for c in client.get("/api/launch/components").get_json()["components"]}
        wait_until(lambda: len(states()) == 6 and set(states().values()) == {"ready"}, 40, "all ready")
        assert runner.run_dir().is_relative_to(configs.parent / "run" / "ui-launch")
        assert client.get("/api/launch/log/master").get_json()["lines"]
        assert httpx.get(f"{master_url}/health", timeout=5).status_code == 200
        assert "Stop" in client.get("/launch").get_data(as_text=True)
        pids = [c["pid"] for c in client.get("/api/launch/components").get_json()["components"]]
    finally:
        assert client.post("/launch/stop", data={"csrf_token": token}).status_code == 303
    assert not runner.running and runner.exit_code == 130
    assert set(states().values()) == {"exited"}
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 5, "every component gone")


# A whole stack (restaurant scene, instant skills), with its UI started by the stack.


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("launch-stack")
    config = load_config(None, {"skills.speed": 0, "master.port": 0, "run_dir": str(folder), "log_level": "INFO"})
    with Stack(config, load_scene("restaurant"), run_dir=folder, ui_port=0) as running:
        yield running


def components_of(stack: Stack) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in json.loads(stack.components_path.read_text())}


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout_s} s")
        time.sleep(0.05)


@pytest.mark.slow
def test_stack_writes_its_components_and_a_restart(stack: Stack) -> None:
    components = components_of(stack)
    assert set(components) == {"skill-waiter", "skill-bartender", "master", "slaver-chef", "slaver-waiter",
                               "slaver-bartender", "ui"}
    assert {c["state"] for c in components.values()} == {"ready"}
    assert components["master"]["log"] == "master.log"
    processes = {p.name: p for p in stack.launcher.processes}
    assert components["master"]["pid"] == processes["master"].popen.pid
    waiter = processes["slaver-waiter"]
    old_pid = waiter.popen.pid
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: not waiter.running, 5, "the waiter's slaver gone")
    stack.supervise()
    after = components_of(stack)["slaver-waiter"]
    assert (after["state"], after["restarts"], after["exit_code"]) == ("restarting", 1, -signal.SIGKILL)
    wait_until(lambda: bool(stack.supervise() or True) and components_of(stack)["slaver-waiter"]["state"] == "running",
               5, "the waiter's slaver restarted")
    assert components_of(stack)["slaver-waiter"]["pid"] != old_pid
    assert "restarted by the launcher (restart 1)" in (stack.run_dir / "logs" / "slaver-waiter.log").read_text()


@pytest.mark.slow
@pytest.mark.browser
def test_launch_page_shows_the_components_and_their_logs_in_chromium(stack: Stack, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
    with chromium_page(15_000) as (page, problems):
        page.goto(stack.ui_url + "/launch")
        master = page.locator('#components tr[data-component="master"]')
        sync_api.expect(master).to_contain_text("ready")
        sync_api.expect(page.locator("#components tbody tr")).to_have_count(7)
        log = page.locator('#logs .log[data-component="slaver-chef"] pre')
        sync_api.expect(log).to_contain_text("slaver chef ready")
        page.screenshot(path=str(tmp_path / "launch.png"), full_page=True)
    assert problems == []
