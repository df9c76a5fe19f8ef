"""End-effector pose integration: a chunk of world-frame deltas -> absolute pose trajectory.

Per step and per arm: ``position += delta[0:3]``; ``rotation = Rotation.from_rotvec(delta[3:6]) *
rotation`` (world frame, left-multiplied); the gripper is absolute, mapped per embodiment. Each
step appends a copy of the whole pose vector. Rotations are scipy ``'xyz'`` Euler angles (agilex) or
``xyzw`` quaternions (franka, a2d, r1lite).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from skills.x0.contract import Embodiment

__all__ = ["check_pose", "gripper_value", "integrate"]


def check_pose(eef_pose: object, embodiment: Embodiment) -> np.ndarray:
    """The request's pose as a float vector; ValueError saying the expected layout otherwise.

    Accepts a flat list or the ``[[...]]`` nesting agilex clients send.
    """
    try:
        pose = np.asarray(eef_pose, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as e:
        raise ValueError(f"eef_pose must be a list of numbers: {e}") from e
    if pose.size != embodiment.pose_dim:
        raise ValueError(
            f"eef_pose for {embodiment.name} has {embodiment.pose_dim} values "
            f"({_layout(embodiment)}), got {pose.size}"
        )
    if not np.all(np.isfinite(pose)):
        raise ValueError("eef_pose holds a NaN or infinite value")
    return pose


def integrate(eef_pose: np.ndarray, deltas: np.ndarray, embodiment: Embodiment) -> np.ndarray:
    """Absolute poses (horizon, pose_dim) from a start pose and (horizon, action_dim) deltas."""
    pose = check_pose(eef_pose, embodiment).copy()
    deltas = np.asarray(deltas, dtype=np.float64)
    if deltas.ndim != 2 or deltas.shape[1] != embodiment.action_dim:
        raise ValueError(f"deltas for {embodiment.name} are (horizon, {embodiment.action_dim}), got {deltas.shape}")
    rotations = [_rotation(pose, arm.pose[0], embodiment) for arm in embodiment.arms]
    trajectory = np.empty((deltas.shape[0], pose.size))
    for step, delta in enumerate(deltas):
        for index, arm in enumerate(embodiment.arms):
            arm_delta = delta[arm.action[0]:arm.action[1]]
            start, stop = arm.pose
            pose[start:start + 3] += arm_delta[0:3]
            rotations[index] = Rotation.from_rotvec(arm_delta[3:6]) * rotations[index]
            pose[start + 3:stop - 1] = _rotation_values(rotations[index], embodiment)
            pose[stop - 1] = gripper_value(arm_delta[6], embodiment)
        trajectory[step] = pose
    return trajectory


def gripper_value(model_value: float, embodiment: Embodiment) -> float:
    """The robot's absolute gripper command for the model's value."""
    if embodiment.gripper == "clip":
        return float(np.clip(model_value, 0.0, 1.0))
    if embodiment.gripper == "invert":
        return float(np.clip(1.0 - model_value, 0.0, 1.0))
    return float(model_value)


def _rotation(pose: np.ndarray, start: int, embodiment: Embodiment) -> Rotation:
    if embodiment.rotation == "euler_xyz":
        return Rotation.from_euler("xyz", pose[start + 3:start + 6])
    return Rotation.from_quat(pose[start + 3:start + 7])


def _rotation_values(rotation: Rotation, embodiment: Embodiment) -> np.ndarray:
    if embodiment.rotation == "euler_xyz":
        return rotation.as_euler("xyz")
    return rotation.as_quat()


def _layout(embodiment: Embodiment) -> str:
    per_arm = "x,y,z,rx,ry,rz,gripper" if embodiment.rotation == "euler_xyz" else "x,y,z,qx,qy,qz,qw,gripper"
    arms = "right arm then left arm, " if len(embodiment.arms) == 2 else ""
    return f"{arms}{per_arm} per arm"
