"""The OpenAI-compatible HTTP API of `roboos brain serve` (Starlette), shaped as vLLM's.

`GET /v1/models`, `POST /v1/chat/completions`, `POST /v1/completions` (both streamed as server-sent
events on `stream: true`), `POST /tokenize`, `POST /detokenize`, `GET /health` (200, empty, once
the model is loaded) and `GET /metrics` (Prometheus). Errors use OpenAI's envelope
`{"error": {"message", "type", "param", "code"}}` with the matching status code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brain.server.decoding import Answer, Prompt, complete, complete_text, prepare, text_grammar, uses_tools
from brain.server.errors import APIError
from brain.server.metrics import CONTENT_TYPE_LATEST, RequestTimer, ServerMetrics
from brain.server.model import Generation, LocalModel, TokenStep
from brain.server.protocol import ChatRequest, CompletionRequest
from brain.server.responses import Body, chat_logprobs, completion_logprobs, generations_usage, model_list_body
from brain.server.streaming import DONE, ChatChunks, CompletionChunks, sse
from brain.server.tokenization import check_model, detokenize_body, tokenize_body

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
Emit = Callable[[tuple[int, Any]], None]


def create_app(model: LocalModel, *, max_tokens: int = 512) -> Starlette:
    """The ASGI app serving `model`; requests may ask for at most `max_tokens` new tokens."""
    created = int(time.time())
    metrics = ServerMetrics(model.name)
    generation = _Generation(model, metrics)

    async def list_models(request: Request) -> JSONResponse:
        return JSONResponse(model_list_body(model.name, created, model.max_model_len))

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    async def chat_completions(request: Request) -> Response:
        chat = ChatRequest.from_dict(await _json_body(request), max_tokens_limit=max_tokens)
        check_model(chat.model, model)
        return await generation.chat(request, chat)

    async def completions(request: Request) -> Response:
        body = CompletionRequest.from_dict(await _json_body(request), max_tokens_limit=max_tokens)
        check_model(body.model, model)
        return await generation.text(request, body)

    async def tokenize(request: Request) -> JSONResponse:
        data = await _json_object(request)
        return JSONResponse(tokenize_body(model, data))

    async def detokenize(request: Request) -> JSONResponse:
        data = await _json_object(request)
        return JSONResponse(detokenize_body(model, data))

    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/tokenize", tokenize, methods=["POST"]),
        Route("/detokenize", detokenize, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={APIError: _api_error, Exception: _unexpected_error})
    app.add_middleware(_CountRequests, metrics=metrics, paths={r.path for r in routes})
    return app


class _Generation:
    """Runs chat and text completions on the model, whole or streamed, and keeps the metrics."""

    def __init__(self, model: LocalModel, metrics: ServerMetrics) -> None:
        self.model = model
        self.metrics = metrics

    async def chat(self, request: Request, chat: ChatRequest) -> Response:
        prompt = await anyio.to_thread.run_sync(prepare, self.model, chat)
        if chat.options.stream:
            return _event_stream(self._chat_events(chat, prompt))
        with self.metrics.timer() as timer:
            answers = await _run_until_disconnect(request, lambda cancel: [
                complete(self.model, chat, prompt, cancel, _first_token(timer), i) for i in range(chat.options.n)])
        generations = [a.generation for a in answers]
        self._log("chat completion", generations, timer)
        choices = [self._chat_choice(i, a, chat) for i, a in enumerate(answers)]
        return JSONResponse(Body(self.model.name, "chat.completion")(choices, generations_usage(generations)))

    async def text(self, request: Request, body: CompletionRequest) -> Response:
        grammar = await anyio.to_thread.run_sync(text_grammar, self.model, body)
        prompts = [Prompt(text, grammar) for text in body.prompts]
        if body.options.stream:
            return _event_stream(self._text_events(body, prompts))
        n = body.options.n
        with self.metrics.timer() as timer:
            generations = await _run_until_disconnect(request, lambda cancel: [
                complete_text(self.model, body, prompt, cancel, _first_token(timer), j)
                for prompt in prompts for j in range(n)])
        self._log("completion", generations, timer, len(prompts))
        choices = [self._text_choice(i, g, body.prompts[i // n], body) for i, g in enumerate(generations)]
        usage = generations_usage(generations, len(prompts))
        return JSONResponse(Body.text_completion(self.model.name)(choices, usage))

    async def _chat_events(self, chat: ChatRequest, prompt: Prompt) -> AsyncIterator[dict[str, Any]]:
        chunks = ChatChunks(self.model, n=chat.options.n, stops=chat.sampling.stop, tools=uses_tools(chat),
                            forced_call=chat.forced_call is not None, logprobs=chat.options.logprobs is not None,
                            include_usage=chat.options.include_usage)
        for chunk in chunks.opening():
            yield chunk
        with self.metrics.timer() as timer:
            def work(cancel: threading.Event, emit: Emit) -> None:
                for i in range(chat.options.n):
                    on_token = _first_token(timer, lambda step, i=i: emit((i, step)))
                    emit((i, complete(self.model, chat, prompt, cancel, on_token, i)))

            answers: list[Answer] = []
            async for index, item in _from_thread(work):
                if isinstance(item, TokenStep):
                    chunk = chunks.token(index, item)
                    if chunk is not None:
                        yield chunk
                else:
                    answers.append(item)
                    for chunk in chunks.closing(index, item):
                        yield chunk
        generations = [a.generation for a in answers]
        self._log("streamed chat completion", generations, timer)
        last = chunks.usage(generations_usage(generations))
        if last is not None:
            yield last

    async def _text_events(self, body: CompletionRequest, prompts: list[Prompt]) -> AsyncIterator[dict[str, Any]]:
        n = body.options.n
        chunks = CompletionChunks(self.model, choices=len(prompts) * n, stops=body.options.sampling.stop,
                                  logprobs=body.options.logprobs is not None, include_usage=body.options.include_usage)
        with self.metrics.timer() as timer:
            def work(cancel: threading.Event, emit: Emit) -> None:
                for index in range(len(prompts) * n):
                    on_token = _first_token(timer, lambda step, i=index: emit((i, step)))
                    emit((index, complete_text(self.model, body, prompts[index // n], cancel, on_token, index % n)))

            generations: list[Generation] = []
            echoed: set[int] = set()
            async for index, item in _from_thread(work):
                if body.echo and index not in echoed:
                    echoed.add(index)
                    yield chunks.echo(index, body.prompts[index // n])
                if isinstance(item, TokenStep):
                    chunk = chunks.token(index, item)
                    if chunk is not None:
                        yield chunk
                else:
                    generations.append(item)
                    for chunk in chunks.closing(index, item):
                        yield chunk
        self._log("streamed completion", generations, timer, len(prompts))
        last = chunks.usage(generations_usage(generations, len(prompts)))
        if last is not None:
            yield last

    def _chat_choice(self, index: int, answer: Answer, chat: ChatRequest) -> dict[str, Any]:
        generation = answer.generation
        finish = "tool_calls" if answer.message.get("tool_calls") else generation.finish_reason
        logprobs = chat_logprobs(self.model, generation.tokens) if chat.options.logprobs is not None else None
        return {"index": index, "message": answer.message, "finish_reason": finish, "logprobs": logprobs}

    def _text_choice(self, index: int, generation: Generation, prompt: str, body: CompletionRequest) -> dict[str, Any]:
        logprobs = None
        if body.options.logprobs is not None:
            logprobs = completion_logprobs(self.model, generation.tokens)
        text = prompt + generation.text if body.echo else generation.text
        return {"index": index, "text": text, "logprobs": logprobs, "finish_reason": generation.finish_reason}

    def _log(self, what: str, generations: list[Generation], timer: RequestTimer, prompts: int = 1) -> None:
        self.metrics.record(generations, prompts)
        usage = generations_usage(generations, prompts)
        reasons = ",".join(sorted({g.finish_reason for g in generations})) or "cancelled"
        logger.info("%s: %d prompt + %d completion tokens, %d choice(s) in %.2fs (%s)", what, usage["prompt_tokens"],
                    usage["completion_tokens"], len(generations), time.perf_counter() - timer.started, reasons)


def _first_token(timer: RequestTimer, then: Callable[[TokenStep], None] | None = None) -> Callable[[TokenStep], None]:
    def on_token(step: TokenStep) -> None:
        timer.first_token()
        if then is not None:
            then(step)

    return on_token


def _event_stream(chunks: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        try:
            async for chunk in chunks:
                yield sse(chunk)
        except APIError as e:  # the status line is sent already: the error goes in the stream, as vLLM's does
            logger.warning("stream ended by an error: %s", e.message)
            yield sse(e.to_dict())
        except Exception as e:  # a boundary: the client gets an error event, the log the traceback
            logger.exception("stream failed")
            yield sse(APIError(f"internal error: {type(e).__name__}: {e}", status=500, kind="server_error").to_dict())
        yield DONE

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})


_END = object()


async def _from_thread(work: Callable[[threading.Event, Emit], None]) -> AsyncIterator[tuple[int, Any]]:
    """Run blocking `work(cancel, emit)` in a thread and yield what it emits as it emits it.

    Its exception is raised here; if the consumer stops early (the client went away), `cancel` is set so
    the generation stops at its next token.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    cancel = threading.Event()

    def emit(item: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def run() -> None:
        try:
            work(cancel, emit)
        except Exception as e:  # handed to the event loop, raised there
            emit(e)
        finally:
            emit(_END)

    loop.run_in_executor(None, run)  # it ends on its own: `run` catches everything, `cancel` stops it early
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        cancel.set()


class _CountRequests:
    """ASGI middleware counting answered HTTP requests by route and status (`roboos_brain_http_requests_total`)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics, paths: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope["path"] if scope["path"] in self.paths else "other"
            self.metrics.http_requests.labels(route=route, status=str(status)).inc()


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise APIError(f"the request body is not valid JSON: {e}") from e


async def _json_object(request: Request) -> dict[str, Any]:
    data = await _json_body(request)
    if not isinstance(data, dict):
        raise APIError("the request body must be a JSON object")
    return data


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
