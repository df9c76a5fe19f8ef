"""``roboos plan`` as a user runs it: a real subprocess, no servers, no Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROBOOS = Path(sys.executable).parent / "roboos"


def roboos(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(ROBOOS)] if ROBOOS.exists() else [sys.executable, "-m", "deploy.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


def test_json_plan_has_the_documented_shape() -> None:
    result = roboos("plan", "--scene", "restaurant", "--json", "bring the cup to table 2")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert set(data) == {"scene", "instruction", "ok", "refused", "plan", "planner", "info", "checks", "final",
                         "elapsed_ms"}
    assert (data["scene"], data["instruction"], data["ok"], data["refused"]) == (
        "restaurant", "bring the cup to table 2", True, None)
    assert data["planner"] == "symbolic"
    steps = data["plan"]["subtask_list"]
    assert [s["step_id"] for s in steps] == [f"s{i + 1}" for i in range(len(steps))]
    assert {"robot_name", "subtask", "depends_on", "actions"} <= set(steps[0])
    assert steps[-1]["robot_name"] == "waiter"
    assert steps[-1]["actions"][-1] == {"name": "place", "arguments": {"object": "cup", "target": "table_2"}}
    assert data["checks"]["valid"] is True
    assert (data["checks"]["effects"], data["checks"]["goals"]) == ("passed", "passed")
    assert data["checks"]["goal_list"] == ["cup on table_2"]
    assert data["final"] is None
    assert data["elapsed_ms"] > 0


def test_simulate_reports_the_goal_nodes_end_state() -> None:
    result = roboos("plan", "--scene", "restaurant", "--simulate", "--json", "bring the cup to table 2")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["final"] == {"cup": {"relation": "on", "parent": "table_2"}}

    text = roboos("plan", "--scene", "restaurant", "--simulate", "bring the cup to table 2")
    assert text.returncode == 0, text.stderr
    assert "checks: valid; effects passed; goals passed (cup on table_2)" in text.stdout
    assert text.stdout.rstrip().endswith("final state (simulated):\n  cup on table_2")


def test_a_refusal_exits_1_with_its_reason() -> None:
    result = roboos("plan", "--scene", "restaurant", "--json", "bring the unicorn to table 1")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert (data["ok"], data["plan"], data["checks"], data["final"]) == (False, None, None, None)
    assert "unicorn" in data["refused"]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("refused: ") and "unicorn" in lines[0]


def test_an_unknown_scene_is_a_usage_error() -> None:
    result = roboos("plan", "--scene", "no_such_scene", "bring the cup to table 2")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: no bundled scene 'no_such_scene'")
