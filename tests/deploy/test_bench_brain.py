"""``roboos bench brain`` on a tiny suite, the suite format's errors, and the bundled suites."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deploy.brain_suite import SUITE_DIR, SuiteError, load_suite, suite_paths
from deploy.synthetic import ring_world
from scene import load_scene

TINY_SUITE = """\
scene: restaurant
cases:
  - id: t-001
    text: "bring the cup to table 2"
    expect: [{node: cup, on: table_2}]
    best_actions: 6
  - id: t-002
    text: "Bring the pizza to table 1."
    refuse: unknown
  - id: t-003
    text: "bring the bread to table 1"
    expect: [{node: bread, on: table_2}]
"""


def test_bench_brain_reports_counts_and_failing_cases(tmp_path: Path) -> None:
    (tmp_path / "restaurant.yaml").write_text(TINY_SUITE)
    result = subprocess.run([sys.executable, "-m", "deploy.cli", "bench", "brain", "--suite", str(tmp_path),
                             "--no-scaling"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-3:] == ["goal success: 2/3 (67 %)", "rule violations: 0",
                          "plan p50 at 1000 robots: skipped (--no-scaling)"]
    row = next(line for line in lines if line.startswith("restaurant "))
    assert row.split()[1:5] == ["3", "2", "(67", "%)"]
    assert "correct refusals: 1/1; possible tasks refused after parsing: 0" in lines
    failing = [line for line in lines if line.startswith("  t-")]
    assert failing == ["  t-003 [restaurant] wanted bread on table_2, got bread on table_1"]


def test_a_broken_suite_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TINY_SUITE.replace("best_actions: 6", "best_action: 6"))
    with pytest.raises(SuiteError, match=r"bad\.yaml: cases\[0\] \(t-001\)\.best_action: unknown key"):
        load_suite(path)
    path.write_text(TINY_SUITE.replace("refuse: unknown", "refuse: unknown\n    expect: [{node: cup, on: bar}]"))
    with pytest.raises(SuiteError, match=r"cases\[1\] \(t-002\): give exactly one of expect"):
        load_suite(path)


def test_bundled_suites_name_only_nodes_of_their_scenes() -> None:
    paths = suite_paths(SUITE_DIR)
    assert {"restaurant.yaml", "household.yaml", "supermarket.yaml"} <= {p.name for p in paths}
    for path in paths:
        suite = load_suite(path)
        profile = load_scene(suite.scene)
        names = {n.name for n in profile.world_nodes()}
        assert len(suite.cases) >= 60 or path.stem not in ("restaurant", "household", "supermarket")
        for case in suite.cases:
            for expectation in case.expect:
                assert {expectation.node, expectation.parent} <= names, (path.name, case.id)


def test_synthetic_worlds_are_rings_with_a_mixed_fleet() -> None:
    world = ring_world(robots=10, objects=50)
    places = [n for n in world.nodes if n.kind == "place"]
    assert len(places) == world.rooms == 5
    assert [p["to"] for p in places[0].props["passages"]] == ["room_0004", "room_0001"]
    assert sum(n.kind == "object" for n in world.nodes) == 50
    assert len({e.embodiment for e in world.fleet}) == 5
    assert len(world.instructions) == 5


def test_an_unreadable_suite_is_skipped_and_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("scene: restaurant\ncases: []\n")
    result = subprocess.run([sys.executable, "-m", "deploy.cli", "bench", "brain", "--suite", str(tmp_path),
                             "--no-scaling"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped suite broken.yaml: " in result.stdout
    assert "cases: expected a non-empty list of cases" in result.stdout
    assert result.stdout.splitlines()[-3] == "goal success: 0/0 (0 %)"
