"""pi0 through FlagScale's protocol: the wire format, the client against the reference server over
real HTTP (both variants), every error a robot can meet (a refused request, a server that is down,
busy, slow, or failing with Flask's HTML 500), one request in flight per server, and the MCP skill
served over stdio by ``roboos skill pi0``."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from flask import Flask

from deploy.launcher import free_port
from skills.client import SkillClient
from skills.pi0.client import MODEL_TIME_HEADER, Pi0Client, Pi0ServerError, Pi0Unavailable
from skills.pi0.protocol import (
    EMBODIMENTS,
    Pi0ProtocolError,
    Pi0RequestError,
    build_request,
    camera_key,
    chunk_from_answer,
)
from skills.images import sample_frames
from skills.pi0.reference import ScriptedPolicy, create_reference_app
from tests.skills.conftest import serving

pytestmark = pytest.mark.anyio

ALOHA = EMBODIMENTS["aloha"]
ROOT = str(Path(__file__).resolve().parents[2])
FRAMES = sample_frames(ALOHA.cameras, width=64, height=48)
STATE = [0.1] * ALOHA.state_dim


@pytest.fixture
def reference() -> Iterator[str]:
    with serving(create_reference_app(ScriptedPolicy(ALOHA))) as url:
        yield url


# -- the wire format -----------------------------------------------------------------------------

def test_requests_of_both_variants() -> None:
    current = build_request("flagscale", ALOHA, "fold the towel", {"base": "QQ==", "left_wrist": "Qg=="}, STATE)
    assert current == {"instruction": "fold the towel", "state": [STATE],
                       "images": [{"observation.images.base_0_rgb": "QQ==",
                                   "observation.images.left_wrist_0_rgb": "Qg=="}]}
    legacy = build_request("legacy", ALOHA, "fold", {"cam_high": "QQ=="}, STATE, eef_pose=[0.0] * 14)
    assert legacy == {"instruction": "fold", "qpos": STATE, "images": {"cam_high": "QQ=="}, "eef_pose": [0.0] * 14}
    assert "eef_pose" not in build_request("legacy", ALOHA, "fold", {"base": "QQ=="}, STATE)


@pytest.mark.parametrize(("instruction", "images", "state", "says"), [
    ("", {"base": "QQ=="}, STATE, "instruction"),
    ("fold", {}, STATE, "at least one camera"),
    ("fold", {"front": "QQ=="}, STATE, "unknown camera 'front'"),
    ("fold", {"base": 3}, STATE, "camera 'base'"),
    ("fold", {"base": "QQ==", "observation.images.base_0_rgb": "QQ=="}, STATE, "given twice"),
    ("fold", {"base": "QQ=="}, [0.0] * 7, "7 values, the aloha embodiment has 14"),
    ("fold", {"base": "QQ=="}, [float("inf")] * 14, "finite"),
    ("fold", {"base": "QQ=="}, "0,0", "list of numbers"),
])
def test_bad_input_is_refused_before_sending(instruction: str, images: Any, state: Any, says: str) -> None:
    with pytest.raises(Pi0RequestError, match=says):
        build_request("flagscale", ALOHA, instruction, images, state)


def test_unknown_variant() -> None:
    with pytest.raises(Pi0RequestError, match="unknown protocol variant 'v2'"):
        camera_key("v2", "base")


def test_chunks_are_checked_for_shape_and_values() -> None:
    rows = [[0.5] * 14 for _ in range(50)]
    assert chunk_from_answer("flagscale", ALOHA, {"success": True, "actions": [rows]}) == rows
    assert chunk_from_answer("flagscale", ALOHA, {"success": True, "actions": rows}) == rows  # no batch axis
    assert chunk_from_answer("legacy", ALOHA, {"qpos": rows}) == rows
    cases = [
        ({"success": True, "actions": [rows[:49]]}, r"shape \[49, 14\], expected \[50, 14\]"),
        ({"success": True, "actions": [[r[:13] for r in rows]]}, r"shape \[50, 13\]"),
        ({"success": True, "actions": [rows[:-1] + [[0.5] * 13]]}, r"shape \[50, 13/14\]"),
        ({"success": True, "actions": [rows[:-1] + [[None] * 14]]}, "row 49 holds a value that is not a finite"),
        ({"success": True, "actions": "[[0.5]]"}, "not a list of action rows"),
        ({"success": False, "error": "CUDA out of memory"}, "success: false: CUDA out of memory"),
        ({"success": True, "qpos": rows}, "no 'actions'.*legacy variant"),
        ([rows], "expected a JSON object"),
    ]
    for answer, says in cases:
        with pytest.raises(Pi0ProtocolError, match=says):
            chunk_from_answer("flagscale", ALOHA, answer)


# -- the client against the reference server -------------------------------------------------------

async def test_a_chunk_from_the_reference_server(reference: str) -> None:
    async with Pi0Client(reference, ALOHA) as pi0:
        first = await pi0.infer("fold the towel", FRAMES, STATE)
        again = await pi0.infer("fold the towel", FRAMES, STATE)
        other = await pi0.infer("open the drawer", FRAMES, STATE)
    actions = np.asarray(first.actions)
    assert actions.shape == (50, 14)
    assert np.abs(actions[0] - STATE).max() < 0.1  # leaves the current state...
    assert np.abs(np.diff(actions, axis=0)).max() < 0.1  # ...smoothly
    assert first.actions == again.actions  # deterministic
    assert np.abs(np.asarray(other.actions[-1]) - actions[-1]).max() > 0.1  # the instruction matters
    assert first.model_s is not None and 0 <= first.model_s < first.round_trip_s
    assert first.attempts == 1


async def test_the_legacy_variant_end_to_end() -> None:
    with serving(create_reference_app(ScriptedPolicy(ALOHA), variant="legacy")) as url:
        async with Pi0Client(url, ALOHA, variant="legacy") as pi0:
            chunk = await pi0.infer("fold the towel", {"base": FRAMES["base"]}, STATE, eef_pose=[0.0] * 14)
        async with Pi0Client(url, ALOHA) as wrong:  # a current-protocol client meets a legacy server
            with pytest.raises(Pi0RequestError, match="Request requires: qpos"):
                await wrong.infer("fold the towel", FRAMES, STATE)
    assert np.asarray(chunk.actions).shape == (50, 14)


async def test_the_reference_server_refuses_what_flagscale_refuses(reference: str) -> None:
    infer = f"{reference}/infer"
    good = build_request("flagscale", ALOHA, "fold", FRAMES, STATE)
    cases = [
        ({"content": b"not json", "headers": {"Content-Type": "application/json"}}, "Request format error"),
        ({"json": {k: v for k, v in good.items() if k != "state"}}, "Request requires: state"),
        ({"json": {**good, "state": [["a"]]}}, "State parameters processing error"),
        ({"json": {k: v for k, v in good.items() if k != "instruction"}}, "Request requires instruction"),
        ({"json": {**good, "images": []}}, "Request requires images"),
        ({"json": {**good, "images": [{"observation.images.base_0_rgb": "not base64!"}]}}, "image process failed"),
        ({"json": {**good, "images": [{"cam_high": FRAMES["base"]}]}}, "No images provided"),
    ]
    async with httpx.AsyncClient(timeout=10) as http:
        for request, says in cases:
            response = await http.post(infer, **request)
            assert response.status_code == 400, (says, response.text)
            assert response.json()["success"] is False and says in response.json()["error"]
        nan_state = (b'{"instruction": "fold", "state": [[NaN]], "images": [{"observation.images.base_0_rgb": "'
                     + FRAMES["base"].encode() + b'"}]}')
        failed = await http.post(infer, content=nan_state, headers={"Content-Type": "application/json"})
        assert failed.status_code == 500 and "text/html" in failed.headers["content-type"]
        assert (await http.get(f"{reference}/health")).status_code == 404  # FlagScale has no health route


async def test_a_refused_request_is_not_retried() -> None:
    policy = _Counting(ALOHA, model_time_s=0.0)
    with serving(create_reference_app(policy, cameras=("left_wrist",))) as url:  # reads one camera only
        async with Pi0Client(url, ALOHA, retries=3) as pi0:
            with pytest.raises(Pi0RequestError, match="the pi0 server refused the request: No images provided"):
                await pi0.infer("fold", {"base": FRAMES["base"]}, STATE)
    assert policy.calls == 0


async def test_a_chunk_that_does_not_fit_the_robot(reference: str) -> None:
    async with Pi0Client(reference, EMBODIMENTS["franka"]) as pi0:  # an aloha server, a franka robot
        with pytest.raises(Pi0ProtocolError, match=r"shape \[50, 14\], expected \[50, 8\] \(franka\)"):
            await pi0.infer("fold", {"base": FRAMES["base"]}, [0.0] * 8)


async def test_a_server_that_is_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with Pi0Client(url, ALOHA, retries=1) as pi0:
        with pytest.raises(Pi0Unavailable, match=r"cannot be reached.*tried 2 times"):
            await pi0.infer("fold", FRAMES, STATE)


async def test_a_server_whose_model_is_not_loaded_is_retried_then_reported() -> None:
    with serving(create_reference_app(None)) as url:
        async with Pi0Client(url, ALOHA, retries=2) as pi0:
            with pytest.raises(Pi0Unavailable, match=r"not ready \(503: Model not loaded\) after 3 tries"):
                await pi0.infer("fold", FRAMES, STATE)


async def test_an_exception_in_the_model_is_an_html_500() -> None:
    app = Flask("broken")

    @app.post("/infer")
    def infer() -> Any:
        raise RuntimeError("CUDA error: device-side assert triggered")

    with serving(app) as url:
        async with Pi0Client(url, ALOHA) as pi0:
            with pytest.raises(Pi0ServerError, match="failed inside the model.*HTML error page"):
                await pi0.infer("fold", FRAMES, STATE)


async def test_a_slow_server_times_out_without_a_second_request() -> None:
    policy = _Counting(ALOHA, model_time_s=1.0)
    with serving(create_reference_app(policy)) as url:
        async with Pi0Client(url, ALOHA, timeout_s=0.2, retries=3) as pi0:
            with pytest.raises(Pi0Unavailable, match="did not answer within 0.2 s"):
                await pi0.infer("fold", FRAMES, STATE)
        await asyncio.sleep(1.0)
    assert policy.calls == 1  # a timeout is not retried: the server may still be working on it


async def test_one_request_in_flight_per_server() -> None:
    policy = _Counting(ALOHA, model_time_s=0.05)
    with serving(create_reference_app(policy)) as url:
        async with Pi0Client(url, ALOHA) as pi0:
            chunks = await asyncio.gather(*(pi0.infer(f"task {i}", FRAMES, STATE) for i in range(4)))
    assert len(chunks) == 4 and policy.calls == 4
    assert policy.most_at_once == 1


async def test_the_model_time_header_is_optional() -> None:
    app = create_reference_app(ScriptedPolicy(ALOHA))

    @app.after_request
    def strip(response: Any) -> Any:  # FlagScale's server sends no such header
        response.headers.pop(MODEL_TIME_HEADER, None)
        return response

    with serving(app) as url:
        async with Pi0Client(url, ALOHA) as pi0:
            chunk = await pi0.infer("fold", FRAMES, STATE)
    assert chunk.model_s is None and chunk.overhead_s is None and chunk.round_trip_s > 0


def test_bad_client_settings() -> None:
    with pytest.raises(Pi0RequestError, match="must start with http"):
        Pi0Client("gpu-box:5000", ALOHA)
    with pytest.raises(Pi0RequestError, match="retries must be >= 0"):
        Pi0Client("http://gpu-box:5000", ALOHA, retries=-1)


# -- the MCP skill, served by the CLI ----------------------------------------------------------------

async def test_the_skill_over_stdio(reference: str) -> None:
    argv = [sys.executable, "-m", "deploy.cli", "skill", "pi0", "--server", reference, "--embodiment", "aloha",
            "--transport", "stdio", "--log-level", "WARNING"]
    async with SkillClient.stdio(argv, env={"PYTHONPATH": ROOT}, connect_timeout_s=30) as skills:
        specs = {s.name: s for s in await skills.list_skills()}
        assert specs["generate_joint_actions"].semantics.kind == "generate_actions"
        outcome = await skills.call("generate_joint_actions",
                                    {"instruction": "fold the towel", "images": FRAMES, "state": STATE})
        assert outcome.ok, outcome.message
        assert "generated 50 aloha joint targets" in outcome.message
        refused = await skills.call("generate_joint_actions",
                                    {"instruction": "fold", "images": {"front": FRAMES["base"]}, "state": STATE})
        assert not refused.ok and "unknown camera 'front'" in refused.message


async def test_the_skill_when_its_model_server_is_down() -> None:
    argv = [sys.executable, "-m", "deploy.cli", "skill", "pi0", "--server", f"http://127.0.0.1:{free_port()}",
            "--retries", "0", "--transport", "stdio", "--log-level", "WARNING"]
    async with SkillClient.stdio(argv, env={**os.environ, "PYTHONPATH": ROOT}, connect_timeout_s=30) as skills:
        outcome = await skills.call("generate_joint_actions",
                                    {"instruction": "fold", "images": FRAMES, "state": STATE})
    assert not outcome.ok and "cannot be reached" in outcome.message


class _Counting(ScriptedPolicy):
    """The scripted policy, counting calls and how many ran at once."""

    def __init__(self, embodiment: Any, model_time_s: float) -> None:
        super().__init__(embodiment, model_time_s=model_time_s)
        self.calls = self.running = self.most_at_once = 0
        self.order: list[str] = []
        self.gate = threading.Event()  # shut: each call waits until it opens
        self.gate.set()
        self._lock = threading.Lock()

    def act(self, instruction: str, images: dict[str, Any], state: np.ndarray) -> np.ndarray:
        with self._lock:
            self.calls += 1
            self.order.append(instruction)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            assert self.gate.wait(30), "the test never opened the gate"
            return super().act(instruction, images, state)
        finally:
            with self._lock:
                self.running -= 1


def test_the_bench_prints_the_client_overhead(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "deploy.cli", "bench", "pi0", "--requests", "4", "--width", "64",
                             "--height", "48"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "round trip: p50" in result.stdout and "(4 requests, 3 frames of 64x48 JPEG" in result.stdout
    assert "client overhead (round trip minus model time): p50" in result.stdout


async def test_robots_sharing_the_skill_queue_for_the_one_request_in_flight() -> None:
    from skills.pi0.server import build_pi0_skill_server
    from skills.serving import SharingOptions

    policy = _Counting(ALOHA, model_time_s=0.0)
    policy.gate.clear()
    sharing = SharingOptions(priorities={"urgent": 1}, max_pending=1, max_wait_s=10.0)
    with serving(create_reference_app(policy)) as url:
        server = build_pi0_skill_server(Pi0Client(url, ALOHA), sharing=sharing)
        async with SkillClient.in_process(server) as skills:
            def ask(robot: str) -> Any:
                return skills.call("generate_joint_actions", {"instruction": f"fold for {robot}", "images": FRAMES,
                                                              "state": STATE, "robot": robot})

            first = asyncio.create_task(ask("slow"))
            while policy.running == 0:  # the pi0 server holds it at the gate
                await asyncio.sleep(0.01)
            queued = asyncio.create_task(ask("slow"))
            await asyncio.sleep(0.3)  # in the queue by now: nothing can leave it while the gate is shut
            refused = await ask("slow")  # one of slow's requests already waits
            urgent = asyncio.create_task(ask("urgent"))  # goes before slow's queued one
            await asyncio.sleep(0.3)
            policy.gate.set()
            answers = [await first, await queued, await urgent]
    assert all(a.ok for a in answers), [a.message for a in answers]
    assert not refused.ok and "busy for slow" in refused.message and "retry after" in refused.message
    assert policy.most_at_once == 1 and policy.order == ["fold for slow", "fold for urgent", "fold for slow"]


async def test_robots_share_one_pi0_server_through_the_relay() -> None:
    """Robots' clients point at the action server's /infer: one request at a time reaches the pi0
    server, each robot's answer comes back as the pi0 server gave it, a busy one says when to retry."""
    from skills.pi0.server import build_pi0_skill_server
    from skills.serving import SharingOptions
    from tests.skills.conftest import serving_skills

    policy = _Counting(ALOHA, model_time_s=0.05)
    with serving(create_reference_app(policy)) as pi0_url:
        relay = build_pi0_skill_server(Pi0Client(pi0_url, ALOHA), sharing=SharingOptions(max_pending=1))
        async with serving_skills(relay) as url:
            clients = [Pi0Client(url, ALOHA, robot=f"arm{i}") for i in range(3)]
            chunks = await asyncio.gather(*(c.infer(f"fold {i}", FRAMES, STATE) for i, c in enumerate(clients)))
            async with Pi0Client(pi0_url, ALOHA) as alone:
                direct = await alone.infer("fold 0", FRAMES, STATE)
            async with httpx.AsyncClient(timeout=10) as http:
                bad = await http.post(f"{url}/infer", json={"robot": 7})
                policy.gate.clear()
                held = asyncio.create_task(http.post(f"{url}/infer", json={**build_request(
                    "flagscale", ALOHA, "fold", FRAMES, STATE), "robot": "arm0"}))
                while policy.running == 0:
                    await asyncio.sleep(0.01)
                queued = asyncio.create_task(http.post(f"{url}/infer", json={**build_request(
                    "flagscale", ALOHA, "fold", FRAMES, STATE), "robot": "arm0"}))
                await asyncio.sleep(0.3)
                busy = await http.post(f"{url}/infer", json={**build_request(
                    "flagscale", ALOHA, "fold", FRAMES, STATE), "robot": "arm0"})
                policy.gate.set()
                await asyncio.gather(held, queued)
            for client in clients:
                await client.close()
    assert policy.most_at_once == 1
    assert chunks[0].actions == direct.actions and chunks[0].model_s is not None  # as the pi0 server gave it
    assert bad.status_code == 400 and "robot must be a non-empty string" in bad.json()["error"]
    assert busy.status_code == 503 and busy.json()["retry_after_s"] > 0 and "busy for arm0" in busy.json()["error"]
    assert int(busy.headers["Retry-After"]) >= 1


async def test_a_relay_whose_pi0_server_is_down_answers_502() -> None:
    from skills.pi0.server import build_pi0_skill_server
    from tests.skills.conftest import serving_skills

    relay = build_pi0_skill_server(Pi0Client(f"http://127.0.0.1:{free_port()}", ALOHA, retries=0))
    async with serving_skills(relay) as url:
        async with Pi0Client(url, ALOHA, robot="arm0", retries=0) as client:
            with pytest.raises(Pi0ServerError, match=r"HTTP 502.*cannot be reached"):
                await client.infer("fold", FRAMES, STATE)
