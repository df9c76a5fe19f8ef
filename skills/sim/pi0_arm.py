"""A simulated arm driven by a pi0 policy over FlagScale's protocol (``skills.pi0``).

For each pick, place, open or close that passes the world's preconditions, :class:`Pi0Arm` asks
the pi0 server for one chunk (an instruction such as "pick up the apple", seeded camera frames,
the arm's current joint state), the client checks that it is 50 rows of the embodiment's action
size, and the arm's joints move to its last row. The sim "executes" it at 50 Hz (scaled by its
speed). The model runs in the pi0 server (FlagScale's, or ``roboos skill pi0 --serve-reference``);
a server that is down or fails makes the skill fail with the reason, and nothing moves.
"""

from __future__ import annotations

import logging

import numpy as np

from skills.errors import SkillFailure
from skills.images import sample_frames
from skills.pi0.client import Pi0Client, Pi0Error
from skills.pi0.protocol import EMBODIMENTS, Pi0ProtocolError, Pi0RequestError, default_embodiment
from skills.sdk import SkillServer
from skills.sim.embodiments import EmbodimentSpec
from skills.sim.x0_arm import Trajectory

__all__ = ["PI0_CONTROL_HZ", "Pi0Arm", "default_pi0_embodiment"]

logger = logging.getLogger(__name__)

PI0_CONTROL_HZ = 50.0  # aloha's control rate: a 50-step chunk is one second
FRAME_SIZE = (160, 120)  # the simulated cameras: small, the model pads and resizes anyway


def default_pi0_embodiment(body: EmbodimentSpec) -> str:
    """aloha for a body with two grippers, franka for one."""
    return default_embodiment(body.body.grippers)


class Pi0Arm:
    """One robot's simulated joints, moved by the chunks of a pi0 server."""

    def __init__(self, client: Pi0Client, *, image_seed: int = 0) -> None:
        self.client = client
        self.embodiment = client.embodiment
        width, height = FRAME_SIZE
        self.frames = sample_frames(self.embodiment.cameras, width=width, height=height, seed=image_seed)
        self.joints = np.zeros(self.embodiment.state_dim)

    @classmethod
    def connect(cls, server_url: str, embodiment: str, *, variant: str = "flagscale", timeout_s: float = 30.0,
                retries: int = 2, robot: str | None = None) -> Pi0Arm:
        """An arm whose chunks come from the pi0 server at ``server_url`` (``robot``: its name, for an
        action server that robots share)."""
        if embodiment not in EMBODIMENTS:
            raise SkillFailure(f"unknown pi0 embodiment {embodiment!r}: expected one of {', '.join(EMBODIMENTS)}")
        try:
            client = Pi0Client(server_url, EMBODIMENTS[embodiment], variant=variant, timeout_s=timeout_s,
                               retries=retries, robot=robot)
        except Pi0RequestError as e:
            raise SkillFailure(str(e)) from e
        logger.info("pi0 arm ready: %s embodiment, model server %s (%s protocol)", embodiment, server_url, variant)
        return cls(client)

    @property
    def description(self) -> str:
        return f"pi0 ({self.embodiment.name}, served at {self.client.server_url})"

    async def move(self, instruction: str) -> Trajectory:
        """Ask pi0 for a chunk and move the joints to its last row."""
        state = self.joints[:self.embodiment.state_dim].tolist()
        try:
            chunk = await self.client.infer(instruction, self.frames, state)
        except (Pi0Error, Pi0ProtocolError, Pi0RequestError) as e:
            raise SkillFailure(f"pi0 could not generate a trajectory for {instruction!r}: {e}") from e
        actions = np.asarray(chunk.actions)
        self.joints = actions[-1].copy()
        return Trajectory(actions, f"{self.client.server_url} ({chunk.round_trip_s * 1000:.0f} ms)", demo=False,
                          model="pi0", rate_hz=PI0_CONTROL_HZ)

    def add_tool(self, server: SkillServer) -> None:
        """Serve ``generate_joint_actions`` (answered by the same pi0 server) on ``server`` too."""
        from skills.pi0.server import add_generate_joint_actions

        add_generate_joint_actions(server, self.client)

    async def close(self) -> None:
        await self.client.close()
