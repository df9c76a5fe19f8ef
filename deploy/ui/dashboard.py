"""The dashboard page and the JSON it updates itself from: fleet, tasks, publish, cancel."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from deploy.ui.app import ui
from deploy.ui.master_proxy import MasterUnavailable
from deploy.ui.views import robot_view, task_view

__all__ = ["bp", "state"]

bp = Blueprint("dashboard", __name__)

TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", re.ASCII)  # the master's task id pattern
MAX_TASK_CHARS = 2000
TASKS_SHOWN = 50


def state() -> dict[str, Any]:
    """The fleet and the latest tasks as the dashboard shows them."""
    proxy, token = ui().proxy, g.session.token
    robots = [robot_view(r) for r in proxy.data("/robots", token) or []]
    tasks = [task_view(t) for t in proxy.data("/tasks", token, limit=TASKS_SHOWN) or []]
    return {"robots": sorted(robots, key=lambda r: r["name"]), "tasks": tasks}


@bp.get("/")
def index() -> ResponseReturnValue:
    try:
        current, error = state(), ""
    except MasterUnavailable as e:
        current, error = {"robots": [], "tasks": []}, str(e)
    return render_template("dashboard.html", state=current, error=error, csrf=g.session.csrf,
                           master_url=ui().settings.master_url, logged_in=g.session.token is not None)


@bp.get("/api/state")
def api_state() -> ResponseReturnValue:
    return jsonify(state())


@bp.get("/api/scene")
def api_scene() -> ResponseReturnValue:
    """The master's scene graph as ``GET /scene`` gives it (``{version, nodes}``), for the pictures."""
    return jsonify(ui().proxy.data("/scene", g.session.token))


@bp.get("/api/tasks/<task_id>")
def api_task(task_id: str) -> ResponseReturnValue:
    """One task record as the master gives it, for the timeline."""
    if not TASK_ID.fullmatch(task_id):
        return jsonify(status="error", message=f"not a task id: {task_id!r}"), 400
    status, reply = ui().proxy.request("GET", f"/tasks/{task_id}", g.session.token)
    if status != 200:
        return jsonify(_envelope(reply)), status
    return jsonify(reply.get("data"))


@bp.post("/api/publish")
def publish() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    text = body.get("task") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TASK_CHARS:
        return jsonify(status="error", message=f"'task' must be a non-empty string of at most "
                                               f"{MAX_TASK_CHARS} characters"), 400
    settings = ui().settings
    status, reply = ui().proxy.request("POST", "/publish_task", g.session.token, json={"task": text.strip()},
                                       timeout=settings.publish_timeout_s)
    return jsonify(_envelope(reply)), status


@bp.post("/api/tasks/<task_id>/cancel")
def cancel(task_id: str) -> ResponseReturnValue:
    if not TASK_ID.fullmatch(task_id):
        return jsonify(status="error", message=f"not a task id: {task_id!r}"), 400
    status, reply = ui().proxy.request("POST", f"/tasks/{task_id}/cancel", g.session.token,
                                       json={"reason": "cancelled from the web UI"})
    return jsonify(_envelope(reply)), status


def _envelope(reply: dict[str, Any]) -> dict[str, Any]:
    """The master's answer, cut to what the page uses."""
    keep = ("status", "message", "task_id", "errors")
    return {key: reply[key] for key in keep if key in reply}
