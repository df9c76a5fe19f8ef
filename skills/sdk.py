"""The skill SDK: a robot's skills as an MCP server, in a few decorated functions.

Example (a robot-side ``skill.py``)::

    robot = SkillServer("arm-1", embodiment="fixed_single_arm",
                        capabilities={"mobile": False, "arms": 1, "payload_kg": 2.0})

    @robot.skill(kind="pick", object="object")
    async def pick(object: str) -> SkillResult:
        \"\"\"Pick up an object within reach.\"\"\"
        ...
        return SkillResult(message=f"picked {object}", effects=[Effect(op="move", ...)])

    robot.run("streamable-http", host="127.0.0.1", port=8101)

Each skill is an MCP tool: its docstring is the description, its typed parameters the input
schema, :class:`SkillResult` the structured output, and its action semantics ride in the tool's
``meta`` under ``"roboos/semantics"``. The body's description is the ``roboos://capabilities``
resource. A skill that cannot act raises :class:`SkillFailure`.
"""

from __future__ import annotations

import inspect
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field, field_validator

from memory.messages import Effect
from memory.profiles import SKILL_KINDS, ActionSemantics
from memory.settings import is_loopback
from skills.errors import SkillError, SkillFailure

__all__ = [
    "CAPABILITIES_URI",
    "SEMANTICS_KEY",
    "SKILL_KINDS",
    "SkillFailure",
    "SkillResult",
    "SkillServer",
]

logger = logging.getLogger(__name__)

SEMANTICS_KEY = "roboos/semantics"
CAPABILITIES_URI = "roboos://capabilities"
# Undeclared body fields take the world model's defaults (memory.world.Body): a robot moves only with
# a navigate skill, has one gripper, no declared payload limit, reaches every height.
DEFAULT_CAPABILITIES: dict[str, Any] = {"zones": []}

_SkillFn = TypeVar("_SkillFn", bound=Callable[..., Any])


class SkillResult(BaseModel):
    """What a skill returns when it succeeded: a sentence, and what changed in the world."""

    message: str = Field(description="What the robot did, in one sentence")
    effects: list[dict[str, Any]] = Field(
        default_factory=list,
        description='Changes to the shared world: {"op": "move", "node", "parent", "relation", '
        '"expect_parent"} or {"op": "set", "node", "props"}',
    )

    @field_validator("effects", mode="before")
    @classmethod
    def _effects_as_dicts(cls, value: Any) -> list[dict[str, Any]]:
        return [_effect_dict(item) for item in value or []]


def _effect_dict(item: Effect | dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, Effect):
        return item.to_dict()
    try:
        return Effect.from_dict(item).to_dict()
    except (KeyError, TypeError) as e:
        raise ValueError(f"not an effect: {item!r} (needs 'op' and 'node')") from e


class SkillServer:
    """A robot's skills served over MCP (stdio or streamable HTTP)."""

    def __init__(
        self,
        name: str,
        *,
        embodiment: str,
        capabilities: dict[str, Any] | None = None,
        instructions: str = "",
        lifespan: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    ) -> None:
        self.name = name
        self.embodiment = embodiment
        self.capabilities = {**DEFAULT_CAPABILITIES, **(capabilities or {}), "embodiment": embodiment}
        self.skills: dict[str, ActionSemantics] = {}
        self.mcp = MCPServer(
            name,
            instructions=instructions or None,
            lifespan=_adapt_lifespan(lifespan) if lifespan else None,
            log_level="WARNING",
        )
        self.mcp.resource(
            CAPABILITIES_URI,
            name="capabilities",
            description="What this robot's body can do: mobile, grippers, payload_kg, reach, can_open, station, "
            "cargo, zones (memory.world.Body)",
            mime_type="application/json",
        )(self._capabilities_json)

    def _capabilities_json(self) -> str:
        return json.dumps(self.capabilities)

    def skill(self, kind: str = "other", *, name: str | None = None, **roles: str) -> Callable[[_SkillFn], _SkillFn]:
        """Register a typed async function as a skill of action ``kind``.

        ``roles`` map a role (``object``, ``target``) to the parameter that fills it, e.g.
        ``@server.skill(kind="place", object="object", target="target")``.
        """
        if kind not in SKILL_KINDS:
            raise SkillError(f"unknown skill kind {kind!r}, should be one of: {', '.join(sorted(SKILL_KINDS))}")

        def register(fn: _SkillFn) -> _SkillFn:
            skill_name = name or fn.__name__
            _check_roles(skill_name, fn, roles)
            semantics = ActionSemantics(kind=kind, roles=dict(roles))
            self.mcp.add_tool(fn, name=skill_name, meta={SEMANTICS_KEY: semantics.to_dict()})
            self.skills[skill_name] = semantics
            return fn

        return register

    def run(
        self,
        transport: Literal["stdio", "streamable-http"] = "stdio",
        *,
        host: str = "127.0.0.1",
        port: int = 8101,
    ) -> None:
        """Serve until stopped. HTTP logs ``skill server NAME ready on URL`` once it listens."""
        if transport == "stdio":
            self.mcp.run("stdio")
        elif transport == "streamable-http":
            anyio.run(self.serve_http, host, port)
        else:
            raise SkillError(f"unknown transport {transport!r}, should be 'stdio' or 'streamable-http'")

    async def serve_http(self, host: str = "127.0.0.1", port: int = 8101) -> None:
        """Serve streamable HTTP at ``http://host:port/mcp`` (port 0 picks a free one)."""
        import uvicorn

        if not is_loopback(host):
            logger.warning("skill server %s listens on %s: anyone who can reach it can move the robot", self.name, host)
        sock = _listening_socket(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        app = self.mcp.streamable_http_app(host=host)
        app.router.lifespan_context = _announce_when_started(
            app.router.lifespan_context, f"skill server {self.name} ready on http://{bound_host}:{bound_port}/mcp"
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        await server.serve(sockets=[sock])
        if not server.started:
            raise SkillError(f"skill server {self.name} failed to start on {bound_host}:{bound_port} (see the log)")


def _announce_when_started(lifespan: Callable[[Any], Any], line: str) -> Callable[[Any], Any]:
    """Log ``line`` once the app's start-up (the skill server's lifespan) has completed."""

    @asynccontextmanager
    async def announced(app: Any) -> AsyncIterator[Any]:
        async with lifespan(app) as state:
            logger.info("%s", line)
            yield state

    return announced


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise SkillError(f"cannot listen on {host}:{port}: {e} (is another server using the port?)") from e
    sock.listen(128)
    return sock


def _check_roles(skill_name: str, fn: Callable[..., Any], roles: dict[str, str]) -> None:
    params = set(inspect.signature(fn).parameters)
    for role, param in roles.items():
        if param not in params:
            raise SkillError(
                f"skill {skill_name!r}: role {role!r} names parameter {param!r}, "
                f"which it does not have (parameters: {', '.join(sorted(params)) or 'none'})"
            )


def _adapt_lifespan(
    lifespan: Callable[[], AbstractAsyncContextManager[Any]],
) -> Callable[[MCPServer], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def wrapped(_: MCPServer) -> AsyncIterator[Any]:
        async with lifespan() as state:
            yield state

    return wrapped
