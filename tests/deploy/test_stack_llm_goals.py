"""The stack with the goal-mode LLM planner, against a scripted OpenAI-compatible endpoint (no model here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brain.server.scripted import Reply, ScriptedServer

pytestmark = pytest.mark.slow

CUP_TO_TABLE_2 = {"goals": [{"type": "deliver", "object": "cup", "relation": "on", "target": "table_2"}]}


def test_goals_from_the_llm_are_planned_and_run(tmp_path: Path) -> None:
    config = tmp_path / "llm_goals.yaml"
    with ScriptedServer() as server:
        server.push(Reply.json(CUP_TO_TABLE_2))
        config.write_text(json.dumps({
            "planner": "llm_goals",
            "brain_server": {"start": False},
            "llm": {"base_url": server.base_url, "model": server.model, "max_attempts": 1, "timeout_s": 10},
        }))
        argv = [sys.executable, "-m", "deploy.cli", "demo", "--scene", "restaurant", "--task", "cup_to_table_2",
                "--port", "0", "--speed", "0", "--config", str(config)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROBOOS_LLM", "OPENAI"))}
        result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=150, env=env)
        assert len(server.requests) == 1
        schema = server.requests[0]["response_format"]["json_schema"]["schema"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "plan by the llm_goals planner" in result.stdout
    assert "cup on table_2: all hold" in result.stdout
    assert "goals" in schema["properties"]
