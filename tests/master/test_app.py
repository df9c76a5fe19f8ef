"""The HTTP API on a real master and Redis: shapes, validation, errors, auth, SSE, OpenAPI."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from brain.errors import PlanningError
from memory import SharedMemory
from memory.messages import TaskState
from tests.master.fakes import SCENE, FixedPlanner, plan_of, setup_world, step

pytestmark = pytest.mark.anyio

PLAN = plan_of(step("s1", "r1"), step("s2", "r2"), step("s3", "r2", order=2, depends_on=["s1", "s2"]))


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "error" and body["message"]
    return body["message"]


async def test_publish_answers_the_robobrain_shape_with_the_task_id(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(PLAN))
    body = client.post("/publish_task", json={"task": "serve the apple", "refresh": True}).get_json()
    assert body["status"] == "success" and body["task_id"]
    assert body["data"]["reasoning_explanation"] == "because"
    listed = body["data"]["subtask_list"]
    assert [(s["robot_name"], s["subtask"], s["subtask_order"]) for s in listed] == [
        ("r1", "s1 on r1", 1), ("r2", "s2 on r2", 1), ("r2", "s3 on r2", 2)]
    assert listed[2]["depends_on"] == ["s1", "s2"] and listed[0]["state"] == "dispatched"
    task = client.get(f"/tasks/{body['task_id']}").get_json()["data"]
    assert task["state"] == "running" and task["text"] == "serve the apple" and task["plan_info"]["refresh"] is True
    assert {s["subtask_id"]: s["state"] for s in task["subtasks"]} == {"s1": "dispatched", "s2": "dispatched", "s3": "waiting"}
    assert [t["task_id"] for t in client.get("/tasks?limit=5").get_json()["data"]] == [body["task_id"]]


async def test_a_list_of_tasks_gives_one_task_each_and_ids_can_be_chosen(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(plan_of(step("s1", "r1"))))
    body = client.post("/publish_task", json={"task": ["first", "second"]}).get_json()
    assert len(body["task_ids"]) == 2 and [d["task_id"] for d in body["data"]] == body["task_ids"]
    chosen = client.post("/publish_task", json={"task": "third", "task_id": "job-7"}).get_json()
    assert chosen["task_id"] == "job-7"
    assert "already taken" in error_of(client.post("/publish_task", json={"task": "again", "task_id": "job-7"}), 409)


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (plan_of(step("s1", "ghost")), "unknown robot 'ghost'"),
        (plan_of(step("s1", "r2", actions=[{"name": "pick", "arguments": {"object": "apple"}}])), "pick"),
        (plan_of(step("s1", "r1", depends_on=["s2"]), step("s2", "r1", depends_on=["s1"])), "cycl"),
    ],
    ids=["unknown-robot", "missing-skill", "cycle"],
)
async def test_an_invalid_plan_is_never_dispatched(shared_memory: SharedMemory, masters, plan, expected) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(plan))
    response = client.post("/publish_task", json={"task": "do it"})
    message = error_of(response, 422)
    assert expected in message and response.get_json()["errors"]
    record = await shared_memory.tasks.get(response.get_json()["task_id"])
    assert record.state == TaskState.FAILED and expected in record.reason
    for robot in ("r1", "r2"):
        assert await shared_memory.redis.exists(shared_memory.keys.subtasks(robot)) == 0
    assert await shared_memory.tasks.active_ids() == []


async def test_an_offline_robot_and_a_planning_error_are_refused(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    await shared_memory.robots.mark_offline("r2")
    _, client = masters.start(FixedPlanner(plan_of(step("s1", "r2")), PlanningError("no robot can reach the moon")))
    assert "offline" in error_of(client.post("/publish_task", json={"task": "a"}), 422)
    refused = error_of(client.post("/publish_task", json={"task": "b"}), 422)
    assert "no robot can reach the moon; not online (yet): r2" in refused


async def test_a_task_published_before_any_slaver_registered_says_so(shared_memory: SharedMemory, masters) -> None:
    await shared_memory.scene.load(SCENE)
    _, client = masters.start(FixedPlanner(PlanningError("no robot can carry apple")))
    refused = error_of(client.post("/publish_task", json={"task": "bring the apple"}), 422)
    assert refused.endswith("no robot can carry apple; no robot has registered yet (are the slavers started?)")


BAD_PUBLISH = [
    (b"{not json", "not valid JSON"),
    (b"", "JSON object"),
    (b"[1, 2]", "got array"),
    (json.dumps({"task": ""}).encode(), "must not be empty"),
    (json.dumps({"task": []}).encode(), "1 to 20"),
    (json.dumps({"task": ["ok", 3]}).encode(), "'task'[1] must be a string, got number"),
    (json.dumps({"task": 5}).encode(), "got number"),
    (json.dumps({}).encode(), "'task' is required"),
    (json.dumps({"task": "x", "colour": 1, "zz": 2}).encode(), "unknown keys: colour, zz"),
    (json.dumps({"task": "x", "refresh": "yes"}).encode(), "'refresh' must be a boolean, got string"),
    (json.dumps({"task": "x", "task_id": 12}).encode(), "'task_id' must be a string"),
    (json.dumps({"task": "x", "task_id": None}).encode(), "'task_id' must be a string"),
    (json.dumps({"task": "x", "task_id": "a b/c"}).encode(), "'task_id' must be a string"),
    (json.dumps({"task": ["a", "b"], "task_id": "t1"}).encode(), "leave it out"),
]


async def test_bad_input_gets_a_4xx_json_answer_never_a_500(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(PLAN), max_body_bytes=2048)
    for raw, expected in BAD_PUBLISH:
        response = client.post("/publish_task", data=raw, content_type="application/json")
        assert expected in error_of(response, 400), raw
    assert "larger than the limit of 2048 bytes" in error_of(
        client.post("/publish_task", json={"task": "x" * 4000}), 413)
    assert "unknown task 'nope'" in error_of(client.get("/tasks/nope"), 404)
    assert "unknown task 'nope'" in error_of(client.post("/tasks/nope/cancel"), 404)
    assert "unknown keys: why" in error_of(client.post("/tasks/nope/cancel", json={"why": 1}), 400)
    assert "'limit'" in error_of(client.get("/tasks?limit=0"), 400)
    assert "'limit'" in error_of(client.get("/tasks?limit=abc"), 400)
    assert "'since'" in error_of(client.get("/events?since=yesterday"), 400)
    assert "no such endpoint" in error_of(client.get("/nowhere"), 404)
    response = client.put("/publish_task", json={"task": "x"})
    assert "not allowed" in error_of(response, 405) and "POST" in response.headers["Allow"]
    assert "not allowed" in error_of(client.delete("/tasks/x"), 405)


async def test_cancel_of_a_finished_task_is_a_conflict(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(plan_of(step("s1", "ghost"))))
    task_id = client.post("/publish_task", json={"task": "x"}).get_json()["task_id"]
    assert "already failed" in error_of(client.post(f"/tasks/{task_id}/cancel", json={"reason": "stop"}), 409)


async def test_a_configured_token_guards_every_post(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(PLAN), auth_token="s3cret")
    response = client.post("/publish_task", json={"task": "x"})
    assert "Bearer" in error_of(response, 401) and response.headers["WWW-Authenticate"] == "Bearer"
    assert error_of(client.post("/tasks/x/cancel", headers={"Authorization": "Bearer wrong"}), 401)
    ok = client.post("/publish_task", json={"task": "x"}, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert client.get("/robot_status").status_code == 200  # reads stay open
    assert "not allowed" in error_of(client.put("/tasks"), 405)  # no route: the same answer with or without it
    assert "no such endpoint" in error_of(client.delete("/nowhere"), 404)


async def test_fleet_scene_health_and_status_views(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    await shared_memory.robots.mark_offline("r2")
    _, client = masters.start(FixedPlanner(PLAN))
    status = {r["robot_name"]: r for r in client.get("/robot_status").get_json()}
    assert status["r1"]["online"] and status["r1"]["position"] == "kitchen" and status["r1"]["holding"] == []
    assert status["r2"]["robot_state"] == "offline"
    robots = client.get("/robots").get_json()["data"]
    assert [s["name"] for s in robots[0]["profile"]["skills"]] == ["move", "pick"]
    scene = client.get("/scene").get_json()["data"]
    assert {"kitchen", "apple", "r1"} <= {n["name"] for n in scene["nodes"]}
    health = client.get("/health")
    assert health.status_code == 200 and health.get_json() == {
        "status": "ok", "message": "ok", "redis": "up", "planner": "fixed"}
    system = client.get("/system_status").get_json()["data"]
    assert (system["robots_online"], system["robots_total"], system["tasks_active"]) == (1, 2, 0)
    assert system["scene_version"] == scene["version"] and system["uptime_s"] >= 0


async def test_a_degraded_robot_reads_as_offline_in_the_roboos_status(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    await shared_memory.robots.set_degraded("r1", "its skill server is unreachable")
    _, client = masters.start(FixedPlanner(PLAN))
    status = {r["robot_name"]: r for r in client.get("/robot_status").get_json()}
    assert (status["r1"]["robot_state"], status["r1"]["online"]) == ("offline", True)
    assert status["r1"]["degraded"] == "its skill server is unreachable"
    assert (status["r2"]["robot_state"], status["r2"]["degraded"]) == ("idle", "")


async def test_health_is_503_when_the_service_is_down(shared_memory: SharedMemory, masters) -> None:
    service, client = masters.start(FixedPlanner(PLAN))
    service.stop()
    assert "not running" in error_of(client.get("/health"), 503)
    assert "not running" in error_of(client.get("/tasks"), 503)


async def test_events_stream_as_server_sent_events(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(PLAN))
    task_id = client.post("/publish_task", json={"task": "x"}).get_json()["task_id"]
    response = client.get(f"/events?since=0&task_id={task_id}", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    chunks = response.response
    text = ""
    for _ in range(20):  # bounded: each chunk comes within one blocking read (1 s)
        text += next(chunks).decode()
        if text.count("event: subtask_state") >= 2:
            break
    response.close()
    frames = [f for f in text.split("\n\n") if f.startswith("id: ")]
    kinds = [re.search(r"^event: (\w+)$", f, re.M).group(1) for f in frames]
    assert kinds[:3] == ["task_created", "task_state", "subtask_state"]
    data = json.loads(frames[0].split("data: ", 1)[1])
    assert data["task_id"] == task_id and data["kind"] == "task_created"


async def test_last_event_id_wins_over_since_and_an_empty_since_is_refused(shared_memory: SharedMemory,
                                                                           masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(PLAN))
    first = client.post("/publish_task", json={"task": "x"}).get_json()["task_id"]
    second = client.post("/publish_task", json={"task": "y"}).get_json()["task_id"]
    last_of_first = [e.id for e in await shared_memory.events.after("0", block_ms=0) if e.task_id == first][-1]
    # a reconnecting EventSource keeps its URL (since=0) and sends the last id it saw
    response = client.get("/events?since=0", headers={"Last-Event-ID": last_of_first}, buffered=False)
    chunks, text = response.response, ""
    for _ in range(20):  # bounded: each chunk comes within one blocking read (1 s)
        text += next(chunks).decode()
        if "event: task_created" in text:
            break
    response.close()
    assert f'"task_id":"{second}"' in text and f'"task_id":"{first}"' not in text
    assert "'since'" in error_of(client.get("/events?since="), 400)


def test_openapi_lists_exactly_the_routes(redis_url: str, key_prefix: str, masters) -> None:
    _, client = masters.start(FixedPlanner(PLAN))
    document = yaml.safe_load(client.get("/openapi.yaml").get_data(as_text=True))
    assert document["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    app = client.application
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
