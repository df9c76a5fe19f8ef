"""The slaver: one agent per robot, running its subtasks with the robot's MCP skills."""

from slaver.agent import Slaver
from slaver.config import SlaverConfig
from slaver.errors import SkillServerUnreachable, SlaverConfigError, SlaverError
from slaver.skill_link import SkillLink

__all__ = ["SkillLink", "SkillServerUnreachable", "Slaver", "SlaverConfig", "SlaverConfigError", "SlaverError"]
