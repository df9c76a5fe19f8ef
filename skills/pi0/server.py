"""The pi0 skill server: an MCP tool ``generate_joint_actions`` that asks a pi0 server for a chunk.

The model runs elsewhere (FlagScale's pi0 server on a GPU box, or ``roboos skill pi0
--serve-reference``); this server is its client on the robot's side, so a slaver reaches pi0 like
any other skill, over stdio or streamable HTTP. A failure (server down, HTML 500, a chunk of the
wrong shape, a request the server refused) comes back as a failed tool call whose message says
which, never as a chunk of zeros.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from skills.errors import SkillFailure
from skills.pi0.client import INFER_PATH, MODEL_TIME_HEADER, Pi0Chunk, Pi0Client, Pi0Error
from skills.pi0.protocol import Pi0ProtocolError, Pi0RequestError
from skills.sdk import SkillResult, SkillServer
from skills.serving import DEFAULT_ROBOT, ActionScheduler, ActionServerBusy, SharingOptions, busy_response

__all__ = ["JointActionResult", "add_generate_joint_actions", "build_pi0_skill_server"]


class JointActionResult(SkillResult):
    """A pi0 action chunk: joint targets, one row per control step."""

    actions: list[list[float]] = Field(description="horizon rows of action_dim joint targets (unnormalised)")
    embodiment: str
    server: str = Field(description="The pi0 server that answered")
    timings: dict[str, float] = Field(default_factory=dict, description="round_trip_s, and model_s when reported")


def build_pi0_skill_server(client: Pi0Client, name: str | None = None,
                           sharing: SharingOptions | None = None) -> SkillServer:
    """A SkillServer with the ``generate_joint_actions`` tool and a relaying ``POST /infer``; the
    client closes when the server stops.

    Robots that share this server queue for the one request the pi0 server takes at a time by
    ``sharing`` (budgets, priorities, back-pressure; see skills.serving), whichever way they come:
    the MCP tool, or ``/infer`` in the pi0 protocol (a ``robot`` field names the robot; the body
    goes on as it came, the answer comes back as it came).
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
    scheduler = _scheduler(sharing)
    add_generate_joint_actions(server, client, scheduler)
    _add_relay(server, client, scheduler)
    return server


Call = Callable[[], Awaitable[Any]]


def _scheduler(sharing: SharingOptions | None) -> ActionScheduler[Call, Any]:
    async def run_batch(calls: list[Call]) -> list[Any]:
        return [await call() for call in calls]  # the protocol takes one request at a time

    return (sharing or SharingOptions()).scheduler(run_batch)


def add_generate_joint_actions(server: SkillServer, client: Pi0Client,
                               scheduler: ActionScheduler[Call, Any] | None = None) -> None:
    """Add the ``generate_joint_actions`` tool, answered by ``client``'s pi0 server, to ``server``
    (queued by ``scheduler``; default one of its own with the default sharing)."""
    queue = scheduler or _scheduler(None)

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
        queue.start()
        try:
            chunk = await queue.submit(robot or DEFAULT_ROBOT,
                                       lambda: client.infer(instruction, images, state, eef_pose))
        except (Pi0Error, Pi0RequestError, Pi0ProtocolError, ActionServerBusy) as e:
            raise SkillFailure(str(e)) from e
        return _result(client, chunk)


def _add_relay(server: SkillServer, client: Pi0Client, scheduler: ActionScheduler[Call, Any]) -> None:
    @server.mcp.custom_route(INFER_PATH, methods=["POST"])
    async def infer(request: Request) -> Response:
        body = await request.body()
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        robot = payload.get("robot") if isinstance(payload, dict) else None
        if robot is not None and (not isinstance(robot, str) or not robot):
            return JSONResponse({"success": False, "error": "robot must be a non-empty string"}, status_code=400)
        scheduler.start()
        try:
            answer = await scheduler.submit(robot or DEFAULT_ROBOT, lambda: client.forward(body))
        except ActionServerBusy as e:
            return busy_response(e)
        except Pi0Error as e:  # the pi0 server behind this one is down or timed out
            return JSONResponse({"success": False, "error": str(e)}, status_code=502)
        return Response(answer.content, status_code=answer.status_code,
                        media_type=answer.headers.get("content-type"), headers=_passed_headers(answer))


def _passed_headers(answer: Any) -> dict[str, str]:
    value = answer.headers.get(MODEL_TIME_HEADER)
    return {MODEL_TIME_HEADER: value} if value is not None else {}


def _result(client: Pi0Client, chunk: Pi0Chunk) -> JointActionResult:
    emb = client.embodiment
    timings = {"round_trip_s": chunk.round_trip_s}
    if chunk.model_s is not None:
        timings["model_s"] = chunk.model_s
    message = (f"generated {len(chunk.actions)} {emb.name} joint targets ({emb.action_dim} per step) "
               f"with pi0 at {client.server_url} in {chunk.round_trip_s * 1000:.0f} ms")
    return JointActionResult(message=message, actions=chunk.actions, embodiment=emb.name,
                             server=client.server_url, timings=timings)
