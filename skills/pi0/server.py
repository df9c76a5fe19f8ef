"""The pi0 skill server: an MCP tool ``generate_joint_actions`` that asks a pi0 server for a chunk.

The model runs elsewhere (FlagScale's pi0 server on a GPU box, or ``roboos skill pi0
--serve-reference``); this server is its client on the robot's side, so a slaver reaches pi0 like
any other skill, over stdio or streamable HTTP. A failure (server down, HTML 500, a chunk of the
wrong shape, a request the server refused) comes back as a failed tool call whose message says
which, never as a chunk of zeros.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import Field

from skills.errors import SkillFailure
from skills.pi0.client import Pi0Chunk, Pi0Client, Pi0Error
from skills.pi0.protocol import Pi0ProtocolError, Pi0RequestError
from skills.sdk import SkillResult, SkillServer
from skills.serving import DEFAULT_ROBOT, ActionScheduler, ActionServerBusy, SharingOptions

__all__ = ["JointActionResult", "add_generate_joint_actions", "build_pi0_skill_server"]


class JointActionResult(SkillResult):
    """A pi0 action chunk: joint targets, one row per control step."""

    actions: list[list[float]] = Field(description="horizon rows of action_dim joint targets (unnormalised)")
    embodiment: str
    server: str = Field(description="The pi0 server that answered")
    timings: dict[str, float] = Field(default_factory=dict, description="round_trip_s, and model_s when reported")


def build_pi0_skill_server(client: Pi0Client, name: str | None = None,
                           sharing: SharingOptions | None = None) -> SkillServer:
    """A SkillServer with the ``generate_joint_actions`` tool; the client closes when the server stops.

    Robots that share this server queue for the one request the pi0 server takes at a time by
    ``sharing`` (budgets, priorities, back-pressure; see skills.serving).
    """
    emb = client.embodiment

    @asynccontextmanager
    async def closing_client() -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.close()

    server = SkillServer(
        name or f"pi0-{emb.name}",
        embodiment=emb.name,
        capabilities={"mobile": False, "arms": 2 if emb.action_dim >= 14 else 1},
        instructions=(f"pi0 joint-action generation for the {emb.name} embodiment ({emb.description}): state "
                      f"has {emb.state_dim} values, each action row {emb.action_dim}; cameras "
                      f"{', '.join(emb.cameras)}. Model served by {client.server_url}."),
        lifespan=closing_client,
    )
    add_generate_joint_actions(server, client, sharing)
    return server


def add_generate_joint_actions(server: SkillServer, client: Pi0Client, sharing: SharingOptions | None = None) -> None:
    """Add the ``generate_joint_actions`` tool, answered by ``client``'s pi0 server, to ``server``."""
    Request = tuple[str, dict[str, str], list[float], list[float] | None]

    async def run_batch(requests: list[Request]) -> list[Pi0Chunk]:
        return [await client.infer(*request) for request in requests]  # the protocol takes one at a time

    scheduler: ActionScheduler[Request, Pi0Chunk] = (sharing or SharingOptions()).scheduler(run_batch)

    @server.skill(kind="generate_actions")
    async def generate_joint_actions(instruction: str, images: dict[str, str], state: list[float],
                                     eef_pose: list[float] | None = None,
                                     robot: str | None = None) -> JointActionResult:
        """Generate a chunk of joint targets (pi0) for an instruction.

        images maps camera roles (base, left_wrist, right_wrist) or the server's own camera keys to
        base64 JPEG/PNG files; at least one is needed, the model pads the others. state is the
        current joint state in this embodiment's layout. eef_pose is sent only to servers of the
        legacy protocol. robot names the caller where robots share this server (its budget and
        priority). Returns the chunk (horizon rows of action_dim values) and timings; a busy
        server says so, with when to retry.
        """
        scheduler.start()
        try:
            chunk = await scheduler.submit(robot or DEFAULT_ROBOT, (instruction, images, state, eef_pose))
        except (Pi0Error, Pi0RequestError, Pi0ProtocolError, ActionServerBusy) as e:
            raise SkillFailure(str(e)) from e
        return _result(client, chunk)


def _result(client: Pi0Client, chunk: Pi0Chunk) -> JointActionResult:
    emb = client.embodiment
    timings = {"round_trip_s": chunk.round_trip_s}
    if chunk.model_s is not None:
        timings["model_s"] = chunk.model_s
    message = (f"generated {len(chunk.actions)} {emb.name} joint targets ({emb.action_dim} per step) "
               f"with pi0 at {client.server_url} in {chunk.round_trip_s * 1000:.0f} ms")
    return JointActionResult(message=message, actions=chunk.actions, embodiment=emb.name,
                             server=client.server_url, timings=timings)
