"""Fleet entries driven by an action model: the x0_embodiment key and the household robot that uses it; the pi0 keys."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from scene import SceneError, load_scene
from tests.scene.test_loader import BASE, write


def with_arm(**keys: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["fleet"][0].update(keys)
    return data


def test_x0_embodiment_is_read_for_an_x0_robot(tmp_path: Path) -> None:
    entry = load_scene(write(tmp_path, with_arm(skill="x0", x0_embodiment="franka"))).robot("arm")
    assert (entry.skill, entry.x0_embodiment) == ("x0", "franka")
    assert load_scene(write(tmp_path, with_arm(skill="x0"))).robot("arm").x0_embodiment is None


@pytest.mark.parametrize(("keys", "message"), [
    ({"skill": "x0", "x0_embodiment": "ur5"}, r"fleet\[0\] \(arm\)\.x0_embodiment.*expected one of agilex, franka"),
    ({"x0_embodiment": "franka"}, r"fleet\[0\] \(arm\)\.x0_embodiment.*only for skill x0, but skill is sim"),
    ({"skill": "x0", "x0_embodiment": 7}, r"x0_embodiment: Input should be a valid string"),
])
def test_bad_x0_embodiment_names_the_key(tmp_path: Path, keys: dict[str, Any], message: str) -> None:
    with pytest.raises(SceneError, match=message):
        load_scene(write(tmp_path, with_arm(**keys)))


def test_household_first_task_needs_the_x0_kitchen_arm() -> None:
    household = load_scene("household")
    arm = household.robot("kitchen_arm")
    assert (arm.skill, arm.x0_embodiment, arm.transport) == ("x0", "franka", "http")
    task = household.demo_task()
    assert "milk in fridge" in [str(e) for e in task.expect]
    assert arm.zones == ["kitchen"] and household.robot("rover").start == "kitchen"


def test_pi0_keys_are_read_for_a_pi0_robot(tmp_path: Path) -> None:
    entry = load_scene(write(tmp_path, with_arm(skill="pi0", pi0_embodiment="franka",
                                                pi0_server="http://gpu-box:5000"))).robot("arm")
    assert (entry.skill, entry.pi0_embodiment, entry.pi0_server) == ("pi0", "franka", "http://gpu-box:5000")
    plain = load_scene(write(tmp_path, with_arm(skill="pi0"))).robot("arm")
    assert (plain.pi0_embodiment, plain.pi0_server) == (None, "")


@pytest.mark.parametrize(("keys", "message"), [
    ({"skill": "pi0", "pi0_embodiment": "ur5"}, r"fleet\[0\] \(arm\)\.pi0_embodiment.*expected one of aloha, franka"),
    ({"pi0_server": "http://gpu-box:5000"}, r"fleet\[0\] \(arm\)\.pi0_server.*only for skill pi0, but skill is sim"),
    ({"skill": "pi0", "pi0_server": "gpu-box:5000"}, r"pi0_server.*expected an http:// or https:// URL"),
])
def test_bad_pi0_keys_name_the_key(tmp_path: Path, keys: dict[str, Any], message: str) -> None:
    with pytest.raises(SceneError, match=message):
        load_scene(write(tmp_path, with_arm(**keys)))


def test_the_loader_names_the_action_models_embodiments() -> None:
    from scene.loader import PI0_EMBODIMENTS, X0_EMBODIMENTS
    from skills.pi0.protocol import EMBODIMENTS as pi0
    from skills.x0.contract import EMBODIMENTS as x0

    assert sorted(X0_EMBODIMENTS) == sorted(x0) and sorted(PI0_EMBODIMENTS) == sorted(pi0)
