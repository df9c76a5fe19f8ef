"""A RoboOS-style ``skill.py`` in a scene's fleet, through the whole stack: a task plans with its
annotated tools, runs, and shared memory shows the robot and the cup moved."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.config import load_config
from deploy.stack import Stack
from scene import load_scene

pytestmark = pytest.mark.slow

SKILL_PY = Path(__file__).resolve().parents[1] / "fixtures" / "roboos_skill.py"
SCENE = """\
name: roboos_skill_py
nodes:
  kitchen: {{kind: place}}
  dining_room: {{kind: place}}
  kitchen_table: {{kind: furniture, at: kitchen}}
  table_2: {{kind: furniture, at: dining_room}}
  cup: {{kind: object, on: kitchen_table, props: {{weight_kg: 0.3}}}}
fleet:
  - name: porter
    embodiment: humanoid
    start: kitchen
    {server}
    skills:
      navigate_to_target: {{kind: navigate, target: target}}
      grasp_object: {{kind: pick, object: object}}
      place_to_affordance: {{kind: place, object: object, target: affordance}}
demo_tasks:
  - name: cup
    task: bring the cup to table 2
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_skill_py() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, str(SKILL_PY), "streamable-http", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"  # a base URL, as RoboOS configs give it
    finally:
        server.terminate()
        server.wait(10)


def run_task(scene_file: Path, folder: Path) -> dict:
    config = load_config(None, {"master.port": 0, "run_dir": str(folder), "log_level": "INFO"})
    with Stack(config, load_scene(scene_file), run_dir=folder) as stack:
        reply = httpx.post(f"{stack.master_url}/publish_task", json={"task": "bring the cup to table 2"}, timeout=30)
        assert reply.status_code < 300, reply.text
        task_id = reply.json()["task_id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            task = httpx.get(f"{stack.master_url}/tasks/{task_id}", timeout=5).json()["data"]
            if task["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.1)
        scene = httpx.get(f"{stack.master_url}/scene", timeout=5).json()["data"]
    nodes = {n["name"]: n for n in scene["nodes"]}
    return {"task": task, "nodes": nodes}


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_task_runs_on_a_roboos_skill_py(transport: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if transport == "stdio":
        server = f"skill_command: [{sys.executable}, {SKILL_PY}, stdio]"
    else:
        server = f"skill_url: {request.getfixturevalue('http_skill_py')}"
    scene_file = tmp_path / "roboos_skill_py.yaml"
    scene_file.write_text(SCENE.format(server=server))
    result = run_task(scene_file, tmp_path)
    task, nodes = result["task"], result["nodes"]
    assert task["state"] == "succeeded", task
    assert (nodes["cup"]["parent"], nodes["cup"]["relation"]) == ("table_2", "on")
    assert (nodes["porter"]["parent"], nodes["porter"]["relation"]) == ("dining_room", "at")
