"""A tiny real MCP skill server whose ``pick`` trusts the caller about where the object lies.

The simulated robots check the world before they report effects, so their effects conflict with
the scene only in a race; this one lets a test produce a scene conflict deterministically.
"""

from __future__ import annotations

from typing import Any, TypedDict

from mcp.server.mcpserver import MCPServer

from skills.sdk import SEMANTICS_KEY


class SkillOutput(TypedDict):
    message: str
    effects: list[dict[str, Any]]


def build_trusting_server(robot: str) -> MCPServer:
    server = MCPServer(f"trusting-{robot}")

    @server.tool(meta={SEMANTICS_KEY: {"kind": "pick", "roles": {"object": "object"}}})
    async def pick(object: str, source: str) -> SkillOutput:
        """Pick up an object from ``source``, without looking."""
        effect = {"op": "move", "node": object, "parent": robot, "relation": "held_by", "expect_parent": source}
        return {"message": f"picked {object} from {source}", "effects": [effect]}

    return server
