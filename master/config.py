"""The master's configuration: typed, checked once, passed down."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["ANY_ORIGIN", "FLAG_HELP", "FLAG_TYPES", "LOOPBACK_HOSTS", "MasterConfig", "flag_of", "parse_origins"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
UI_ORIGINS = ("http://127.0.0.1:8888", "http://localhost:8888")  # the web UI (``roboos ui``)
ANY_ORIGIN = "*"
ORIGIN = re.compile(r"https?://[^/?#\s,]+", re.ASCII)


@dataclass
class MasterConfig:
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
    A list in YAML, comma-separated on the command line.
    """

    host: str = "127.0.0.1"
    port: int = 5000
    auth_token: str | None = None
    subtask_timeout_s: float = 60.0
    max_replans: int = 2
    max_body_bytes: int = 64 * 1024
    plan_timeout_s: float = 30.0
    offline_check_interval_s: float = 1.0
    offline_grace_s: float = 3.0
    bridge_timeout_s: float = 10.0
    http_threads: int = 16
    max_event_streams: int = 300
    connection_limit: int = 1000
    channel_timeout_s: float = 30.0
    redis_max_connections: int = 50
    redis_pool_timeout_s: float = 5.0
    cors_origins: tuple[str, ...] = UI_ORIGINS

    def __post_init__(self) -> None:
        self.cors_origins = _check_origins(self.cors_origins)
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"host must be a non-empty string, got {self.host!r}")
        _check_int("port", self.port, low=0, high=65535)
        _check_int("max_replans", self.max_replans, low=0, high=100)
        _check_int("max_body_bytes", self.max_body_bytes, low=1024, high=64 * 1024 * 1024)
        _check_int("http_threads", self.http_threads, low=1, high=1024)
        _check_int("max_event_streams", self.max_event_streams, low=0, high=10_000)
        _check_int("connection_limit", self.connection_limit, low=1, high=100_000)
        _check_int("redis_max_connections", self.redis_max_connections, low=4, high=10_000)
        for name in ("subtask_timeout_s", "plan_timeout_s", "offline_check_interval_s", "offline_grace_s", "bridge_timeout_s",
                     "channel_timeout_s", "redis_pool_timeout_s"):
            _check_positive(name, getattr(self, name))
        if self.connection_limit < self.http_threads + self.max_event_streams:
            raise ValueError(
                f"connection_limit must be at least http_threads + max_event_streams: got {self.connection_limit} "
                f"for connection_limit and {self.http_threads} + {self.max_event_streams}"
            )
        if self.auth_token is not None and (not isinstance(self.auth_token, str) or not self.auth_token.strip()):
            raise ValueError("auth_token must be a non-empty string or None")
        if self.host not in LOOPBACK_HOSTS and self.auth_token is None:
            raise ValueError(
                f"auth_token is required when host is {self.host!r} (beyond loopback); "
                "set one, or bind to 127.0.0.1"
            )

    def to_argv(self) -> list[str]:
        """``roboos master`` flags for every field but ``auth_token`` (a secret stays out of argv:
        the master reads ``ROBOOS_AUTH_TOKEN``)."""
        return [arg for f in fields(self) if f.name != "auth_token" for arg in (flag_of(f.name), self._flag_value(f.name))]

    def _flag_value(self, name: str) -> str:
        value = getattr(self, name)
        return ",".join(value) if isinstance(value, tuple) else str(value)

    def redacted(self) -> dict[str, Any]:
        """The config as a dict for logging, with the token hidden."""
        data = asdict(self)
        data["cors_origins"] = list(self.cors_origins)
        if data["auth_token"]:
            data["auth_token"] = "***"
        return data


def _check_int(name: str, value: object, *, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def _check_positive(name: str, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0, got {value}")


def _check_origins(value: object) -> tuple[str, ...]:
    """``cors_origins`` as a tuple of origins; a list (YAML) or a tuple is accepted."""
    if not isinstance(value, list | tuple) or not all(isinstance(o, str) for o in value):
        raise ValueError(f"cors_origins must be a list of origins such as 'http://127.0.0.1:8888', got {value!r}")
    for origin in value:
        if origin != ANY_ORIGIN and not ORIGIN.fullmatch(origin):
            raise ValueError(f"cors_origins: {origin!r} is not an origin: give scheme://host[:port] "
                             "(http or https, no path or trailing slash), or '*' for any")
    if ANY_ORIGIN in value and len(value) > 1:
        raise ValueError(f"cors_origins: '*' allows every origin and must stand alone, got {list(value)}")
    return tuple(value)


def parse_origins(text: str) -> tuple[str, ...]:
    """The ``--cors-origins`` flag: comma-separated origins; an empty string allows none."""
    return tuple(o.strip() for o in text.split(",") if o.strip())


def flag_of(field_name: str) -> str:
    """The command-line flag of a ``MasterConfig`` field: ``subtask_timeout_s`` -> ``--subtask-timeout``."""
    return "--" + field_name.removesuffix("_s").replace("_", "-")


FLAG_HELP = {  # the help of each field's flag, where the name does not say enough
    "auth_token": "bearer token for POST endpoints (or ROBOOS_AUTH_TOKEN)",
    "plan_timeout_s": "seconds planning may take before publish answers 504",
    "max_body_bytes": "larger request bodies get 413",
    "offline_check_interval_s": "seconds between liveness checks of robots with running subtasks",
    "offline_grace_s": "seconds a robot with work must stay offline (Redis answering) before its work fails",
    "bridge_timeout_s": "seconds an HTTP handler waits on the scheduler loop",
    "http_threads": "worker threads for requests (each /events stream has one more of its own)",
    "max_event_streams": "open /events streams allowed; more get 503",
    "connection_limit": "open HTTP connections allowed; more wait in the listen backlog",
    "channel_timeout_s": "seconds before an idle or half-sent connection is closed",
    "redis_max_connections": "size of the master's Redis connection pool",
    "redis_pool_timeout_s": "seconds a request waits for a free Redis connection before 503",
    "cors_origins": "comma-separated origins whose pages may call the API ('*' for any, '' for none)",
}

FLAG_TYPES = {"cors_origins": parse_origins}  # how a flag's text becomes the field, where not the default's type
