"""A simulated arm driven by RoboBrain-X0: trajectories checked, executed, and reported."""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from memory import SharedMemory
from skills.sim import X0Arm, build_arg_parser, default_x0_embodiment, embodiment_spec
from skills.x0.contract import EMBODIMENTS as X0_EMBODIMENTS
from skills.x0.samples import neutral_pose
from tests.skills.conftest import SimClient

pytestmark = pytest.mark.anyio


class ScriptedModel:
    """A test double of X0Model.infer: returns the poses it was given and records the requests."""

    def __init__(self, poses: np.ndarray, embodiment: str = "franka") -> None:
        self.embodiment = X0_EMBODIMENTS[embodiment]
        self.poses = poses
        self.requests: list[tuple[str, list[str], np.ndarray]] = []

    def infer(self, instruction: str, images: dict[str, Any], eef_pose: Any) -> SimpleNamespace:
        self.requests.append((instruction, sorted(images), np.asarray(eef_pose)))
        return SimpleNamespace(eepose=self.poses, backend=SimpleNamespace(name="scripted"), demo=False)


def smooth_poses(rows: int = 30, dim: int = 8) -> np.ndarray:
    poses = np.tile(neutral_pose(X0_EMBODIMENTS["franka"]), (rows, 1))[:, :dim]
    poses[:, 0] += np.linspace(0.0, 0.05, rows)
    return poses


@pytest.fixture(scope="module")
def demo_arm_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo X0 model for franka, built in a fresh cache and loaded once."""
    return X0Arm.load("franka", cache_dir=tmp_path_factory.mktemp("x0-cache")).model


@pytest.mark.model
async def test_pick_follows_a_demo_x0_trajectory(demo_arm_model: Any, sim_robot: SimClient,
                                                 world: SharedMemory) -> None:
    arm = X0Arm(demo_arm_model)
    async with sim_robot("arm", "fixed_single_arm", "kitchen", arm=arm) as client:
        kinds = {s.name: s.semantics.kind for s in await client.list_skills()}
        outcome = await client.call("pick", {"object": "apple"})
    assert outcome.ok, outcome.message
    assert outcome.message == ("arm picked up apple from kitchen_table "
                               "(X0 trajectory: 30 poses, backend torch, untrained demo weights)")
    assert [(e.op, e.node, e.parent, e.relation) for e in outcome.effects] == [("move", "apple", "arm", "held_by")]
    assert kinds["generate_actions"] == "generate_actions" and kinds["pick"] == "pick"
    assert arm.pose.shape == (8,) and np.isfinite(arm.pose).all()
    assert not np.allclose(arm.pose, neutral_pose(arm.embodiment))


async def test_skill_is_worded_as_the_instruction_and_the_pose_carries_over(sim_robot: SimClient,
                                                                            world: SharedMemory) -> None:
    poses = smooth_poses()
    model = ScriptedModel(poses)
    arm = X0Arm(model)
    async with sim_robot("arm", "fixed_single_arm", "kitchen", arm=arm, speed=0.2) as client:
        started = time.monotonic()
        opened = await client.call("open", {"target": "fridge"})
        elapsed = time.monotonic() - started
        await world.scene.apply(opened.effects)
        picked = await client.call("pick", {"object": "cheese"})
        await world.scene.apply(picked.effects)
        placed = await client.call("place", {"object": "cheese", "target": "kitchen_table"})
    assert opened.ok and picked.ok and placed.ok, (opened.message, picked.message, placed.message)
    assert opened.message == "the fridge is open (X0 trajectory: 30 poses, backend scripted)"
    assert [r[0] for r in model.requests] == ["open the fridge", "pick up the cheese",
                                              "put the cheese on the kitchen_table"]
    assert model.requests[0][1] == ["cam_front", "cam_wrist"]
    np.testing.assert_allclose(model.requests[0][2], neutral_pose(arm.embodiment))
    np.testing.assert_allclose(model.requests[1][2], poses[-1])
    assert elapsed >= 0.2  # 30 poses at 30 Hz, times speed 0.2


@pytest.mark.parametrize(("poses", "reason"), [
    (smooth_poses(rows=29), r"shape \(29, 8\).*expected \(30, 8\)"),
    (smooth_poses(dim=7), r"shape \(30, 7\).*expected \(30, 8\)"),
    (np.where(np.arange(30)[:, None] == 12, np.nan, smooth_poses()), "non-finite values in 1 of 30 poses"),
    (np.full((30, 8), np.inf), "non-finite values in 30 of 30 poses"),
])
async def test_a_bad_trajectory_fails_with_no_effects(poses: np.ndarray, reason: str, sim_robot: SimClient,
                                                      world: SharedMemory) -> None:
    arm = X0Arm(ScriptedModel(poses))
    async with sim_robot("arm", "fixed_single_arm", "kitchen", arm=arm) as client:
        outcome = await client.call("pick", {"object": "apple"})
    assert not outcome.ok and outcome.effects == []
    assert outcome.message.endswith("not executed") and "'pick up the apple'" in outcome.message
    assert re.search(reason, outcome.message), outcome.message
    assert (await world.scene.snapshot()).nodes["apple"].parent == "kitchen_table"
    np.testing.assert_allclose(arm.pose, neutral_pose(arm.embodiment))


async def test_preconditions_come_before_x0(sim_robot: SimClient, world: SharedMemory) -> None:
    model = ScriptedModel(smooth_poses())
    async with sim_robot("arm", "fixed_single_arm", "kitchen", arm=X0Arm(model)) as client:
        outcome = await client.call("pick", {"object": "cheese"})
    assert not outcome.ok and outcome.message == "cheese is in the fridge, which is closed: open the fridge first"
    assert model.requests == []


def test_x0_embodiment_defaults_and_flags() -> None:
    assert default_x0_embodiment(embodiment_spec("fixed_single_arm")) == "franka"
    assert default_x0_embodiment(embodiment_spec("wheeled_dual_arm")) == "agilex"
    assert default_x0_embodiment(embodiment_spec("humanoid")) == "a2d"
    base = ["--robot", "arm", "--embodiment", "fixed_single_arm", "--redis-url", "redis://127.0.0.1:1"]
    args = build_arg_parser().parse_args(base + ["--x0-model", "/models/X0", "--x0-embodiment", "agilex"])
    assert (args.x0_model, args.x0_embodiment, args.x0_demo_model) == (Path("/models/X0"), "agilex", False)
    with pytest.raises(SystemExit):
        build_arg_parser().parse_args(base + ["--x0-model", "/m", "--x0-demo-model"])
