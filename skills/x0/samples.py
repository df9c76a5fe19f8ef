"""Reproducible sample inputs for an embodiment: camera images and a neutral start pose.

Used by ``roboos x0 compare``, ``roboos bench x0``, tests, and simulated robots that have no
cameras but want to exercise X0 with well-formed requests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skills.images import encode_image, smooth_images
from skills.x0.contract import IMAGE_SIZE, Embodiment

__all__ = ["neutral_pose", "sample_images", "sample_request"]


def sample_images(embodiment: Embodiment, seed: int = 0) -> dict[str, Any]:
    """One smooth, seeded 320x240 RGB PIL image per camera key."""
    width, height = IMAGE_SIZE
    return smooth_images(embodiment.image_keys, width, height, seed)


def neutral_pose(embodiment: Embodiment) -> np.ndarray:
    """Arms 30 cm ahead, 20 cm up, identity rotation, gripper open (1)."""
    pose = np.zeros(embodiment.pose_dim)
    for side, arm in zip((-1.0, 1.0), embodiment.arms):
        start, stop = arm.pose
        pose[start:start + 3] = (0.3, 0.2 * side if len(embodiment.arms) == 2 else 0.0, 0.2)
        if embodiment.rotation == "quat_xyzw":
            pose[start + 6] = 1.0
        pose[stop - 1] = 1.0
    return pose


def sample_request(embodiment: Embodiment, instruction: str = "pick up the cup", seed: int = 0) -> dict[str, Any]:
    """A complete ``/infer`` / ``generate_actions`` request body."""
    return {
        "instruction": instruction,
        "images": {k: encode_image(v) for k, v in sample_images(embodiment, seed).items()},
        "eef_pose": neutral_pose(embodiment).tolist(),
    }
