"""The stack with the LLM planner, against a scripted OpenAI-compatible endpoint (no model here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brain.server.scripted import Reply, ScriptedServer

pytestmark = pytest.mark.slow

GOOD_PLAN = {
    "reasoning_explanation": "The chef is in the kitchen and can reach the serving table.",
    "subtask_list": [{
        "robot_name": "chef",
        "subtask": "Bring the apple to the serving table",
        "subtask_order": 1,
        "actions": [
            {"name": "pick", "arguments": {"object": "apple"}},
            {"name": "navigate", "arguments": {"target": "serving_table"}},
            {"name": "place", "arguments": {"object": "apple", "target": "serving_table"}},
        ],
    }],
}


def demo_with_llm(server: ScriptedServer, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "llm.yaml"
    config.write_text(json.dumps({
        "planner": "llm",
        "brain_server": {"start": False},
        "llm": {"base_url": server.base_url, "model": server.model, "max_attempts": 1, "timeout_s": 10},
    }))
    argv = [sys.executable, "-m", "deploy.cli", "demo", "--scene", "restaurant", "--task", "apple_to_serving_table",
            "--port", "0", "--speed", "0", "--config", str(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROBOOS_LLM", "OPENAI"))}
    return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=150, env=env)


def test_llm_plan_runs_and_the_summary_names_the_llm_planner(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        server.push(Reply.json(GOOD_PLAN))
        result = demo_with_llm(server, tmp_path)
        assert len(server.requests) == 1
    assert result.returncode == 0, result.stdout + result.stderr
    assert "plan by the llm planner" in result.stdout
    assert "apple on serving_table: all hold" in result.stdout


def test_garbage_from_the_llm_falls_back_to_the_symbolic_planner(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        server.push(Reply.text("I would love to help! The apple is a fruit."))
        result = demo_with_llm(server, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "plan by the symbolic planner, as fallback: the llm planner failed" in result.stdout
