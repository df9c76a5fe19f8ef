"""A scripted OpenAI-compatible endpoint for fault-injection tests (real HTTP, no model).

    with ScriptedServer() as server:
        server.push(Reply.text("not json"), Reply.status(500), Reply.hang(), Reply.call("pick", {"object": "apple"}))
        config = LLMConfig(base_url=server.base_url, model=server.model)
        ...
        server.requests   # the request bodies received, in order

Each request to `/v1/chat/completions` takes the next reply; when the script is used up the answer
is a 500 saying so. `Reply.hang()` never answers (until the client gives up or the server stops).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["Reply", "ScriptedServer"]


@dataclass
class Reply:
    """One scripted answer: a message, an HTTP error, or no answer at all."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    hang_forever: bool = False
    raw: str | None = None  # a body sent as is (e.g. invalid JSON)
    prompt_tokens: int = 50
    completion_tokens: int = 20

    @classmethod
    def text(cls, content: str, **usage: int) -> Reply:
        return cls(content=content, **usage)

    @classmethod
    def json(cls, data: Any, **usage: int) -> Reply:
        return cls(content=json.dumps(data), **usage)

    @classmethod
    def call(cls, name: str, arguments: dict[str, Any] | str, content: str | None = None) -> Reply:
        args = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call = {"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function", "function": {"name": name, "arguments": args}}
        return cls(content=content, tool_calls=[call])

    @classmethod
    def error(cls, status: int = 500, message: str = "scripted failure") -> Reply:
        return cls(status=status, raw=json.dumps({"error": {"message": message, "type": "server_error"}}))

    @classmethod
    def hang(cls) -> Reply:
        return cls(hang_forever=True)

    def body(self, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        finish = "tool_calls" if self.tool_calls else "stop"
        usage = {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                 "total_tokens": self.prompt_tokens + self.completion_tokens}
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}


class ScriptedServer:
    """Serves scripted replies on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, model: str = "scripted-model") -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)  # connections queue here until uvicorn accepts them
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"
        config = uvicorn.Config(self._app(), log_level="warning", log_config=None, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, daemon=True, name="scripted-llm")

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script)

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def _next(self) -> Reply | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _app(self) -> Starlette:
        async def chat(request: Request) -> Response:
            self.requests.append(await request.json())
            reply = self._next()
            if reply is None:
                return JSONResponse({"error": {"message": "the script is used up", "type": "server_error"}},
                                    status_code=500)
            if reply.hang_forever:
                while (await request.receive())["type"] != "http.disconnect":
                    pass
                return Response(status_code=499)
            if reply.raw is not None:
                return Response(reply.raw, status_code=reply.status, media_type="application/json")
            return JSONResponse(reply.body(self.model), status_code=reply.status)

        async def models(request: Request) -> Response:
            return JSONResponse({"object": "list", "data": [{"id": self.model, "object": "model", "created": 0,
                                                             "owned_by": "scripted"}]})

        return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"]),
                                 Route("/v1/models", models, methods=["GET"])])
