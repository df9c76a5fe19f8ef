from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import numpy as np
import pytest

from mcp.client import Client

from skills.client import SkillClient
from skills.x0.contract import EMBODIMENTS
from skills.x0.samples import sample_request
from skills.serving import SharingOptions
from skills.x0.server import X0Service, build_skill_server
from tests.skills.conftest import serving_skills

pytestmark = [pytest.mark.anyio, pytest.mark.model]

ROOT = Path(__file__).resolve().parents[3]
EMB_FRANKA = EMBODIMENTS["franka"]


def serving_x0(service: X0Service) -> Any:
    """``service``'s skill server on a free loopback port: MCP at /mcp plus the X0 HTTP API."""
    return serving_skills(build_skill_server(service))


@pytest.fixture
async def franka_url(demo_models: Any) -> AsyncIterator[str]:
    """The franka demo X0 server on a free loopback port."""
    async with serving_x0(X0Service(demo_models("franka"))) as url:
        yield url


class Gated:
    """The demo model, holding each inference until the test opens the gate."""

    def __init__(self, model: Any) -> None:
        self.model, self.gate, self.entered = model, threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def infer(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self.model.infer(*args, **kwargs)


async def test_robots_share_the_model_and_a_busy_server_says_when_to_retry(demo_models: Any) -> None:
    sharing = SharingOptions(budgets={"left": 2.0}, priorities={"left": 1}, max_pending=1, max_wait_s=30.0)
    model = Gated(demo_models("franka"))
    service = X0Service(model, sharing)
    async with serving_x0(service) as url, httpx.AsyncClient(base_url=url, timeout=120) as client:
        def ask(robot: str) -> Any:
            return client.post("/infer", json={**sample_request(EMB_FRANKA), "robot": robot})

        async def until(condition: Any) -> None:
            with anyio.fail_after(30):
                while not condition():
                    await anyio.sleep(0.01)

        first = asyncio.create_task(ask("left"))  # runs at once, held at the gate
        await until(model.entered.is_set)
        queued = asyncio.create_task(ask("right"))  # waits behind it
        await until(lambda: service.scheduler.waiting("right") == 1)
        refused = await ask("right")  # right already has max_pending (1) waiting
        model.gate.set()
        answers = [await first, await queued]
        info = (await client.get("/info")).json()
        bad = await client.post("/infer", json={**sample_request(EMB_FRANKA), "robot": 7})
    assert [a.status_code for a in answers] == [200, 200]
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["success"] is False and body["retry_after_s"] > 0
    assert "busy for right: 1 of its requests already wait" in body["error"]
    assert info["robots"]["left"] | {"model_s": 0} == {"budget": 2.0, "priority": 1, "served": 1, "refused": 0,
                                                       "failed": 0, "model_s": 0}
    assert (info["robots"]["right"]["served"], info["robots"]["right"]["refused"]) == (1, 1)
    assert bad.status_code == 400 and "robot must be a non-empty string" in bad.json()["error"]


async def test_health_and_info_report_the_backend_and_demo_weights(franka_url: str) -> None:
    async with httpx.AsyncClient(base_url=franka_url, timeout=30) as client:
        health = (await client.get("/health")).json()
        info = (await client.get("/info")).json()
    assert health["status"] == "healthy" and health["model_loaded"] and health["subtask_mode"]
    assert health["backend"]["name"] == "torch" and "FlagGems" in health["backend"]["reason"]
    assert health["demo"] and "untrained" in health["weights"]
    assert set(health["gpu_info"]) == {"name", "memory_allocated", "memory_reserved"}
    assert info["endpoints"]["infer"] == "POST /infer" and info["eef_pose_length"] == 8
    assert info["backend"] == health["backend"]


async def test_infer_returns_thirty_absolute_poses(franka_url: str) -> None:
    async with httpx.AsyncClient(base_url=franka_url, timeout=60) as client:
        response = await client.post("/infer", json=sample_request(EMB_FRANKA))
    body = response.json()
    assert response.status_code == 200, body
    assert body["success"] is True
    eepose = np.array(body["eepose"])
    assert eepose.shape == (30, 8) and np.all(np.isfinite(eepose))
    assert isinstance(body["subtask"], str) and body["processing_time"] > 0
    assert body["backend"]["name"] == "torch" and body["demo"] is True


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("images"), "missing field.*images"),
        (lambda r: r["images"].pop("cam_wrist"), "missing image.*cam_wrist"),
        (lambda r: r["images"].update(cam_front="%%%not-base64"), "cam_front.*base64"),
        (lambda r: r.update(eef_pose=[0.0] * 14), "has 8 values.*got 14"),
        (lambda r: r.update(embodiment="ur5"), "unknown embodiment 'ur5'"),
        (lambda r: r.update(images=["a"]), "images must be an object"),
    ],
)
async def test_bad_requests_get_400_with_a_message(franka_url: str, change: Any, message: str) -> None:
    request = sample_request(EMB_FRANKA)
    change(request)
    async with httpx.AsyncClient(base_url=franka_url, timeout=30) as client:
        response = await client.post("/infer", json=request)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert re.search(message, response.json()["error"])


async def test_non_json_body_is_a_400(franka_url: str) -> None:
    async with httpx.AsyncClient(base_url=franka_url, timeout=30) as client:
        response = await client.post("/infer", content=b"{not json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]


async def test_generate_actions_over_streamable_http(franka_url: str) -> None:
    async with SkillClient.http(f"{franka_url}/mcp") as client:
        specs = {s.name: s for s in await client.list_skills()}
        assert specs["generate_actions"].semantics.kind == "generate_actions"
        assert set(specs["generate_actions"].input_schema["required"]) == {"instruction", "images", "eef_pose"}
        outcome = await client.call("generate_actions", sample_request(EMB_FRANKA), timeout_s=60)
        assert outcome.ok, outcome.message
        assert "untrained demo weights" in outcome.message
        failed = await client.call("generate_actions", {**sample_request(EMB_FRANKA), "eef_pose": [0.0]}, timeout_s=60)
        assert not failed.ok and "has 8 values" in failed.message
    async with Client(f"{franka_url}/mcp") as raw:
        result = await raw.call_tool("generate_actions", sample_request(EMB_FRANKA))
    data = result.structured_content
    assert np.array(data["eepose"]).shape == (30, 8) and data["embodiment"] == "franka"
    assert data["backend"]["name"] == "torch" and data["demo"] is True and data["effects"] == []


async def test_generate_actions_over_stdio(demo_checkpoint: Path) -> None:
    argv = [sys.executable, "-m", "skills.x0.cli", "--demo-model", "--cache-dir", str(demo_checkpoint.parent),
            "--embodiment", "franka", "--max-new-tokens", "600", "--transport", "stdio"]
    async with SkillClient.stdio(argv, cwd=str(ROOT), connect_timeout_s=90) as client:
        outcome = await client.call("generate_actions", sample_request(EMB_FRANKA), timeout_s=90)
    assert outcome.ok, outcome.message
    assert "franka end-effector poses" in outcome.message

