from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from skills.x0.contract import EMBODIMENTS
from skills.x0.poses import check_pose, gripper_value, integrate
from skills.x0.samples import neutral_pose


def _rotation(pose: np.ndarray, start: int, rotation: str) -> Rotation:
    if rotation == "euler_xyz":
        return Rotation.from_euler("xyz", pose[start + 3:start + 6])
    return Rotation.from_quat(pose[start + 3:start + 7])


@pytest.mark.parametrize("name", sorted(EMBODIMENTS))
def test_integration_round_trips_with_scipy(name: str) -> None:
    emb = EMBODIMENTS[name]
    rng = np.random.default_rng(7)
    start = neutral_pose(emb)
    deltas = rng.uniform(-0.02, 0.02, (30, emb.action_dim))
    deltas[:, [a.action[1] - 1 for a in emb.arms]] = 0.4
    trajectory = integrate(start, deltas, emb)
    assert trajectory.shape == (30, emb.pose_dim)
    for arm in emb.arms:
        p0, a0 = arm.pose[0], arm.action[0]
        # positions: cumulative sum of the deltas
        expected = start[p0:p0 + 3] + np.cumsum(deltas[:, a0:a0 + 3], axis=0)
        np.testing.assert_allclose(trajectory[:, p0:p0 + 3], expected, atol=1e-12)
        # rotations: each step's delta is recovered as R_t * R_{t-1}^-1 (world frame, left-multiplied)
        previous = _rotation(start, p0, emb.rotation)
        for step in range(30):
            current = _rotation(trajectory[step], p0, emb.rotation)
            recovered = (current * previous.inv()).as_rotvec()
            np.testing.assert_allclose(recovered, deltas[step, a0 + 3:a0 + 6], atol=1e-9)
            previous = current
    # the start pose is not modified
    np.testing.assert_array_equal(start, neutral_pose(emb))


def test_world_frame_means_left_multiplication() -> None:
    emb = EMBODIMENTS["franka"]
    start = neutral_pose(emb)
    start[3:7] = Rotation.from_euler("z", 90, degrees=True).as_quat()
    deltas = np.zeros((30, 7))
    deltas[0, 3:6] = [np.pi / 2, 0, 0]  # 90 degrees about the world x axis
    result = Rotation.from_quat(integrate(start, deltas, emb)[0, 3:7])
    expected = Rotation.from_euler("x", 90, degrees=True) * Rotation.from_euler("z", 90, degrees=True)
    assert (result * expected.inv()).magnitude() < 1e-9
    wrong = Rotation.from_euler("z", 90, degrees=True) * Rotation.from_euler("x", 90, degrees=True)
    assert (result * wrong.inv()).magnitude() > 0.5


def test_a2d_gripper_is_inverted_and_clipped() -> None:
    emb = EMBODIMENTS["a2d"]
    deltas = np.zeros((30, 14))
    deltas[:, 6] = 0.2
    deltas[:, 13] = 1.5
    trajectory = integrate(neutral_pose(emb), deltas, emb)
    np.testing.assert_allclose(trajectory[:, 7], 0.8)
    np.testing.assert_allclose(trajectory[:, 15], 0.0)


def test_franka_gripper_is_clipped_and_others_are_raw() -> None:
    assert gripper_value(1.7, EMBODIMENTS["franka"]) == 1.0
    assert gripper_value(-0.3, EMBODIMENTS["franka"]) == 0.0
    assert gripper_value(0.25, EMBODIMENTS["franka"]) == 0.25
    assert gripper_value(1.7, EMBODIMENTS["agilex"]) == 1.7
    assert gripper_value(-0.3, EMBODIMENTS["r1lite"]) == -0.3


def test_gripper_is_absolute_not_accumulated() -> None:
    emb = EMBODIMENTS["agilex"]
    deltas = np.zeros((30, 14))
    deltas[:, 6] = 0.3
    trajectory = integrate(neutral_pose(emb), deltas, emb)
    np.testing.assert_allclose(trajectory[:, 6], 0.3)


def test_agilex_accepts_the_nested_pose_and_rejects_a_wrong_length() -> None:
    emb = EMBODIMENTS["agilex"]
    assert check_pose([neutral_pose(emb).tolist()], emb).shape == (14,)
    with pytest.raises(ValueError, match="has 14 values.*got 16"):
        check_pose([0.0] * 16, emb)
    with pytest.raises(ValueError, match="numbers"):
        check_pose(["a"] * 14, emb)
    with pytest.raises(ValueError, match="NaN"):
        check_pose([float("nan")] * 14, emb)
