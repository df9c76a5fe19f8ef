"""``roboos bench brain --planner llm_goals`` against a scripted endpoint (real HTTP, no model)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from brain.server.scripted import Reply, ScriptedServer

SUITE = """\
scene: restaurant
cases:
  - id: g-001
    text: "Could you get a cup over to table 2?"
    expect: [{node: cup, on: table_2}]
  - id: g-002
    text: "Put the soup pot on table 2."
    refuse: weighs
  - id: g-003
    text: "Leave the bread on the kitchen table."
    expect: [{node: bread, on: kitchen_table}]
"""


def deliver(obj: str, target: str) -> Reply:
    return Reply.json({"goals": [{"type": "deliver", "object": obj, "relation": "on", "target": target}]},
                      prompt_tokens=300, completion_tokens=30)


def test_the_suites_cases_go_through_the_endpoint_and_the_usage_is_reported(tmp_path: Path) -> None:
    (tmp_path / "restaurant.yaml").write_text(SUITE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROBOOS_LLM", "OPENAI"))}
    with ScriptedServer() as server:
        server.push(deliver("cup", "table_2"), deliver("soup_pot", "table_2"), Reply.text("no idea"),
                    Reply.text("still no idea"), Reply.text("none"))
        argv = [sys.executable, "-m", "deploy.cli", "bench", "brain", "--suite", str(tmp_path), "--no-scaling",
                "--planner", "llm_goals", "--base-url", server.base_url, "--model", server.model]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env)
        assert len(server.requests) == 5 and server.remaining == 0
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"bench: planner llm_goals, model {server.model} at {server.base_url}"
    assert "goal success: 3/3 (100 %)" in lines
    assert "model: 1 plans from the model's answers, 1 symbolic fallbacks (over 2 planned cases)" in lines
    assert "tokens per case: prompt p50 225, completion p50 45, total 540" in lines
