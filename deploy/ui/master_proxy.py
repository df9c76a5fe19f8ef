"""The UI server's client of the master API: the only thing here that talks to the master.

Each call carries the browser session's token (if any) as ``Authorization: Bearer``; answers come
back as ``(status, envelope)`` so the UI can pass the master's own message and code on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx

from deploy.ui.settings import UIError, UISettings

__all__ = ["MasterProxy", "MasterUnavailable"]

TOKEN_CHECK = "/publish_task"  # a POST with an empty body: 401 without the token, 400 (nothing done) with it
REQUIRES_TOKEN_TTL_S = 30.0


class MasterUnavailable(UIError):
    """The master did not answer, or not with JSON."""


class MasterProxy:
    def __init__(self, settings: UISettings, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = settings.master_url.rstrip("/")
        self.settings = settings
        self.http = httpx.Client(base_url=self.base_url, timeout=settings.master_timeout_s, transport=transport)
        self._requires_token: tuple[float, bool] | None = None

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, token: str | None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            response = self.http.request(method, path, headers=_auth(token), **kwargs)
        except httpx.HTTPError as e:
            raise MasterUnavailable(f"cannot reach the master at {self.base_url}: {e}") from e
        try:
            body = response.json()
        except ValueError:
            raise MasterUnavailable(f"{method} {path}: HTTP {response.status_code} from the master, "
                                    f"not JSON: {response.text[:200]!r}") from None
        if not isinstance(body, dict):
            raise MasterUnavailable(f"{method} {path}: the master answered a {type(body).__name__}, not an object")
        return response.status_code, body

    def data(self, path: str, token: str | None, **params: Any) -> Any:
        """The ``data`` of a GET that must succeed."""
        status, body = self.request("GET", path, token, params=params)
        if status >= 400:
            raise MasterUnavailable(f"GET {path}: HTTP {status} from the master: {body.get('message', '')}")
        return body.get("data")

    def token_accepted(self, token: str) -> bool:
        """Whether the master takes ``token`` for state-changing requests (asked with one that changes nothing)."""
        status, _ = self.request("POST", TOKEN_CHECK, token, json={})
        return status != 401

    def requires_token(self) -> bool:
        """Whether the master refuses state-changing requests without a token (remembered for a while)."""
        now = time.monotonic()
        if self._requires_token is not None and now - self._requires_token[0] < REQUIRES_TOKEN_TTL_S:
            return self._requires_token[1]
        required = not self.token_accepted("")
        self._requires_token = (now, required)
        return required

    @contextlib.contextmanager
    def events(self, token: str | None, last_event_id: str | None) -> Iterator[httpx.Response]:
        """The master's ``/events`` stream (from after ``last_event_id`` when given), open for reading."""
        headers = _auth(token) | ({"Last-Event-ID": last_event_id} if last_event_id is not None else {})
        timeout = httpx.Timeout(self.settings.master_timeout_s, read=40.0)  # the master pings every 15 s
        try:
            with self.http.stream("GET", "/events", headers=headers, timeout=timeout) as response:
                yield response
        except httpx.HTTPError as e:
            raise MasterUnavailable(f"lost the master's event stream: {e}") from e


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
