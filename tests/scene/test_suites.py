"""The brain benchmark suites of the rich scenes (deploy/suites/brain/<scene>.yaml) name only what
their scene holds, say what they expect the way the world model records it, and cover every kind
of case: chains of three robots, cargo, doors, nested containers and tasks to refuse."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from deploy.brain_suite import SUITE_DIR, Suite, load_suite, suite_paths
from scene import load_scene

RICH = ["apartment", "warehouse"]
TAGS = {"chain3", "carrier", "door", "nested", "handoff", "refuse", "paraphrase", "multi"}
AT_LEAST = {"chain3": 6, "carrier": 6, "door": 6, "nested": 6, "refuse": 8, "multi": 3}
PARENT_KINDS = {"on": "furniture", "in": "container", "held_by": "robot"}


def suite(name: str) -> Suite:
    return load_suite(SUITE_DIR / f"{name}.yaml")


@pytest.mark.parametrize("name", RICH)
def test_suite_covers_every_kind_of_case(name: str) -> None:
    cases = suite(name).cases
    assert suite(name).scene == name and len(cases) >= 60
    assert len({c.text for c in cases}) == len(cases)
    tags = Counter(t for c in cases for t in c.tags)
    assert set(tags) <= TAGS
    assert all(tags[tag] >= least for tag, least in AT_LEAST.items()), tags


@pytest.mark.parametrize("name", RICH)
def test_suite_expects_what_the_scene_can_hold(name: str) -> None:
    kinds = {n.name: n.kind for n in load_scene(name).world_nodes()}
    for case in suite(name).cases:
        assert case.must_refuse == ("refuse" in case.tags), case.id
        if case.must_refuse:
            assert case.refuse and case.best_actions is None, case.id
            continue
        assert case.expect and case.best_actions, case.id
        for expectation in case.expect:
            assert kinds.get(expectation.node) == "object", f"{case.id}: {expectation.node} is not an object"
            wanted = PARENT_KINDS[expectation.relation]
            assert kinds.get(expectation.parent) == wanted, f"{case.id}: {expectation} needs {wanted}"


@pytest.mark.parametrize("path", suite_paths(SUITE_DIR), ids=lambda p: p.stem)
def test_every_suite_names_only_what_its_scene_holds(path: Path) -> None:
    loaded = load_suite(path)
    kinds = {n.name: n.kind for n in load_scene(loaded.scene).world_nodes()}
    for case in loaded.cases:
        for expectation in case.expect:
            assert expectation.node in kinds, f"{case.id}: no node {expectation.node}"
            assert expectation.parent in kinds, f"{case.id}: no node {expectation.parent}"
