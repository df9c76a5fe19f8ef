"""The slaver: one agent per robot, running its subtasks with the robot's MCP skills.

``slaver.agent.Slaver`` (the agent), ``slaver.config`` (``SlaverConfig``, the ``slaver:`` section),
``slaver.skill_link.SkillLink`` (the connection to the skill server). Nothing is imported here, so
reading the configuration does not load the MCP client.
"""
