"""The X0 skill server: an MCP tool ``generate_actions`` plus RoboBrain-X0's per-robot HTTP API.

Over streamable HTTP one port serves both: MCP at ``/mcp`` and ``GET /health``, ``GET /info``,
``POST /infer`` with the same JSON as RoboBrain-X0's servers, so robot-side clients work unchanged.
Bad requests get ``400 {"success": false, "error": ...}``; an output that does not decode gets 500
with the reason (never a zero chunk). Generation runs in a worker thread, one at a time.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from skills.errors import SkillFailure
from skills.sdk import SkillResult, SkillServer
from skills.serving import DEFAULT_ROBOT, ActionScheduler, ActionServerBusy, SharingOptions, busy_response, describe
from skills.x0.codec import ActionDecodeError
from skills.x0.model import X0Error, X0Model, X0RequestError, X0Result
from skills.x0.processor import decode_image

__all__ = ["SERVICE_VERSION", "ActionResult", "X0Service", "add_generate_actions", "build_skill_server"]

logger = logging.getLogger(__name__)

SERVICE_VERSION = "1.0.0"
ENDPOINTS = {"health": "GET /health", "info": "GET /info", "infer": "POST /infer", "mcp": "/mcp"}


class ActionResult(SkillResult):
    """A generated action chunk: 30 absolute end-effector poses."""

    subtask: str | None = Field(default=None, description="The immediate subtask (subtask mode)")
    eepose: list[list[float]] = Field(description="30 absolute end-effector pose vectors")
    embodiment: str
    backend: dict[str, str] = Field(description="The backend that ran: name, device, reason")
    timings: dict[str, float] = Field(default_factory=dict)
    demo: bool = Field(default=False, description="True when the weights are the untrained demo model")
    speculation: dict[str, Any] | None = Field(default=None, description="Drafted and accepted tokens, when "
                                               "decoding speculatively (the same tokens as greedy decoding)")


class X0Service:
    """Requests -> X0Model, shared by the MCP tool and the HTTP API, and by the robots that call
    them: requests queue in an :class:`~skills.serving.ActionScheduler` (``sharing``: budgets,
    priorities, back-pressure); the model runs one request at a time in a worker thread."""

    def __init__(self, model: X0Model, sharing: SharingOptions | None = None) -> None:
        self.model = model
        self.embodiment = model.embodiment
        self.scheduler: ActionScheduler[tuple[str, str, dict[str, Any], Any], X0Result] = (
            (sharing or SharingOptions()).scheduler(self._run_batch))
        self._previous: dict[str, list[int]] = {}  # each robot's last chunk's tokens: its next drafts

    async def _run_batch(self, requests: list[tuple[str, str, dict[str, Any], Any]]) -> list[X0Result]:
        return [await anyio.to_thread.run_sync(self._infer, *request) for request in requests]

    def _infer(self, robot: str, instruction: str, images: dict[str, Any], eef_pose: Any) -> X0Result:
        result = self.model.infer(instruction, images, eef_pose, previous=self._previous.get(robot, []))
        self._previous[robot] = result.generated
        return result

    async def generate(self, instruction: str, images: dict[str, str], eef_pose: Any,
                       embodiment: str | None = None, robot: str | None = None) -> X0Result:
        """Validate and decode the images, then queue the model call for ``robot``
        (``ActionServerBusy`` when the server cannot take it now)."""
        if embodiment is not None and embodiment != self.embodiment.name:
            raise X0RequestError(f"unknown embodiment {embodiment!r} for this server, it serves {self.embodiment.name!r}")
        if not isinstance(instruction, str):
            raise X0RequestError("instruction must be a string")
        if not isinstance(images, dict):
            raise X0RequestError(f"images must be an object of camera key -> base64 image ({', '.join(self.embodiment.image_keys)})")
        if robot is not None and (not isinstance(robot, str) or not robot):
            raise X0RequestError("robot must be a non-empty string")
        decoded = {key: self._image(key, images) for key in self.embodiment.image_keys if key in images}
        self.scheduler.start()  # on the server's loop, at its first request
        robot = robot or DEFAULT_ROBOT
        return await self.scheduler.submit(robot, (robot, instruction, decoded, eef_pose))

    def _image(self, key: str, images: dict[str, Any]) -> Any:
        value = images[key]
        if not isinstance(value, str):
            raise X0RequestError(f"image {key!r} must be a base64 string")
        try:
            return decode_image(value, bgr=self.embodiment.bgr)
        except ValueError as e:
            raise X0RequestError(f"image {key!r}: {e}") from e

    def health(self) -> dict[str, Any]:
        return {
            "status": "healthy",
            "model_loaded": True,
            "subtask_mode": self.model.options.mode == "subtask",
            "model_path": str(self.model.options.model_path),
            "gpu_info": _gpu_info(),
            **self.model.describe(),
        }

    def info(self) -> dict[str, Any]:
        return {
            "service_name": f"RoboOS X0 ({self.embodiment.name})",
            "version": SERVICE_VERSION,
            "subtask_mode": self.model.options.mode == "subtask",
            "model_path": str(self.model.options.model_path),
            "endpoints": ENDPOINTS,
            "image_keys": list(self.embodiment.image_keys),
            "eef_pose_length": self.embodiment.pose_dim,
            "robots": describe(self.scheduler.stats()),
            **self.model.describe(),
        }

    def action_result(self, result: X0Result) -> ActionResult:
        weights = "; untrained demo weights" if result.demo else ""
        subtask = f" for subtask {result.subtask!r}" if result.subtask else ""
        message = (f"generated {len(result.eepose)} {self.embodiment.name} end-effector poses{subtask} "
                   f"with {result.backend.name} on {result.backend.device}{weights}")
        return ActionResult(message=message, subtask=result.subtask, eepose=result.eepose.tolist(),
                            embodiment=self.embodiment.name, backend=result.backend.to_dict(),
                            timings=result.timings, demo=result.demo, speculation=result.speculation)


def build_skill_server(service: X0Service, name: str | None = None) -> SkillServer:
    """A SkillServer with the ``generate_actions`` tool and the X0 HTTP routes."""
    emb = service.embodiment
    server = SkillServer(
        name or f"x0-{emb.name}",
        embodiment=emb.name,
        capabilities={"mobile": False, "arms": len(emb.arms)},
        instructions=f"RoboBrain-X0 action generation for the {emb.name} embodiment.",
    )
    add_generate_actions(server, service)
    _add_http_routes(server, service)
    return server


def add_generate_actions(server: SkillServer, service: X0Service) -> None:
    """Add the ``generate_actions`` tool, served by ``service``, to ``server``."""

    @server.skill(kind="generate_actions")
    async def generate_actions(instruction: str, images: dict[str, str], eef_pose: list[float],
                               robot: str | None = None) -> ActionResult:
        """Generate a 1-second (30-step) end-effector pose trajectory for an instruction.

        images maps each camera key of this embodiment to a base64 image; eef_pose is the current
        end-effector pose in this embodiment's layout; robot names the caller where robots share
        this server (its budget and priority). Returns the subtask (subtask mode), 30 absolute
        poses, the backend that ran and timings. A busy server says so, with when to retry.
        """
        try:
            return service.action_result(await service.generate(instruction, images, eef_pose, robot=robot))
        except (X0Error, ActionDecodeError, ValueError, ActionServerBusy) as e:
            raise SkillFailure(str(e)) from e


def _add_http_routes(server: SkillServer, service: X0Service) -> None:
    @server.mcp.custom_route("/health", methods=["GET"])
    async def health(request: Request) -> JSONResponse:
        return JSONResponse(service.health())

    @server.mcp.custom_route("/info", methods=["GET"])
    async def info(request: Request) -> JSONResponse:
        return JSONResponse(service.info())

    @server.mcp.custom_route("/infer", methods=["POST"])
    async def infer(request: Request) -> JSONResponse:
        return await _infer(service, request)


async def _infer(service: X0Service, request: Request) -> JSONResponse:
    started = time.perf_counter()
    try:
        payload = await request.json()
    except ValueError:
        return _error(400, "request body must be JSON")
    if not isinstance(payload, dict):
        return _error(400, "request body must be a JSON object with eef_pose, instruction and images")
    missing = [key for key in ("eef_pose", "instruction", "images") if key not in payload]
    if missing:
        return _error(400, f"missing field(s): {', '.join(missing)} (needs eef_pose, instruction, images)")
    try:
        result = await service.generate(payload["instruction"], payload["images"], payload["eef_pose"],
                                        payload.get("embodiment"), payload.get("robot"))
    except X0RequestError as e:
        return _error(400, str(e))
    except ActionServerBusy as e:
        return busy_response(e)
    except (X0Error, ActionDecodeError) as e:
        logger.warning("inference failed: %s", e)
        return _error(500, str(e))
    body = {"success": True, "eepose": result.eepose.tolist(), "processing_time": time.perf_counter() - started,
            "backend": result.backend.to_dict(), "timings": result.timings, "demo": result.demo}
    if result.subtask is not None:
        body["subtask"] = result.subtask
    if result.speculation is not None:
        body["speculation"] = result.speculation
    return JSONResponse(body)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status)


def _gpu_info() -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {"name": None, "memory_allocated": 0, "memory_reserved": 0}
    return {"name": torch.cuda.get_device_name(0), "memory_allocated": torch.cuda.memory_allocated(0),
            "memory_reserved": torch.cuda.memory_reserved(0)}
