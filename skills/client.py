"""The skill client: one type for a robot's skills over stdio, streamable HTTP or in-process.

    async with SkillClient.http("http://127.0.0.1:18101/mcp") as skills:
        specs = await skills.list_skills()
        outcome = await skills.call("pick", {"object": "apple"}, timeout_s=30)

A skill that fails comes back as ``ToolOutcome(ok=False, message=why)``; a server that cannot be
reached raises :class:`SkillUnavailable`.

Servers written without this system's extensions (a RoboOS-style ``skill.py``: plain FastMCP
tools, no semantics, no capabilities resource) work too: a base URL finds its ``/mcp`` endpoint,
the connection uses the plain ``initialize`` handshake, lines such a server prints on stdout are
ignored (logged once), and the state dict a tool returns comes back as ``SkillOutcome.state``.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx2
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT, CallToolResult, TextContent, TextResourceContents

from memory.messages import Effect, ToolOutcome
from memory.profiles import ActionSemantics, SkillSpec
from skills.errors import SkillError, SkillUnavailable
from skills.sdk import CAPABILITIES_URI, SEMANTICS_KEY, SkillServer

__all__ = ["SkillClient", "SkillOutcome", "skill_spec"]

logger = logging.getLogger(__name__)

Target = MCPServer | StdioServerParameters | str
MCP_PATH = "/mcp"  # where streamable-HTTP servers (ours, FastMCP's) serve by default
_NOT_AN_ENDPOINT = (404, 405)
_PROBE = {"jsonrpc": "2.0", "id": 0, "method": "ping"}
_PROBE_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_resolved_urls: dict[str, str] = {}  # URL as given -> the MCP endpoint that answered


@dataclass
class SkillOutcome(ToolOutcome):
    """A ``ToolOutcome`` with the state a server without RoboOS effects reported.

    ``state``: the dict a RoboOS-style tool returns beside its message (``{"position": "table"}``);
    empty for servers that report ``effects``.
    """

    state: dict[str, Any] = field(default_factory=dict)


class SkillClient:
    """A connection to one robot's skill server. Use as ``async with``."""

    def __init__(self, target: Target, *, endpoint: str, connect_timeout_s: float = 10.0) -> None:
        self._target = target
        self.endpoint = endpoint
        self.connect_timeout_s = connect_timeout_s
        self._client: Client | None = None
        self._stack: AsyncExitStack | None = None

    @classmethod
    def stdio(
        cls,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        *,
        cwd: str | None = None,
        connect_timeout_s: float = 10.0,
    ) -> SkillClient:
        """Spawn ``argv`` (no shell) and speak MCP over its stdin/stdout."""
        if not argv:
            raise SkillError("stdio skill server needs a command, got an empty argv")
        params = StdioServerParameters(command=argv[0], args=list(argv[1:]), env=env, cwd=cwd)
        return cls(params, endpoint=f"stdio:{shlex.join(argv)}", connect_timeout_s=connect_timeout_s)

    @classmethod
    def http(cls, url: str, *, connect_timeout_s: float = 10.0) -> SkillClient:
        """Connect to a streamable-HTTP skill server, e.g. ``http://robot:8101/mcp``."""
        return cls(url, endpoint=url, connect_timeout_s=connect_timeout_s)

    @classmethod
    def in_process(cls, server: SkillServer | MCPServer) -> SkillClient:
        """Talk to a server object in this process (tests, benchmarks)."""
        mcp = server.mcp if isinstance(server, SkillServer) else server
        return cls(mcp, endpoint=f"in-process:{mcp.name}")

    async def __aenter__(self) -> SkillClient:
        if isinstance(self._target, str):
            self._target = await resolve_endpoint(self._target, self.connect_timeout_s)
        async with AsyncExitStack() as stack:
            client = Client(self._transport(stack), read_timeout_seconds=self.connect_timeout_s, cache=None,
                            message_handler=_StdoutNoise(self.endpoint), **self._mode())
            try:
                await stack.enter_async_context(client)
            except Exception as e:  # boundary: any transport failure means the server is unreachable
                raise SkillUnavailable(f"cannot reach skill server {self.endpoint}: {_root_cause(e)}") from e
            self._client, self._stack = client, stack.pop_all()
        logger.debug("connected to skill server %s", self.endpoint)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.__aexit__(*exc_info)

    def _mode(self) -> dict[str, Any]:
        """The plain ``initialize`` handshake for servers in other processes: servers on older SDKs
        (RoboOS's ``skill.py``) reject the newer ``server/discover`` probe with a screen of errors."""
        return {} if isinstance(self._target, MCPServer) else {"mode": "legacy"}

    def _transport(self, stack: AsyncExitStack) -> Any:
        if not isinstance(self._target, str):
            return self._target
        timeout = httpx2.Timeout(self.connect_timeout_s, read=300.0)
        http = httpx2.AsyncClient(transport=_ReachabilityTransport(httpx2.AsyncHTTPTransport()), timeout=timeout)
        stack.push_async_callback(http.aclose)
        return streamable_http_client(self._target, http_client=http)

    @property
    def _mcp(self) -> Client:
        if self._client is None:
            raise SkillError(f"skill client for {self.endpoint} is not connected: use 'async with'")
        return self._client

    async def list_skills(self) -> list[SkillSpec]:
        """Every tool of the server, with its JSON schema and action semantics."""
        specs: list[SkillSpec] = []
        cursor: str | None = None
        while True:
            page = await self._guard(self._mcp.list_tools(cursor=cursor))
            specs.extend(skill_spec(tool) for tool in page.tools)
            cursor = page.next_cursor
            if cursor is None:
                return specs

    async def capabilities(self) -> dict[str, Any]:
        """The ``roboos://capabilities`` resource, or ``{}`` when the server has none.

        Asked for only when the server lists it, so a server without it logs no failed read.
        """
        if not await self._lists_capabilities():
            logger.info("skill server %s has no %s resource: its robot gets the default body",
                        self.endpoint, CAPABILITIES_URI)
            return {}
        try:
            result = await self._guard(self._mcp.read_resource(CAPABILITIES_URI))
        except MCPError as e:
            logger.warning("skill server %s has no capabilities resource: %s", self.endpoint, e)
            return {}
        text = next((c.text for c in result.contents if isinstance(c, TextResourceContents)), "{}")
        try:
            return dict(json.loads(text))
        except (ValueError, TypeError) as e:
            raise SkillError(f"skill server {self.endpoint} sent capabilities that are not a JSON object") from e

    async def _lists_capabilities(self) -> bool:
        server = self._mcp.server_capabilities
        if server is None or server.resources is None:
            return False
        try:
            listed = await self._guard(self._mcp.list_resources())
        except MCPError as e:
            logger.debug("skill server %s did not list its resources: %s", self.endpoint, e)
            return False
        return any(str(r.uri) == CAPABILITIES_URI for r in listed.resources)

    async def call(self, name: str, arguments: dict[str, Any], timeout_s: float = 60.0) -> SkillOutcome:
        """Call one skill. Failures and timeouts come back as ``ok=False`` with the reason."""
        started = time.monotonic()
        try:
            result = await self._guard(self._mcp.call_tool(name, arguments, read_timeout_seconds=timeout_s))
        except MCPError as e:
            message = f"timed out after {timeout_s:g} s" if e.code == REQUEST_TIMEOUT else e.message
            return SkillOutcome(name, dict(arguments), ok=False, message=message,
                                duration_s=time.monotonic() - started)
        outcome = _outcome(name, arguments, result)
        outcome.duration_s = time.monotonic() - started
        logger.debug("skill %s(%s) on %s: ok=%s %s", name, arguments, self.endpoint, outcome.ok, outcome.message)
        return outcome

    async def _guard(self, request: Any) -> Any:
        """Await an MCP request, turning a dead connection into SkillUnavailable."""
        try:
            return await request
        except MCPError as e:
            if e.code == CONNECTION_CLOSED:
                raise SkillUnavailable(f"skill server {self.endpoint} is down or unreachable: {e.error.message}") from e
            raise
        except (OSError, EOFError) as e:
            raise SkillUnavailable(f"skill server {self.endpoint} is unreachable: {e}") from e


class _ReachabilityTransport(httpx2.AsyncBaseTransport):
    """Answers a request that cannot reach the server with a JSON-RPC ``CONNECTION_CLOSED`` error.

    The MCP HTTP transport lets a connection error escape its task group, which would cancel the
    caller's task; as an error reply it fails just that request, and we raise SkillUnavailable.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx2.TransportError as e:
            error = {"code": CONNECTION_CLOSED, "message": f"{type(e).__name__}: {e}"}
            return httpx2.Response(503, json={"jsonrpc": "2.0", "id": None, "error": error}, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def skill_spec(tool: Any) -> SkillSpec:
    """A listed MCP tool as the ``SkillSpec`` a robot registers (its semantics from the tool's meta)."""
    meta = tool.meta or {}
    return SkillSpec(
        name=tool.name,
        description=tool.description or "",
        input_schema=dict(tool.input_schema or {}),
        semantics=ActionSemantics.from_dict(meta.get(SEMANTICS_KEY)),
    )


def _outcome(name: str, arguments: dict[str, Any], result: CallToolResult) -> SkillOutcome:
    text = " ".join(c.text for c in result.content if isinstance(c, TextContent)).strip()
    if result.is_error:
        return SkillOutcome(name, dict(arguments), ok=False, message=_strip_prefix(name, text))
    data = result.structured_content if isinstance(result.structured_content, dict) else None
    if data is not None and ("effects" in data or "message" in data):  # a SkillResult
        effects = [Effect.from_dict(e) for e in data.get("effects") or []]
        return SkillOutcome(name, dict(arguments), ok=True, message=data.get("message", text), effects=effects)
    message, state = _reported(result, data)
    return SkillOutcome(name, dict(arguments), ok=True, message=message or text, state=state)


def _reported(result: CallToolResult, data: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The message and state dict of a result without RoboOS effects: ``return "done", {"position": x}``
    arrives as structured ``{"result": ["done", {...}]}``, ``return {...}`` as structured content or as
    JSON text, ``return "done"`` as text."""
    if data is not None:
        parts = data["result"] if set(data) == {"result"} else data
        parts = parts if isinstance(parts, list) else [parts]
    else:
        parts = [_json_or_text(c.text) for c in result.content if isinstance(c, TextContent)]
    words = [p for p in parts if isinstance(p, str) and p.strip()]
    state: dict[str, Any] = {}
    for part in parts:
        if isinstance(part, dict):
            state.update(part)
    return " ".join(words).strip(), state


def _json_or_text(text: str) -> Any:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return text
    try:
        return json.loads(stripped)
    except ValueError:
        return text


async def resolve_endpoint(url: str, timeout_s: float = 10.0) -> str:
    """The MCP endpoint of a streamable-HTTP server given as ``url``: the URL itself, or ``url + /mcp``
    when the URL answers 404 or 405 (a base URL such as ``http://robot:8000``). Remembered per URL.

    ``SkillUnavailable`` when neither answers as an endpoint; an unreachable host is left for the
    connection to report.
    """
    if url in _resolved_urls:
        return _resolved_urls[url]
    candidates = [url] if url.rstrip("/").endswith(MCP_PATH) else [url, url.rstrip("/") + MCP_PATH]
    statuses: list[str] = []
    async with httpx2.AsyncClient(timeout=timeout_s) as http:
        for candidate in candidates:
            try:
                reply = await http.post(candidate, json=_PROBE, headers=_PROBE_HEADERS)
            except httpx2.TransportError:
                return url  # unreachable: the connection says so with the usual message
            if reply.status_code not in _NOT_AN_ENDPOINT:
                if candidate != url:
                    logger.info("skill server %s answers at %s", url, candidate)
                _resolved_urls[url] = candidate
                return candidate
            statuses.append(f"{candidate} (HTTP {reply.status_code})")
    raise SkillUnavailable(f"no MCP endpoint at {' nor at '.join(statuses)}; give the URL the skill server "
                           "serves MCP on, e.g. http://robot:8000/mcp")


class _StdoutNoise:
    """The client's message handler: a line a stdio server printed that is not JSON-RPC arrives as
    an exception; the first is logged as a warning, the rest at debug. Notifications are ignored."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.seen = 0

    async def __call__(self, message: Any) -> None:
        if not isinstance(message, Exception):
            return
        self.seen += 1
        line = _bad_line(message)
        if self.seen == 1:
            logger.warning("skill server %s printed text that is not MCP on stdout (ignored; it should log to "
                           "stderr): %r", self.endpoint, line)
        else:
            logger.debug("skill server %s printed on stdout (ignored): %r", self.endpoint, line)


def _bad_line(error: Exception) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        try:
            return str(errors()[0].get("input", error))
        except (IndexError, TypeError, ValueError):
            pass
    return str(error)


class _UnparsedLineFilter(logging.Filter):
    """Drops the MCP stdio client's traceback per unparsable stdout line: ``_StdoutNoise`` reports them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Failed to parse JSONRPC message from server"


logging.getLogger("mcp.client.stdio").addFilter(_UnparsedLineFilter())


def _strip_prefix(name: str, text: str) -> str:
    prefix = f"Error executing tool {name}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _root_cause(error: BaseException) -> str:
    """The innermost, most telling error, unwrapping exception groups and chains."""
    while True:
        if isinstance(error, BaseExceptionGroup) and error.exceptions:
            error = error.exceptions[0]
        elif error.__cause__ is not None:
            error = error.__cause__
        else:
            return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
