"""The slaver's configuration: the ``slaver:`` section every slaver shares (``SlaverSettings``), and
one robot's ``SlaverConfig``: which robot it serves and how it reaches the robot's skills."""

from __future__ import annotations

import shlex
from typing import Annotated

from pydantic import Field, model_validator

from memory.settings import Settings
from memory.shared_memory import MAX_BLOCK_MS, redact_url

__all__ = ["SlaverConfig", "SlaverSettings"]

Seconds = Annotated[float, Field(gt=0)]


class SlaverSettings(Settings):
    """What every slaver of a deployment shares (the ``slaver:`` section)."""

    heartbeat_interval_s: Seconds = 1.0
    liveness_ttl_s: Seconds = 3.0  # a robot without a heartbeat for this long is offline
    read_block_ms: int = Field(1000, gt=0, le=MAX_BLOCK_MS)  # Redis must reply within its socket timeout
    default_call_timeout_s: Seconds = 30.0
    connect_timeout_s: Seconds = 15.0
    # After the skill server is found unreachable: reconnect after 0.5 s, doubling up to 30 s (jittered).
    reconnect_initial_s: Seconds = 0.5
    reconnect_max_s: Seconds = 30.0
    max_steps: int = Field(20, ge=1)  # bound on step-planner actions for a subtask given without tool calls

    @model_validator(mode="after")
    def _consistent(self) -> SlaverSettings:
        if self.liveness_ttl_s <= self.heartbeat_interval_s:
            raise ValueError(
                f"liveness_ttl_s must be greater than heartbeat_interval_s, got {self.liveness_ttl_s} "
                f"for liveness_ttl_s and {self.heartbeat_interval_s} for heartbeat_interval_s"
            )
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError(
                f"reconnect_max_s must be >= reconnect_initial_s, got {self.reconnect_max_s} "
                f"for reconnect_max_s and {self.reconnect_initial_s} for reconnect_initial_s"
            )
        return self


class SlaverConfig(SlaverSettings):
    """One robot's slaver.

    The skill server is either spawned over stdio (``skill_command``, an argv list) or reached
    over streamable HTTP (``skill_url``); leave both empty only when handing the slaver a
    connected skill client yourself.
    """

    robot: str = Field(min_length=1)
    embodiment: str = Field(min_length=1)
    start_place: str | None = None
    skill_command: list[str] = Field(default_factory=list)
    skill_url: str = ""
    # Semantics for the tools of a server without them (a RoboOS skill.py): {tool: {"kind": ..., role: arg}}
    skill_annotations: dict[str, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_endpoint(self) -> SlaverConfig:
        if self.skill_command and self.skill_url:
            raise ValueError(
                "set one of skill_command (stdio) and skill_url (HTTP), not both; "
                f"got skill_command={self.skill_command!r} and skill_url={self.skill_url!r}"
            )
        return self

    @classmethod
    def for_robot(cls, settings: SlaverSettings, **robot: object) -> SlaverConfig:
        """The shared ``settings`` with one robot's name, embodiment, place and skill endpoint."""
        return cls.model_validate({**settings.model_dump(), **robot})

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
