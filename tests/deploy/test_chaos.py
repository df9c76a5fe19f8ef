"""Fault injection on a real stack: kill -9 of each component mid-subtask, two slavers for one
robot, a subtask timing out while queued, duplicate task ids, and a reduced load.

One stack (``deploy.chaos_fleet.ChaosFleet``: embedded Redis, master, three slavers, two HTTP
skill servers, all real processes) serves the whole module; every scenario runs two trials on it
and must lose, duplicate and strand nothing. The stack's processes are stopped (process groups,
SIGTERM then SIGKILL) when the module ends, also after a failure. The audit that counts lost and
duplicated work is itself checked on made-up logs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.chaos import SCENARIOS, run_scenario
from deploy.chaos_audit import ClaimLog, Trial, audit_trial, read_claims
from deploy.chaos_fleet import ChaosFleet
from deploy.chaos_load import run_event_load, run_publish_load

TRIALS = 2


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosFleet]:
    with ChaosFleet(tmp_path_factory.mktemp("chaos")) as fleet:
        yield fleet


def _logs_hint(fleet: ChaosFleet) -> str:
    return f"logs in {fleet.stack.run_dir / 'logs'}"


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario_loses_duplicates_and_strands_nothing(fleet: ChaosFleet, scenario: str) -> None:
    result = run_scenario(fleet, scenario, TRIALS)
    assert len(result.trials) == TRIALS
    assert result.ok, "\n".join([result.line(), *result.problems(), _logs_hint(fleet)])
    for trial in result.trials:
        assert trial.record["state"] in ("succeeded", "failed", "cancelled")
        assert trial.terminal_at is not None and trial.terminal_at - trial.published_at <= trial.deadline_s
        if scenario in ("two slavers for one robot", "duplicate task ids"):
            assert trial.succeeded, (trial.record, trial.notes)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_stopped_slaver_queued_subtask_is_replanned_to_another_robot(fleet: ChaosFleet) -> None:
    result = run_scenario(fleet, "subtask times out while queued", 1)
    trial = result.trials[0]
    first = [s for s in trial.record["subtasks"] if s["attempt"] == 0]
    again = [s for s in trial.record["subtasks"] if s["attempt"] > 0]
    assert [s["state"] for s in first] == ["timed_out"], trial.record
    assert again and all(s["robot"] != trial.robot for s in again), trial.record
    assert result.ok, "\n".join([result.line(), *result.problems(), _logs_hint(fleet)])


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_concurrent_publishes_and_event_streams_get_no_5xx(fleet: ChaosFleet) -> None:
    fleet.tidy()
    publish = run_publish_load(fleet, 200)
    assert publish.ok and publish.statuses == {"200": 200}, publish.detail()
    fleet.tidy()
    events = run_event_load(fleet, 50, hold_s=2.0)
    assert events.ok and events.statuses == {"200": 50}, events.detail()


def _trial(state: str, subtasks: list[dict[str, object]]) -> Trial:
    trial = Trial("t1", "r1", published_at=1000.0, deadline_s=30.0)
    trial.record = {"task_id": "t1", "state": state, "subtasks": subtasks, "finished_at": 1005.0}
    return trial


def _sub(subtask_id: str, state: str, finished_at: float | None = 1004.0) -> dict[str, object]:
    return {"subtask_id": subtask_id, "robot": "r1", "state": state, "attempt": 0, "finished_at": finished_at}


def _events(*pairs: tuple[str, str]) -> list[dict[str, object]]:
    return [{"kind": "subtask_state", "data": {"subtask_id": s, "state": state}} for s, state in pairs] + [
        {"kind": "task_state", "data": {"state": "succeeded"}}]


def _log(tmp_path: Path, *lines: str) -> ClaimLog:
    path = tmp_path / "slaver-r1.log"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1003))
    path.write_text("".join(f"{stamp},000 INFO slaver.agent: robot=r1 task=t1 subtask={line}\n" for line in lines))
    return read_claims([path])


@pytest.mark.timeout(10)
def test_audit_counts_a_second_claim_and_a_call_after_the_end_as_duplicated(tmp_path: Path) -> None:
    claims = _log(tmp_path, "s1 running", "s1 calling navigate(target=hall_1)", "s1 running")
    trial = _trial("succeeded", [_sub("s1", "succeeded", finished_at=1002.5)])
    audit_trial(trial, claims, _events(("s1", "succeeded")))
    assert (trial.lost, trial.duplicated) == (0, 2), trial.notes  # claimed twice; called after it ended


@pytest.mark.timeout(10)
def test_audit_counts_open_subtasks_and_missing_events_as_lost(tmp_path: Path) -> None:
    trial = _trial("running", [_sub("s1", "running"), _sub("s2", "failed")])
    audit_trial(trial, _log(tmp_path, "s1 running"), _events())
    assert (trial.lost, trial.duplicated) == (3, 0), trial.notes  # task open, s1 open, s2's event missing
    clean = _trial("succeeded", [_sub("s1", "succeeded", finished_at=1004.0)])
    audit_trial(clean, _log(tmp_path, "s1 running", "s1 calling navigate(target=hall_1)"), _events(("s1", "succeeded")))
    assert (clean.lost, clean.duplicated) == (0, 0), clean.notes
