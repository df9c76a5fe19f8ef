"""The slaver's configuration: which robot it serves and how it reaches the robot's skills."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from memory.shared_memory import redact_url
from slaver.errors import SlaverConfigError

__all__ = ["SlaverConfig"]


@dataclass
class SlaverConfig:
    """One robot's slaver.

    The skill server is either spawned over stdio (``skill_command``, an argv list) or reached
    over streamable HTTP (``skill_url``); leave both empty only when handing the slaver a
    connected skill client yourself.
    """

    robot: str
    embodiment: str
    start_place: str | None = None
    skill_command: list[str] = field(default_factory=list)
    skill_url: str = ""
    heartbeat_interval_s: float = 1.0
    liveness_ttl_s: float = 3.0
    read_block_ms: int = 1000
    default_call_timeout_s: float = 30.0
    connect_timeout_s: float = 15.0
    # After the skill server is found unreachable: reconnect after 0.5 s, doubling up to 30 s (jittered).
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0
    max_steps: int = 20  # bound on step-planner actions for a subtask given without tool calls

    def __post_init__(self) -> None:
        if not self.robot:
            raise SlaverConfigError("robot must be a non-empty name")
        if not self.embodiment:
            raise SlaverConfigError(f"embodiment must be set for robot {self.robot!r}")
        if self.skill_command and self.skill_url:
            raise SlaverConfigError(
                "set one of skill_command (stdio) and skill_url (HTTP), not both; "
                f"got skill_command={self.skill_command!r} and skill_url={self.skill_url!r}"
            )
        for name in ("heartbeat_interval_s", "liveness_ttl_s", "default_call_timeout_s", "connect_timeout_s",
                     "reconnect_initial_s"):
            if getattr(self, name) <= 0:
                raise SlaverConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.liveness_ttl_s <= self.heartbeat_interval_s:
            raise SlaverConfigError(
                f"liveness_ttl_s must be greater than heartbeat_interval_s, got {self.liveness_ttl_s} "
                f"for liveness_ttl_s and {self.heartbeat_interval_s} for heartbeat_interval_s"
            )
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise SlaverConfigError(
                f"reconnect_max_s must be >= reconnect_initial_s, got {self.reconnect_max_s} "
                f"for reconnect_max_s and {self.reconnect_initial_s} for reconnect_initial_s"
            )
        if self.read_block_ms <= 0:
            raise SlaverConfigError(f"read_block_ms must be > 0, got {self.read_block_ms}")
        if self.max_steps < 1:
            raise SlaverConfigError(f"max_steps must be >= 1, got {self.max_steps}")

    @property
    def skill_endpoint(self) -> str:
        """The skill server's address for display: ``stdio:<command>`` or the URL, with the password
        of any URL in them replaced (it is registered, shown by ``GET /robots`` and logged)."""
        if self.skill_url:
            return redact_url(self.skill_url)
        return "stdio:" + shlex.join(_redacted(a) for a in self.skill_command) if self.skill_command else ""


def _redacted(argument: str) -> str:
    """A command-line argument with the password of a URL in it replaced (``URL`` or ``--flag=URL``)."""
    flag, equals, value = argument.partition("=")
    if equals and flag.startswith("-"):
        return f"{flag}={redact_url(value)}"
    return redact_url(argument)
