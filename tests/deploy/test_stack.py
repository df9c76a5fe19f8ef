"""Whole stacks through the ``roboos`` command: demos of every scene, up + task + Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scene import list_scenes
from scene.loader import SCENE_DIR

pytestmark = pytest.mark.slow

ROBOOS = [sys.executable, "-m", "deploy.cli"]


def run_roboos(args: list[str], cwd: Path, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ROBOOS + args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})


@pytest.mark.timeout(300)  # the warehouse starts 20 slavers and 9 skill servers: a minute and more on 2 busy cores
@pytest.mark.parametrize("scene", sorted(list_scenes()))
def test_scene_demo_succeeds_and_checks_the_scene(scene: str, tmp_path: Path) -> None:
    result = run_roboos(["demo", "--scene", scene, "--port", "0", "--speed", "0"], tmp_path, timeout=280)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo succeeded" in result.stdout
    assert "all hold" in result.stdout
    assert re.search(r"started\s+s1 \[", result.stdout)  # progress lines as subtasks start


@pytest.mark.timeout(240)
def test_a_household_whose_kitchen_arm_runs_pi0(tmp_path: Path) -> None:
    """The household demo with the kitchen arm on pi0 instead of X0: the stack starts a reference
    pi0 server and an action server in front of it, the arm's skills ask for chunks over HTTP, the
    demo's checks hold."""
    text = (SCENE_DIR / "household.yaml").read_text()
    x0_arm = "    skill: x0\n    x0_embodiment: franka\n"
    assert text.count(x0_arm) == 1
    scene = tmp_path / "household_pi0.yaml"
    scene.write_text(text.replace(x0_arm, "    skill: pi0\n"))
    result = run_roboos(["demo", "--scene", str(scene), "--port", "0", "--speed", "0"], tmp_path, timeout=220)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo succeeded" in result.stdout and "all hold" in result.stdout
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("skill-kitchen_arm*.log"))
    assert "pi0 trajectory: 50 poses" in logs, logs[-2000:]
    assert list(tmp_path.rglob("pi0-reference-franka*.log")), "the stack started no reference pi0 server"
    assert list(tmp_path.rglob("pi0-actions-franka-0*.log")), "the stack started no pi0 action server"


def test_demo_fails_with_exit_1_when_a_robot_always_fails(tmp_path: Path) -> None:
    config = tmp_path / "faulty.yaml"
    config.write_text("skills:\n  failure_probability: 1.0\n  speed: 0\nmaster:\n  max_replans: 1\n")
    result = run_roboos(["demo", "--scene", "restaurant", "--port", "0", "--config", str(config)], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "demo FAILED" in result.stdout
    assert "injected fault" in result.stdout


def wait_for_line(process: subprocess.Popen[str], pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r} in time; got:\n{''.join(seen)}")


def test_up_serves_tasks_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = ROBOOS + ["up", "--scene", "restaurant", "--port", "0", "--speed", "0", "--ui-port", "0"]
    up = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = wait_for_line(up, r"RoboOS is up: master at http://", timeout=90)
        master = re.search(r"master at (http://[\d.:]+)", line).group(1)  # type: ignore[union-attr]
        task = run_roboos(["task", "bring the cup to table 2", "--master", master], tmp_path)
        assert task.returncode == 0, task.stdout + task.stderr
        assert re.search(r"task \w+ succeeded", task.stdout)
        status = run_roboos(["status", "--master", master], tmp_path)
        assert "3 of 3 robots online" in status.stdout
        assert re.search(r"waiter .* holding nothing", status.stdout)
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 130, out
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{master}/health", timeout=2)
    leftovers = subprocess.run(["pgrep", "-f", f"--redis-url redis://127.0.0.1.*--port {master.rsplit(':', 1)[1]}"],
                               capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
