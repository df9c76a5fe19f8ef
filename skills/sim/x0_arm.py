"""A simulated arm driven by RoboBrain-X0: manipulation skills move it along X0 trajectories.

For each pick, place, open or close that passes the world's preconditions, :class:`X0Arm` asks
the X0 model for one chunk (an instruction such as "pick up the apple", the embodiment's sample
camera images, the arm's current end-effector pose), checks that the chunk is 30 finite poses of
the embodiment's pose size, and moves the simulated end effector to its last pose. The sim then
"executes" it for 30 poses at 30 Hz (scaled by its speed). skills.x0, and so torch, is imported
only when an arm is built, so the plain simulator never loads them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
import numpy as np

from skills.errors import SkillError, SkillFailure
from skills.sdk import SkillServer
from skills.sim.embodiments import EmbodimentSpec

__all__ = ["CONTROL_HZ", "Arm", "Trajectory", "X0Arm", "default_x0_embodiment"]

logger = logging.getLogger(__name__)

CONTROL_HZ = 30.0  # X0 chunks are 30 poses for one second


class ActionModel(Protocol):
    """What X0Arm needs of a model: skills.x0.model.X0Model, or a test double."""

    embodiment: Any  # skills.x0.contract.Embodiment

    def infer(self, instruction: str, images: dict[str, Any], eef_pose: Any) -> Any: ...


@dataclass(frozen=True)
class Trajectory:
    """A checked action chunk (X0: absolute end-effector poses; pi0: joint targets) and what produced it."""

    poses: np.ndarray  # (steps, values per step)
    backend: str
    demo: bool
    model: str = "X0"
    rate_hz: float = CONTROL_HZ  # steps per second of executed motion

    @property
    def duration_s(self) -> float:
        return len(self.poses) / self.rate_hz

    def describe(self) -> str:
        weights = ", untrained demo weights" if self.demo else ""
        return f"{self.model} trajectory: {len(self.poses)} poses, backend {self.backend}{weights}"


class Arm(Protocol):
    """What a simulated robot needs of an action-model arm (X0Arm, skills.sim.pi0_arm.Pi0Arm)."""

    @property
    def description(self) -> str: ...

    async def move(self, instruction: str) -> Trajectory: ...

    def add_tool(self, server: SkillServer) -> None: ...

    async def close(self) -> None: ...


def default_x0_embodiment(body: EmbodimentSpec) -> str:
    """The X0 embodiment closest to a simulated body: franka for one arm, agilex or a2d for two."""
    if body.body.grippers == 1:
        return "franka"
    return "a2d" if body.type == "humanoid" else "agilex"


class X0Arm:
    """One robot's simulated end effector, moved by an X0 model."""

    def __init__(self, model: ActionModel, *, image_seed: int = 0) -> None:
        from skills.x0.samples import neutral_pose, sample_images

        self.model = model
        self.embodiment = model.embodiment
        self.images = sample_images(self.embodiment, image_seed)
        self.pose: np.ndarray = neutral_pose(self.embodiment)

    @classmethod
    def load(cls, embodiment: str, model_path: str | Path | None = None, *,
             cache_dir: str | Path | None = None, seed: int = 0) -> X0Arm:
        """Load a checkpoint, or build and load the demo model when ``model_path`` is None."""
        from skills.x0.demo_model import build_demo_checkpoint
        from skills.x0.model import X0Error, X0Model, X0Options

        try:
            path = model_path if model_path is not None else build_demo_checkpoint(cache_dir, seed=seed)
            model = X0Model.load(X0Options(model_path=Path(path), embodiment=embodiment, seed=seed))
        except (X0Error, ValueError, OSError) as e:
            raise SkillError(f"cannot load the X0 model for {embodiment}: {e}") from e
        logger.info("X0 arm ready: %s embodiment, model %s", embodiment, path)
        return cls(model)

    @property
    def description(self) -> str:
        return f"RoboBrain-X0 ({self.embodiment.name})"

    async def close(self) -> None:
        """Nothing to release: the model lives in this process."""

    @property
    def expected_shape(self) -> tuple[int, int]:
        from skills.x0.contract import HORIZON

        return HORIZON, self.embodiment.pose_dim

    async def move(self, instruction: str) -> Trajectory:
        """Ask X0 for a chunk (in a worker thread), check it, and move the end effector to its end."""
        from skills.x0.codec import ActionDecodeError
        from skills.x0.model import X0Error

        try:
            result = await anyio.to_thread.run_sync(self.model.infer, instruction, self.images, self.pose.copy())
        except (X0Error, ActionDecodeError, ValueError) as e:
            raise SkillFailure(f"X0 could not generate a trajectory for {instruction!r}: {e}") from e
        trajectory = Trajectory(self._checked(result.eepose, instruction), result.backend.name, bool(result.demo))
        self.pose = trajectory.poses[-1].copy()
        return trajectory

    def _checked(self, eepose: Any, instruction: str) -> np.ndarray:
        poses = np.asarray(eepose, dtype=float)
        if poses.shape != self.expected_shape:
            raise SkillFailure(f"X0 returned a trajectory of shape {poses.shape} for {instruction!r}, expected "
                               f"{self.expected_shape} ({self.embodiment.name} poses): not executed")
        if not np.isfinite(poses).all():
            bad = int((~np.isfinite(poses).all(axis=1)).sum())
            raise SkillFailure(f"X0 returned a trajectory with non-finite values in {bad} of {len(poses)} poses "
                               f"for {instruction!r}: not executed")
        return poses

    def add_tool(self, server: SkillServer) -> None:
        """Serve this model's ``generate_actions`` tool on ``server`` too."""
        from skills.x0.server import X0Service, add_generate_actions

        add_generate_actions(server, X0Service(self.model))
