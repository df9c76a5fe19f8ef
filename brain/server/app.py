"""The OpenAI-compatible HTTP API of `roboos brain serve` (Starlette).

`GET /v1/models`, `POST /v1/chat/completions` and `GET /health`. Errors use OpenAI's envelope
`{"error": {"message", "type", "param", "code"}}` with the matching status code.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from brain.server.decoding import Answer, complete
from brain.server.errors import APIError
from brain.server.model import LocalModel
from brain.server.protocol import ChatRequest, completion_body, model_list_body

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def create_app(model: LocalModel, *, max_tokens: int = 512) -> Starlette:
    """The ASGI app serving `model`; requests may ask for at most `max_tokens` new tokens."""
    created = int(time.time())

    async def list_models(request: Request) -> JSONResponse:
        return JSONResponse(model_list_body(model.name, created))

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": model.name})

    async def chat_completions(request: Request) -> JSONResponse:
        chat = ChatRequest.from_dict(await _json_body(request), max_tokens_limit=max_tokens)
        if chat.model != model.name:
            raise APIError(f"model {chat.model!r} is not served here; this server serves {model.name!r}",
                           status=404, code="model_not_found", param="model")
        started = time.perf_counter()
        answer: Answer = await _run_until_disconnect(request, lambda cancel: complete(model, chat, cancel))
        usage = answer.generation
        logger.info("completion: %d prompt + %d completion tokens in %.2fs (%s)", usage.prompt_tokens,
                    usage.completion_tokens, time.perf_counter() - started, usage.finish_reason)
        return JSONResponse(completion_body(model.name, answer.message, answer.generation))

    return Starlette(
        routes=[
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={APIError: _api_error, Exception: _unexpected_error},
    )


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise APIError(f"the request body is not valid JSON: {e}") from e


async def _run_until_disconnect(request: Request, work: Callable[[threading.Event], T]) -> T:
    """Run blocking `work` in a thread; if the client goes away, tell it to stop (via the event)."""
    cancel = threading.Event()
    outcome: list[T] = []
    failure: list[Exception] = []

    def guarded() -> None:
        try:
            outcome.append(work(cancel))
        except Exception as e:  # re-raised below, outside the task group (no ExceptionGroup)
            failure.append(e)

    async def watch_disconnect() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        logger.info("client disconnected; stopping its generation")
        cancel.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch_disconnect)
        await anyio.to_thread.run_sync(guarded)
        tasks.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return outcome[0]


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, APIError)
    if exc.status >= 500:
        logger.warning("answering %d: %s", exc.status, exc.message)
    return JSONResponse(exc.to_dict(), status_code=exc.status)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this response, and uvicorn logs the traceback once.
    body = APIError(f"internal error: {type(exc).__name__}: {exc}", status=500, kind="server_error").to_dict()
    return JSONResponse(body, status_code=500)
