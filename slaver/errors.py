"""Errors raised by the slaver."""

from __future__ import annotations

__all__ = ["RobotTaken", "SlaverConfigError", "SlaverError", "SkillServerUnreachable"]


class SlaverError(Exception):
    """Base class for slaver errors."""


class SlaverConfigError(SlaverError, ValueError):
    """A slaver setting is missing or out of range; the message names the field."""


class SkillServerUnreachable(SlaverError):
    """The robot's skill server could not be reached (not started, crashed, wrong address)."""


class RobotTaken(SlaverError):
    """Another slaver serves this robot (it holds the robot's lease): two must never run its subtasks."""
