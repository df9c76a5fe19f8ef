"""The skills package's exceptions."""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

__all__ = ["SkillError", "SkillFailure", "SkillUnavailable"]


class SkillError(Exception):
    """Base class of every error the skills package raises."""


class SkillFailure(SkillError, ToolError):
    """A skill could not act. The message says why and what would fix it.

    Raised inside a skill; the MCP client sees a result with ``is_error`` and this message.
    """


class SkillUnavailable(SkillError):
    """The skill server cannot be reached (not started, crashed, wrong URL or command)."""
