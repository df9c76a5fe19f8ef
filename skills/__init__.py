"""Robot skills over MCP: the SDK for skill servers, the client, simulated embodiments."""

from skills.client import SkillClient
from skills.errors import SkillError, SkillFailure, SkillUnavailable
from skills.sdk import CAPABILITIES_URI, SEMANTICS_KEY, SkillResult, SkillServer

__all__ = [
    "CAPABILITIES_URI",
    "SEMANTICS_KEY",
    "SkillClient",
    "SkillError",
    "SkillFailure",
    "SkillResult",
    "SkillServer",
    "SkillUnavailable",
]
