"""The master's configuration (the ``master:`` section): typed, checked once, passed down."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from memory.settings import Settings, is_loopback

__all__ = ["ANY_ORIGIN", "MasterConfig"]

UI_ORIGINS = ("http://127.0.0.1:8888", "http://localhost:8888")  # the web UI (``roboos ui``)
ANY_ORIGIN = "*"
ORIGIN = re.compile(r"https?://[^/?#\s,]+", re.ASCII)

Seconds = Annotated[float, Field(gt=0)]


class MasterConfig(Settings):
    """How the master listens, serves and schedules.

    ``auth_token``: when set, every POST endpoint requires ``Authorization: Bearer <token>``;
    required when ``host`` is not a loopback address.

    Serving (waitress): ``http_threads`` answer ordinary requests; each open ``/events`` stream
    holds a thread of its own, up to ``max_event_streams`` (more get 503 with Retry-After), so
    streams never starve requests. ``connection_limit`` caps open connections (further ones wait
    in the listen backlog); ``channel_timeout_s`` closes a connection idle that long, a half-sent
    request included (a half-sent request never holds a thread). ``redis_max_connections`` sizes
    the master's Redis pool; a request waits ``redis_pool_timeout_s`` for a free connection, then
    gets 503 (busy).

    ``cors_origins``: the web pages (``scheme://host[:port]``) whose scripts may call the API from
    another origin, such as the web UI on :8888 or RoboOS's release page; ``"*"`` alone allows any.
    """

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(5000, ge=0, le=65535)
    auth_token: str | None = None
    subtask_timeout_s: Seconds = 60.0
    max_replans: int = Field(2, ge=0, le=100)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=64 * 1024 * 1024)
    plan_timeout_s: Seconds = 30.0
    offline_check_interval_s: Seconds = 1.0
    offline_grace_s: Seconds = 3.0
    bridge_timeout_s: Seconds = 10.0
    http_threads: int = Field(16, ge=1, le=1024)
    max_event_streams: int = Field(300, ge=0, le=10_000)
    connection_limit: int = Field(1000, ge=1, le=100_000)
    channel_timeout_s: Seconds = 30.0
    redis_max_connections: int = Field(50, ge=4, le=10_000)
    redis_pool_timeout_s: Seconds = 5.0
    metrics_timeout_s: Seconds = 2.0  # how long GET /metrics waits for the fleet's figures
    cors_origins: Annotated[tuple[str, ...], Field(strict=False)] = UI_ORIGINS  # a list in YAML

    @field_validator("auth_token")
    @classmethod
    def _token_not_blank(cls, token: str | None) -> str | None:
        if token is not None and not token.strip():
            raise ValueError("auth_token must be a non-empty string or null")
        return token

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            if origin != ANY_ORIGIN and not ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin: give scheme://host[:port] "
                                 "(http or https, no path or trailing slash), or '*' for any")
        if ANY_ORIGIN in origins and len(origins) > 1:
            raise ValueError(f"'*' allows every origin and must stand alone, got {list(origins)}")
        return origins

    @model_validator(mode="after")
    def _consistent(self) -> MasterConfig:
        if self.connection_limit < self.http_threads + self.max_event_streams:
            raise ValueError(
                f"connection_limit must be at least http_threads + max_event_streams: got {self.connection_limit} "
                f"for connection_limit and {self.http_threads} + {self.max_event_streams}"
            )
        if not is_loopback(self.host) and self.auth_token is None:
            raise ValueError(
                f"auth_token is required when host is {self.host!r} (beyond loopback); set one, or bind to 127.0.0.1"
            )
        return self

    def redacted(self) -> dict[str, Any]:
        """The config as a dict for logging, with the token hidden."""
        data = self.model_dump(mode="json")
        if data["auth_token"]:
            data["auth_token"] = "***"
        return data
