"""The web UI's server side through Flask's test client, against a fake master (httpx's MockTransport).

Login, CSRF refusal, escaping, the loopback rule; the browser tests are in test_ui_browser.py.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from flask.testing import FlaskClient

from deploy.ui import UIError, UISettings, create_ui_app
from deploy.ui.server import main as ui_main

XSS = "<img src=x onerror=alert(1)>"
TOKEN = "s3cret-token"


class FakeMaster:
    """Answers the few master calls the UI makes; needs ``token`` on POSTs when it has one."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.posts: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
                return httpx.Response(401, json={"status": "error", "message": "needs the token"})
            if request.url.path == "/publish_task" and request.content == b"{}":  # the UI's token check
                return httpx.Response(400, json={"status": "error", "message": "'task' is required"})
            self.posts.append((request.url.path, request.content))
            return httpx.Response(200, json={"status": "success", "message": "done", "task_id": "t1"})
        if request.url.path == "/robots":
            robot = {"profile": {"name": XSS, "embodiment": "arm"}, "online": True, "status": "idle",
                     "position": "kitchen", "holding": [XSS], "current_subtask": None}
            return httpx.Response(200, json={"status": "success", "data": [robot]})
        if request.url.path == "/tasks":
            task = {"task_id": "t1", "text": "<script>alert(1)</script>", "state": "running",
                    "subtasks": [{"subtask_id": "s1", "robot": "r", "text": XSS, "state": "running"}]}
            return httpx.Response(200, json={"status": "success", "data": [task]})
        return httpx.Response(404, json={"status": "error", "message": "no such endpoint"})


def client_for(master: FakeMaster, **settings: Any) -> FlaskClient:
    app = create_ui_app(UISettings(**settings), transport=httpx.MockTransport(master))
    return app.test_client()


def csrf_of(client: FlaskClient, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf[-_]token" (?:content|value)="([^"]+)"', page)
    assert match, page
    return match.group(1)


def test_dashboard_escapes_what_the_master_says() -> None:
    client = client_for(FakeMaster())
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert XSS not in html and "<script>alert" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_state_changes_need_the_session_csrf_token() -> None:
    master = FakeMaster()
    client = client_for(master)
    assert client.post("/api/publish", json={"task": "bring the cup"}).status_code == 403
    assert client.post("/api/publish", json={"task": "x"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post("/api/tasks/t1/cancel", json={}).status_code == 403
    assert master.posts == []
    reply = client.post("/api/publish", json={"task": "bring the cup"}, headers={"X-CSRF-Token": csrf_of(client)})
    assert reply.status_code == 200, reply.get_json()
    assert master.posts == [("/publish_task", b'{"task":"bring the cup"}')]


def test_a_master_with_a_token_needs_a_login_kept_server_side() -> None:
    client = client_for(FakeMaster(token=TOKEN))
    assert client.get("/").headers["Location"] == "/login"
    assert client.get("/api/state").status_code == 401
    csrf = csrf_of(client, "/login")
    refused = client.post("/login", data={"token": "wrong", "csrf_token": csrf})
    assert refused.status_code == 401
    assert client.post("/login", data={"token": TOKEN}).status_code == 403  # no CSRF token
    accepted = client.post("/login", data={"token": TOKEN, "csrf_token": csrf})
    assert accepted.status_code == 303
    assert TOKEN not in accepted.headers["Set-Cookie"]
    assert client.get("/api/state").status_code == 200
    publish = client.post("/api/publish", json={"task": "go"}, headers={"X-CSRF-Token": csrf_of(client)})
    assert publish.status_code == 200  # the master got the token from the server-side session


def test_a_ui_with_the_token_checks_logins_itself() -> None:
    client = client_for(FakeMaster(token=TOKEN), token=TOKEN)
    csrf = csrf_of(client, "/login")
    assert client.post("/login", data={"token": TOKEN + "x", "csrf_token": csrf}).status_code == 401
    assert client.post("/login", data={"token": TOKEN, "csrf_token": csrf}).status_code == 303


def test_cancel_refuses_what_is_not_a_task_id() -> None:
    client = client_for(FakeMaster())
    reply = client.post("/api/tasks/..%2Fscene/cancel", json={}, headers={"X-CSRF-Token": csrf_of(client)})
    assert reply.status_code in (400, 404)


def test_other_host_names_are_refused_on_loopback() -> None:  # DNS rebinding
    client = client_for(FakeMaster())
    assert client.get("/", headers={"Host": "evil.example:8888"}).status_code == 403


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_binding_beyond_loopback_needs_a_token(host: str, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UIError, match="needs a token"):
        UISettings(host=host)
    UISettings(host=host, token=TOKEN)
    monkeypatch.delenv("ROBOOS_AUTH_TOKEN", raising=False)
    assert ui_main(["--host", host, "--port", "0"]) == 2
    assert "ROBOOS_AUTH_TOKEN" in capsys.readouterr().err
