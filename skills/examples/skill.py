"""An example robot-side skill server: what runs on the robot, over streamable HTTP.

Run it on the robot, then point the robot's slaver at ``http://ROBOT:8101/mcp``::

    python -m skills.examples.skill --host 0.0.0.0 --port 8101

Replace the bodies with calls into your robot's driver; keep the signatures, docstrings and
semantics, which are what the planner reads. This example keeps its state in memory.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Annotated

from pydantic import Field

from memory.messages import Effect
from skills.sdk import SkillFailure, SkillResult, SkillServer

ROBOT = "arm-1"
REACHABLE = {"workbench", "tray"}  # what the arm can reach from where it is bolted down

robot = SkillServer(
    ROBOT,
    embodiment="fixed_single_arm",
    capabilities={"mobile": False, "arms": 1, "payload_kg": 1.0, "zones": ["workshop"]},
    instructions="A fixed arm at the workshop bench.",
)
holding: dict[str, str] = {}  # object -> where it was picked from


@robot.skill(kind="pick", object="object")
async def pick(
    object: Annotated[str, Field(description="The object to pick up")],
    source: Annotated[str, Field(description="Where it lies: workbench or tray")] = "workbench",
) -> SkillResult:
    """Pick up an object from the workbench or the tray."""
    if holding:
        raise SkillFailure(f"the gripper already holds {next(iter(holding))}: place it first")
    if source not in REACHABLE:
        raise SkillFailure(f"{source} is out of reach: put {object} on the workbench or the tray")
    holding[object] = source  # a real robot would move here
    return SkillResult(message=f"picked {object} from the {source}", effects=[
        Effect(op="move", node=object, parent=ROBOT, relation="held_by", expect_parent=source)])


@robot.skill(kind="place", object="object", target="target")
async def place(
    object: Annotated[str, Field(description="The held object")],
    target: Annotated[str, Field(description="Where to put it: workbench or tray")],
) -> SkillResult:
    """Place the held object on the workbench or the tray."""
    if object not in holding:
        raise SkillFailure(f"not holding {object}: pick it up first")
    if target not in REACHABLE:
        raise SkillFailure(f"{target} is out of reach: use the workbench or the tray")
    del holding[object]
    return SkillResult(message=f"placed {object} on the {target}", effects=[
        Effect(op="move", node=object, parent=target, relation="on", expect_parent=ROBOT)])


@robot.skill(kind="other")
async def wave() -> SkillResult:
    """Wave the arm to greet someone. Changes nothing in the world."""
    return SkillResult(message="waved")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="example robot-side skill server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)  # MCPServer set up its own
    robot.run("streamable-http", host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
