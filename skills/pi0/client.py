"""A client of one pi0 server that speaks FlagScale's protocol (``skills.pi0.protocol``).

    async with Pi0Client("http://gpu-box:5000", EMBODIMENTS["aloha"]) as pi0:
        chunk = await pi0.infer("fold the towel", {"base": jpeg_b64}, state)   # 50 x 14

What it adds to a bare POST: one request in flight per server (the server has no lock around its
model), a timeout on every request, retries with backoff while the server is unreachable or
answers 503, and errors that say what happened: ``Pi0Unavailable`` (down, wrong URL, still
busy after the retries), ``Pi0ServerError`` (an exception inside the model: Flask's HTML 500),
``Pi0RequestError`` (the server refused the request: 400, not retried), ``Pi0ProtocolError`` (an
answer that is not the protocol's, or a chunk of the wrong shape).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Self

import httpx

from skills.pi0.protocol import (
    DEFAULT_HORIZON,
    Pi0Embodiment,
    Pi0ProtocolError,
    Pi0RequestError,
    build_request,
    chunk_from_answer,
    error_message,
)

__all__ = ["MODEL_TIME_HEADER", "Pi0Chunk", "Pi0Client", "Pi0Error", "Pi0ServerError", "Pi0Unavailable"]

logger = logging.getLogger(__name__)

INFER_PATH = "/infer"
MODEL_TIME_HEADER = "X-Model-Time"  # seconds in the model; RoboOS's reference server sends it, FlagScale's does not
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 2
FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 2.0
MAX_RETRY_AFTER_S = 5.0


class Pi0Error(Exception):
    """Base class of the pi0 client's errors that are not the caller's input."""


class Pi0Unavailable(Pi0Error):
    """The server could not be reached, timed out, or stayed busy (503) through every retry."""


class Pi0ServerError(Pi0Error):
    """The server failed while inferring (an HTML 500 page, or another 5xx)."""


@dataclass(frozen=True)
class Pi0Chunk:
    """One action chunk and what it cost."""

    actions: list[list[float]]  # horizon rows of action_dim joint targets, unnormalised
    round_trip_s: float  # from sending the request to the parsed chunk, waits for the server included
    model_s: float | None  # the server's own model time, when it reports it
    attempts: int

    @property
    def overhead_s(self) -> float | None:
        """Round trip minus model time: encoding, HTTP, decoding, checks."""
        return None if self.model_s is None else self.round_trip_s - self.model_s


class Pi0Client:
    """One pi0 server. Use as ``async with``; safe to share between tasks of one event loop."""

    def __init__(self, server_url: str, embodiment: Pi0Embodiment, *, variant: str = "flagscale",
                 horizon: int = DEFAULT_HORIZON, timeout_s: float = DEFAULT_TIMEOUT_S,
                 retries: int = DEFAULT_RETRIES, robot: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not server_url.startswith(("http://", "https://")):
            raise Pi0RequestError(f"the pi0 server URL must start with http:// or https://, got {server_url!r}")
        if retries < 0 or timeout_s <= 0 or horizon < 1:
            raise Pi0RequestError("retries must be >= 0, timeout_s > 0 and horizon >= 1")
        self.server_url = server_url.rstrip("/")
        self.url = self.server_url if self.server_url.endswith(INFER_PATH) else self.server_url + INFER_PATH
        self.embodiment = embodiment
        self.variant = variant
        self.horizon = horizon
        self.timeout_s = timeout_s
        self.retries = retries
        self.robot = robot  # sent as "robot" for an action server shared by robots; FlagScale's ignores it
        self._http = httpx.AsyncClient(timeout=timeout_s, transport=transport)
        self._one_at_a_time = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def infer(self, instruction: str, images: dict[str, str], state: list[float],
                    eef_pose: list[float] | None = None) -> Pi0Chunk:
        """One action chunk for ``state`` and the camera ``images`` (role or wire key -> base64 JPEG/PNG)."""
        request = build_request(self.variant, self.embodiment, instruction, images, state, eef_pose)
        if self.robot:
            request["robot"] = self.robot
        body = json.dumps(request)
        async with self._one_at_a_time:
            started = time.perf_counter()
            response, attempts = await self._post(body)
            chunk = self._chunk(response)
            round_trip = time.perf_counter() - started
        return Pi0Chunk(chunk, round_trip, _model_time(response), attempts)

    async def forward(self, body: bytes | str) -> httpx.Response:
        """POST a request body as it came (an action server relaying for robots): the answer as it
        came, after the retries; ``Pi0Unavailable`` when the server cannot be reached."""
        async with self._one_at_a_time:
            response, _ = await self._post(body)
        return response

    async def _post(self, body: bytes | str) -> tuple[httpx.Response, int]:
        """POST ``body``, again after a pause while the server is unreachable or busy (503)."""
        pause = FIRST_BACKOFF_S
        for attempt in range(1, self.retries + 2):
            last = attempt > self.retries
            response = None
            try:
                response = await self._http.post(self.url, content=body, headers={"Content-Type": "application/json"})
            except httpx.TimeoutException as e:
                # a slow model, not a down one: waiting again would stack a second request behind it
                raise Pi0Unavailable(f"the pi0 server at {self.server_url} did not answer within "
                                     f"{self.timeout_s:g} s ({type(e).__name__})") from e
            except httpx.TransportError as e:
                if last:
                    why = str(e) or type(e).__name__
                    raise Pi0Unavailable(f"the pi0 server at {self.server_url} cannot be reached: {why} "
                                         f"(tried {attempt} times; is it started, and is the URL right?)") from e
            else:
                if response.status_code != 503:
                    return response, attempt
                if last:
                    raise Pi0Unavailable(f"the pi0 server at {self.server_url} is not ready (503: "
                                         f"{error_message(_json(response))}) after {attempt} tries")
            wait = pause if response is None else _retry_after(response, pause)
            logger.info("pi0 server %s not answering (attempt %d of %d); retrying in %.2f s", self.server_url,
                        attempt, self.retries + 1, wait)
            await asyncio.sleep(wait)
            pause = min(pause * 2, MAX_BACKOFF_S)
        raise AssertionError("unreachable")

    def _chunk(self, response: httpx.Response) -> list[list[float]]:
        status = response.status_code
        answer = _json(response)
        if status == 400:
            raise Pi0RequestError(f"the pi0 server refused the request: {error_message(answer)}")
        if status >= 500:
            if answer is None:
                raise Pi0ServerError(f"the pi0 server at {self.server_url} failed inside the model (HTTP {status}, "
                                     f"an HTML error page: see the server's log)")
            raise Pi0ServerError(f"the pi0 server at {self.server_url} failed (HTTP {status}): {error_message(answer)}")
        if status != 200:
            where = "" if status != 404 else f" (is {self.url} a pi0 server? it has no {INFER_PATH})"
            raise Pi0ProtocolError(f"the pi0 server answered HTTP {status}{where}")
        if answer is None:
            kind = response.headers.get("content-type", "no content type")
            raise Pi0ProtocolError(f"the pi0 server answered 200 with something that is not JSON ({kind})")
        return chunk_from_answer(self.variant, self.embodiment, answer, self.horizon)


def _json(response: httpx.Response) -> Any:
    """The JSON body, or None when it is not JSON (an HTML error page)."""
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: httpx.Response, default: float) -> float:
    """A busy action server's ``retry_after_s`` (or ``Retry-After``), within reason; else ``default``."""
    answer = _json(response)
    value = answer.get("retry_after_s") if isinstance(answer, dict) else response.headers.get("Retry-After")
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except (TypeError, ValueError):
        return default


def _model_time(response: httpx.Response) -> float | None:
    try:
        return float(response.headers[MODEL_TIME_HEADER])
    except (KeyError, ValueError):
        return None
