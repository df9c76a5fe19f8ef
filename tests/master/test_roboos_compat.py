"""RoboOS's own web clients against our master: its wire shapes, CORS, and its release page's calls.

RoboOS's release page (deploy/templates/release.html in FlagOpen/RoboOS) lives on another origin
and calls the master with ``fetch``: ``GET /publish_task`` as its connection test, ``POST
/publish_task`` with ``{task, task_id}`` (a UUID), ``GET /robot_status`` read as a bare list of
``{robot_name, robot_state}`` and ``GET /system_status`` read for ``cpu_load`` and ``memory_usage``.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from memory import SharedMemory
from tests.master.fakes import FixedPlanner, plan_of, setup_world, step

pytestmark = pytest.mark.anyio

PLAN = plan_of(step("s1", "r1"), step("s2", "r2", order=2, depends_on=["s1"]))
UI = "http://127.0.0.1:8888"
STRANGER = "http://evil.example"
ROBOOS_STATES = {"idle", "busy", "offline"}


def cors_headers(response) -> list[str]:
    return [name for name, _ in response.headers if name.lower().startswith("access-control-")]


def preflight(origin: str, method: str = "POST", headers: str = "content-type") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


async def test_get_publish_task_answers_200_and_says_how_to_publish(shared_memory: SharedMemory, masters) -> None:
    _, client = masters.start(FixedPlanner(PLAN))
    response = client.get("/publish_task")
    assert response.status_code == 200
    usage = response.get_json()["usage"]
    assert (usage["method"], usage["content_type"]) == ("POST", "application/json")
    assert set(usage["body"]) == {"task", "task_id", "refresh"}


async def test_robot_status_is_roboos_bare_list(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    await shared_memory.robots.set_status("r1", "busy", "s1")
    await shared_memory.robots.set_degraded("r2", "its skill server is unreachable")
    _, client = masters.start(FixedPlanner(PLAN))
    listed = client.get("/robot_status").get_json()
    assert isinstance(listed, list)
    status = {r["robot_name"]: r for r in listed}
    assert (status["r1"]["robot_state"], status["r1"]["current_subtask"]) == ("busy", "s1")
    assert (status["r2"]["robot_state"], status["r2"]["online"]) == ("offline", True)  # degraded reads offline
    assert status["r1"]["embodiment"] and status["r1"]["position"] == "kitchen"
    await shared_memory.robots.mark_offline("r1")
    assert {r["robot_name"]: r["robot_state"] for r in client.get("/robot_status").get_json()}["r1"] == "offline"


async def test_system_status_adds_this_machines_load_beside_the_counters(shared_memory: SharedMemory, masters) -> None:
    await setup_world(shared_memory)
    _, client = masters.start(FixedPlanner(PLAN))
    body = client.get("/system_status").get_json()
    assert 0 <= body["cpu_load"] <= 100 and 0 < body["memory_usage"] < 100
    assert (body["data"]["robots_online"], body["data"]["robots_total"]) == (2, 2) and body["data"]["uptime_s"] >= 0


async def test_an_allowed_origin_may_read_every_answer_errors_included(shared_memory: SharedMemory, masters) -> None:
    _, client = masters.start(FixedPlanner(PLAN), auth_token="s3cret")
    for response in (client.get("/health", headers={"Origin": UI}),
                     client.get("/nowhere", headers={"Origin": UI}),
                     client.post("/publish_task", json={"task": "x"}, headers={"Origin": UI})):
        assert response.headers["Access-Control-Allow-Origin"] == UI
        assert "Origin" in response.headers["Vary"]
        assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]
    assert response.status_code == 401  # the token still guards the POST


async def test_another_origin_gets_no_cors_headers(shared_memory: SharedMemory, masters) -> None:
    _, client = masters.start(FixedPlanner(PLAN))
    response = client.get("/health", headers={"Origin": STRANGER})
    assert "Access-Control-Allow-Origin" not in response.headers and "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in client.get("/health").headers


async def test_a_preflight_from_an_allowed_origin_is_answered(shared_memory: SharedMemory, masters) -> None:
    _, client = masters.start(FixedPlanner(PLAN), auth_token="s3cret")  # a preflight carries no token
    response = client.options("/publish_task", headers=preflight("http://localhost:8888", headers="content-type,authorization"))
    assert response.status_code == 200 and "POST" in response.headers["Allow"]
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8888"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    allowed_headers = response.headers["Access-Control-Allow-Headers"]
    assert {"Content-Type", "Authorization", "Last-Event-ID"} <= {h.strip() for h in allowed_headers.split(",")}
    assert int(response.headers["Access-Control-Max-Age"]) > 0


async def test_a_preflight_from_another_origin_gets_no_allowance(shared_memory: SharedMemory, masters) -> None:
    _, client = masters.start(FixedPlanner(PLAN))
    response = client.options("/publish_task", headers=preflight(STRANGER))
    assert response.status_code == 200
    assert cors_headers(response) == []


async def test_configured_origins_replace_the_default_and_a_star_allows_any(shared_memory: SharedMemory,
                                                                            masters) -> None:
    _, own = masters.start(FixedPlanner(PLAN), cors_origins=["https://ops.example"])
    assert own.get("/health", headers={"Origin": "https://ops.example"}).headers["Access-Control-Allow-Origin"] == \
        "https://ops.example"
    assert "Access-Control-Allow-Origin" not in own.get("/health", headers={"Origin": UI}).headers
    _, anyone = masters.start(FixedPlanner(PLAN), cors_origins=["*"])
    response = anyone.options("/tasks", headers=preflight(STRANGER, method="GET"))
    assert response.headers["Access-Control-Allow-Origin"] == "*" and "Vary" not in response.headers
    _, nobody = masters.start(FixedPlanner(PLAN), cors_origins=[])
    assert cors_headers(nobody.get("/health", headers={"Origin": UI})) == []


async def test_roboos_release_page_calls_over_http(shared_memory: SharedMemory, masters) -> None:
    """What the release page's script does, in its order, from a page on :8888, through waitress."""
    await setup_world(shared_memory)
    with masters.serve(FixedPlanner(PLAN)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10, headers={"Origin": UI}) as page:
            system = await page.get("/system_status")  # fetchSystemStatus(): data.cpu_load, data.memory_usage
            assert system.is_success and system.headers["Access-Control-Allow-Origin"] == UI
            assert isinstance(system.json()["cpu_load"], float) and isinstance(system.json()["memory_usage"], float)

            connection = await page.get("/publish_task")  # testConnection(): response.ok
            assert connection.is_success and connection.headers["Access-Control-Allow-Origin"] == UI

            allowed = await page.options("/publish_task", headers=preflight(UI))  # the browser, before the POST
            assert allowed.is_success and allowed.headers["Access-Control-Allow-Origin"] == UI
            assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
            assert "content-type" in allowed.headers["Access-Control-Allow-Headers"].lower()

            task_id = str(uuid.uuid4())  # sendMessage(): {task, task_id: generateUUID()}
            result = (await page.post("/publish_task", json={"task": "serve the apple", "task_id": task_id})).json()
            assert result["status"] == "success" and result["message"] and result["task_id"] == task_id
            subtasks = sorted(result["data"]["subtask_list"], key=lambda s: int(s["subtask_order"]))
            assert result["data"]["reasoning_explanation"]
            assert [(s["robot_name"], s["subtask"]) for s in subtasks] == [("r1", "s1 on r1"), ("r2", "s2 on r2")]

            robots = (await page.get("/robot_status")).json()  # fetchRobotStatus(): robotData.forEach(...)
            assert sorted(r["robot_name"] for r in robots) == ["r1", "r2"]
            assert all(r["robot_state"] in ROBOOS_STATES for r in robots)
