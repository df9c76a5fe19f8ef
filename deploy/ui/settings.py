"""The UI's settings, checked once: where it listens, which master it serves, the master's token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploy.errors import DeployError
from memory.settings import is_loopback

__all__ = ["UIError", "UISettings"]

DEFAULT_PORT = 8888
DEFAULT_MASTER = "http://127.0.0.1:5000"


class UIError(DeployError):
    """The UI cannot start as configured."""


@dataclass(frozen=True)
class UISettings:
    """``token`` is the master's (``ROBOOS_AUTH_TOKEN``): with one, every browser session logs in with it.

    ``max_streams`` bounds the live relays of the master's ``/events`` (one server thread each);
    ``stream_s`` bounds each relay's life (the browser reconnects with ``Last-Event-ID``).
    ``configs_dir`` holds the Setup page's named configs (created 0700 on the first save).
    ``stack_run_dir`` is the run folder of the stack that started this UI (its ``components.json``
    and logs, for the Launch page); None when the UI runs on its own.
    """

    master_url: str = DEFAULT_MASTER
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    threads: int = 8
    max_streams: int = 32
    stream_s: float = 300.0
    master_timeout_s: float = 10.0
    publish_timeout_s: float = 120.0
    max_sessions: int = 1000
    session_idle_s: float = 12 * 3600.0
    configs_dir: Path = Path("configs")
    stack_run_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.master_url.startswith(("http://", "https://")):
            raise UIError(f"the master URL must start with http:// or https://, got {self.master_url!r}")
        if not 0 <= self.port <= 65535:
            raise UIError(f"port must be between 0 and 65535, got {self.port}")
        if self.token is not None and not self.token.strip():
            raise UIError("the token must not be empty: unset ROBOOS_AUTH_TOKEN or give the master's token")
        if not is_loopback(self.host) and not self.token:
            raise UIError(f"binding the UI to {self.host} (beyond loopback) needs a token: set ROBOOS_AUTH_TOKEN "
                          "to the master's token (browsers then log in with it), or bind to 127.0.0.1")
        for name in ("threads", "max_streams", "max_sessions"):
            if getattr(self, name) < 1:
                raise UIError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)
