"""Tasks: publish (RoboOS-compatible), list, show, cancel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from master.api import APIError, json_object, json_type, query_int, reject_unknown_keys, service, success
from master.dag import subtask_list
from master.errors import InvalidPlan, PlanTimeout
from memory.profiles import TaskRecord

__all__ = ["bp", "PublishRequest", "parse_publish"]

bp = Blueprint("tasks", __name__)

TASK_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"  # also in openapi.yaml
TASK_ID = re.compile(TASK_ID_PATTERN, re.ASCII)
MAX_TASKS_PER_REQUEST = 20
MAX_LIST_LIMIT = 500
PUBLISH_USAGE = {  # what GET /publish_task answers
    "method": "POST",
    "content_type": "application/json",
    "body": {
        "task": f"an instruction, or a list of 1 to {MAX_TASKS_PER_REQUEST}",
        "task_id": f"optional, one task's id matching {TASK_ID_PATTERN}",
        "refresh": "optional boolean, kept for RoboOS compatibility",
    },
}


@dataclass
class PublishRequest:
    tasks: list[str]
    as_list: bool  # the client sent a list: answer with one entry per task
    refresh: bool = False
    task_id: str | None = None


def parse_publish(data: dict[str, Any]) -> PublishRequest:
    """Check a ``/publish_task`` body; 400 naming the field otherwise."""
    reject_unknown_keys(data, {"task", "refresh", "task_id"})
    if "task" not in data:
        raise APIError(400, "'task' is required: an instruction string or a list of them")
    task, as_list = data["task"], isinstance(data["task"], list)
    tasks = task if as_list else [task]
    if not as_list and not isinstance(task, str):
        raise APIError(400, f"'task' must be a string or a list of strings, got {json_type(task)}")
    if not tasks or len(tasks) > MAX_TASKS_PER_REQUEST:
        raise APIError(400, f"'task' must hold 1 to {MAX_TASKS_PER_REQUEST} instructions, got {len(tasks)}")
    for i, text in enumerate(tasks):
        where = f"'task'[{i}]" if as_list else "'task'"
        if not isinstance(text, str):
            raise APIError(400, f"{where} must be a string, got {json_type(text)}")
        if not text.strip():
            raise APIError(400, f"{where} must not be empty")
    refresh = data.get("refresh", False)
    if not isinstance(refresh, bool):
        raise APIError(400, f"'refresh' must be a boolean, got {json_type(refresh)}")
    task_id = data.get("task_id")
    if "task_id" in data:  # null too: the document says a string, and ``refresh: null`` is refused the same way
        if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
            raise APIError(400, f"'task_id' must be a string matching {TASK_ID_PATTERN} (1-64 ASCII letters, "
                                f"digits or ._:- , starting with a letter or digit), got {task_id!r}")
        if len(tasks) > 1:
            raise APIError(400, "'task_id' names one task; leave it out when 'task' lists several")
    return PublishRequest([t.strip() for t in tasks], as_list, refresh, task_id)


def plan_data(record: TaskRecord) -> dict[str, Any]:
    """The RoboOS ``data`` object: reasoning and subtask list (with ids and dependencies)."""
    return {"reasoning_explanation": record.reasoning, "subtask_list": subtask_list(record)}


@bp.get("/publish_task")
def publish_usage() -> ResponseReturnValue:
    """200 and how to publish: RoboOS's clients test the connection with this GET."""
    return success("POST a JSON body to publish a task", usage=PUBLISH_USAGE)


@bp.post("/publish_task")
def publish_task() -> ResponseReturnValue:
    req = parse_publish(json_object())
    svc = service()
    timeout = svc.config.plan_timeout_s + svc.config.bridge_timeout_s
    records: list[TaskRecord] = []
    for text in req.tasks:
        try:
            records.append(svc.call(svc.scheduler.publish(text, req.task_id, req.refresh), timeout))
        except (InvalidPlan, PlanTimeout) as e:
            if not req.as_list:
                raise
            status = 504 if isinstance(e, PlanTimeout) else 422
            published = [r.task_id for r in records]
            raise APIError(status, f"task {len(records)}: {e}", task_id=e.task_id, task_ids=published,
                           errors=getattr(e, "errors", [])) from e
    if not req.as_list:
        record = records[0]
        message = f"task {record.task_id} published with {len(record.subtasks)} subtasks"
        return success(message, task_id=record.task_id, data=plan_data(record))
    data = [{"task_id": r.task_id, **plan_data(r)} for r in records]
    return success(f"{len(records)} tasks published", task_ids=[r.task_id for r in records], data=data)


@bp.get("/tasks")
def list_tasks() -> ResponseReturnValue:
    limit = query_int("limit", default=50, low=1, high=MAX_LIST_LIMIT)
    svc = service()
    records = svc.call(svc.memory.tasks.list(limit=limit))
    return success(f"{len(records)} tasks", data=[r.to_dict() for r in records])


@bp.get("/tasks/<task_id>")
def get_task(task_id: str) -> ResponseReturnValue:
    svc = service()
    record = svc.call(svc.memory.tasks.get(task_id))
    if record is None:
        raise APIError(404, f"unknown task {task_id!r}")
    return success(f"task {task_id} is {record.state}", data=record.to_dict())


@bp.post("/tasks/<task_id>/cancel")
def cancel_task(task_id: str) -> ResponseReturnValue:
    body = json_object(optional=True)
    reject_unknown_keys(body, {"reason"})
    reason = body.get("reason", "cancelled by request")
    if not isinstance(reason, str) or not reason.strip():
        raise APIError(400, f"'reason' must be a non-empty string, got {json_type(reason)}")
    svc = service()
    record = svc.call(svc.scheduler.cancel(task_id, reason.strip()))
    return success(f"task {task_id} cancelled", data=record.to_dict())
