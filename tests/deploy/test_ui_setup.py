"""The Setup page: per-field errors from the CLI's loaders, named configs that ``load_config`` and the
scene loader accept, uploads, CSRF, the LLM "test connection" probe, and one run in headless Chromium."""

from __future__ import annotations

import json
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from deploy.chromium import HEADLESS_ARGS, MISSING_HINT, chromium_path
from deploy.config import load_config
from deploy.launcher import free_port
from deploy.ui import UISettings, create_ui_app
from deploy.ui.server import parse_args, settings_from_args
from scene import SCENE_DIR, load_scene

pytestmark = pytest.mark.timeout(60)

XSS = "<img src=x onerror=alert(1)>"
RESTAURANT = (SCENE_DIR / "restaurant.yaml").read_text()
XSS_SCENE = RESTAURANT.replace("nodes:\n", f"nodes:\n  '{XSS}': {{kind: object, on: table_2}}\n", 1)
CHROMIUM = str(chromium_path())


def no_master(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"status": "error", "message": "no master here"})


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    return tmp_path / "configs"


@pytest.fixture
def client(configs: Path) -> FlaskClient:
    return create_ui_app(UISettings(configs_dir=configs), transport=httpx.MockTransport(no_master)).test_client()


def csrf_of(client: FlaskClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/setup").get_data(as_text=True))
    assert match
    return match.group(1)


def form_for(client: FlaskClient, scene: str = "restaurant", **fields: Any) -> dict[str, Any]:
    """The form as the page sends it for a bundled scene, its fleet unchanged, then ``fields``."""
    form: dict[str, Any] = {"csrf_token": csrf_of(client), "scene": scene, "action": "save", "name": "rest",
                            "planner": "symbolic", "base_url": "http://127.0.0.1:8000/v1", "model": "m"}
    for i, robot in enumerate(load_scene(scene).fleet):
        form |= {f"fleet-{i}-name": robot.name, f"fleet-{i}-embodiment": robot.embodiment,
                 f"fleet-{i}-start": robot.start, f"fleet-{i}-zones": robot.zones,
                 f"fleet-{i}-transport": robot.transport, f"fleet-{i}-port": str(robot.port or "")}
    return form | fields


def field_errors(reply: Any) -> dict[str, str]:
    html = reply.get_data(as_text=True)
    return dict(re.findall(r'<p class="field-error" id="error-([^"]+)">([^<]*)</p>', html))


def test_page_offers_the_bundled_scenes_and_the_fleet(client: FlaskClient) -> None:
    html = client.get("/setup").get_data(as_text=True)
    for name in ("restaurant", "household", "warehouse"):
        assert f'<option value="{name}"' in html
    assert 'name="fleet-0-name" value="chef"' in html and 'name="fleet-2-name" value="bartender"' in html
    assert "roboos up --config" in html


def test_save_then_load_with_the_cli_loaders_and_reopen(client: FlaskClient, configs: Path) -> None:
    reply = client.post("/setup", data=form_for(client, **{"fleet-0-transport": "http", "fleet-0-port": "18120",
                                                           "fleet-0-zones": ["kitchen"], "planner": "llm",
                                                           "base_url": "http://127.0.0.1:9/v1"}))
    assert reply.status_code == 303, field_errors(reply)
    assert stat.S_IMODE(configs.stat().st_mode) == 0o700
    assert stat.S_IMODE((configs / "rest.yaml").stat().st_mode) == 0o600
    config = load_config(configs / "rest.yaml")
    assert (config.planner, config.llm.base_url, config.llm.model) == ("llm", "http://127.0.0.1:9/v1", "m")
    chef = load_scene(config.scene).robot("chef")
    assert (chef.transport, chef.port, chef.zones) == ("http", 18120, ["kitchen"])
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert 'id="saved"' in page and 'data-config="rest"' in page
    assert 'name="fleet-0-port" min="1" max="65535" value="18120"' in page
    assert '<option value="llm" selected>' in page


@pytest.mark.parametrize(("fields", "key", "says"), [
    ({"fleet-0-start": "bar"}, "fleet-0-start", "outside the robot"),
    ({"fleet-2-port": "18101"}, "fleet-1-port", "also used by bartender"),
    ({"fleet-1-transport": "http", "fleet-1-port": "no"}, "fleet-1-port", "needs a port"),
    ({"fleet-0-embodiment": "tank"}, "fleet-0-embodiment", "unknown embodiment"),
    ({"fleet-0-transport": "pigeon"}, "fleet-0-transport", "expected one of stdio, http"),
    ({"planner": "oracle"}, "planner", "planner: must be one of"),
    ({"planner": "llm", "base_url": "ftp://x"}, "base_url", "must be an http(s) URL"),
    ({"planner": "llm", "model": ""}, "model", "llm.model"),
])
def test_each_error_is_shown_next_to_its_field(client: FlaskClient, configs: Path, fields: dict[str, str],
                                               key: str, says: str) -> None:
    reply = client.post("/setup", data=form_for(client, **fields))
    assert reply.status_code == 400
    assert says in field_errors(reply)[key]
    assert not configs.exists()


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".hidden", "a.b", "x" * 65, "/etc/passwd"])
def test_bad_names_are_refused(client: FlaskClient, configs: Path, tmp_path: Path, name: str) -> None:
    reply = client.post("/setup", data=form_for(client, name=name))
    assert reply.status_code == 400 and "config name" in field_errors(reply)["name"]
    assert not configs.exists() and sorted(tmp_path.iterdir()) == []
    assert client.get("/setup", query_string={"config": name}).status_code == 400


def test_opening_a_config_that_is_not_there_is_404(client: FlaskClient) -> None:
    assert client.get("/setup?config=nothing").status_code == 404


def test_an_uploaded_scene_is_checked_by_the_scene_loader(client: FlaskClient, configs: Path) -> None:
    for text, says in (("nodes: [", "not valid YAML"), ("nodes: {}\nrobots: []\n", "robots: unknown key")):
        form = form_for(client, action="load", scene_file=(BytesIO(text.encode()), "mine.yaml"))
        reply = client.post("/setup", data=form, content_type="multipart/form-data")
        assert reply.status_code == 400 and says in field_errors(reply)["scene"]
    assert not configs.exists()


def test_an_uploaded_scene_is_stored_next_to_its_config_and_shown_as_text(client: FlaskClient,
                                                                          configs: Path) -> None:
    form = form_for(client, action="load", scene_file=(BytesIO(XSS_SCENE.encode()), "../../evil.yaml"))
    page = client.post("/setup", data=form, content_type="multipart/form-data").get_data(as_text=True)
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    reply = client.post("/setup", data=form_for(client, name="xss") | {"scene": "custom", "scene_yaml": XSS_SCENE})
    assert reply.status_code == 303, field_errors(reply)
    assert sorted(p.name for p in configs.iterdir()) == ["xss.scene.yaml", "xss.yaml"]
    assert XSS in [n.name for n in load_scene(load_config(configs / "xss.yaml").scene).nodes]
    assert XSS not in client.get("/setup?config=xss").get_data(as_text=True)


def test_posts_need_the_csrf_token(client: FlaskClient, configs: Path) -> None:
    form = form_for(client)
    del form["csrf_token"]
    assert client.post("/setup", data=form).status_code == 403
    assert client.post("/api/setup/models", json={"base_url": "http://127.0.0.1:9/v1"}).status_code == 403
    assert not configs.exists()


@contextmanager
def tiny_openai_server() -> Iterator[str]:
    """An OpenAI-compatible endpoint that only lists its models: its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "tiny-model", "object": "model"}]}).encode()
            self.send_response(200 if self.path == "/v1/models" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_test_connection_lists_the_models_or_says_why_not(client: FlaskClient) -> None:
    headers = {"X-CSRF-Token": csrf_of(client)}
    with tiny_openai_server() as base_url:
        reply = client.post("/api/setup/models", json={"base_url": base_url + "/"}, headers=headers)
        assert reply.status_code == 200 and reply.get_json()["models"] == ["tiny-model"]
    closed = client.post("/api/setup/models", json={"base_url": f"http://127.0.0.1:{free_port()}/v1"},
                         headers=headers)
    assert closed.status_code == 502 and "cannot list the models" in closed.get_json()["message"]
    for bad in ("file:///etc/passwd", None):
        reply = client.post("/api/setup/models", json={"base_url": bad}, headers=headers)
        assert reply.status_code == 400 and reply.get_json()["status"] == "error"


def test_roboos_ui_takes_the_configs_folder(tmp_path: Path) -> None:
    assert settings_from_args(parse_args(["--configs-dir", str(tmp_path)])).configs_dir == tmp_path
    assert settings_from_args(parse_args([])).configs_dir == Path("configs")


@pytest.mark.browser
def test_setup_in_chromium(configs: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: {MISSING_HINT}")
    app = create_ui_app(UISettings(configs_dir=configs), transport=httpx.MockTransport(no_master))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scene_file = tmp_path / "xss.yaml"
    scene_file.write_text(XSS_SCENE)
    problems: list[str] = []
    try:
        with sync_api.sync_playwright() as playwright, tiny_openai_server() as base_url:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=HEADLESS_ARGS)
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.set_default_timeout(10_000)
            page.goto(f"http://127.0.0.1:{server.port}/setup")
            page.set_input_files("#scene_file", str(scene_file))  # loads the scene at once
            sync_api.expect(page.locator("#scene-summary")).to_contain_text(XSS)
            assert page.locator("img").count() == 0
            page.select_option("#planner", "llm")
            page.fill("#base_url", base_url)
            page.click("#test-connection")
            sync_api.expect(page.locator("#connection-result")).to_have_text("connected: tiny-model")
            page.fill("#model", "tiny-model")
            page.select_option("#fleet-0-zones", ["kitchen", "pass", "dining_room"])
            page.fill("#name", "from-chromium")
            page.click("#save")
            sync_api.expect(page.locator("#saved")).to_contain_text("roboos up --config")
            sync_api.expect(page.locator('#configs tr[data-config="from-chromium"]')).to_be_visible()
            page.screenshot(path=str(tmp_path / "setup.png"), full_page=True)
            browser.close()
    finally:
        server.shutdown()
    assert problems == []
    config = load_config(configs / "from-chromium.yaml")
    assert config.llm.model == "tiny-model"
    assert load_scene(config.scene).robot("chef").zones == ["kitchen", "pass", "dining_room"]
