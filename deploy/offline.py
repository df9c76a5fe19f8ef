"""Planning with no servers and no Redis: a scene's world as the master would see it, planned and
run in-process with the world rules.

The robots' skills and capabilities come from the same simulated skill servers the stack starts
(built, never run: their lifespan is what connects to Redis), converted the way a slaver
registers them, so the planner sees exactly the fleet it would see live::

    world = await scene_world(load_scene("restaurant"))
    run = await plan_offline("bring the cup to table 2", world)
    run.ok, run.final["cup"]          # True, ("on", "table_2")

Robots on the ``x0`` skill backend are planned with their simulated skills (no action model is
loaded); their ``generate_actions`` tool is not part of the offline world.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from brain.errors import PlanningError
from brain.plan import Plan
from brain.plan_check import PlanCheck, check_plan
from brain.planner import Planner
from brain.validation import validate_plan
from brain.world import WorldView
from memory.profiles import RobotProfile, RobotRecord, SceneNode, SceneSnapshot
from scene.profile import FleetEntry, SceneProfile
from skills.client import skill_spec
from skills.sim.server import build_sim_server

__all__ = ["Final", "OfflineRun", "build_world", "plan_offline", "robot_profile", "scene_world"]

# Node -> (relation, parent) after a plan: robots are "at" their place, objects on/in/held_by.
Final = dict[str, tuple[str | None, str | None]]

_OFFLINE_REDIS = "redis://offline.invalid:6379/0"  # never connected: the server's lifespan does not run


@dataclass
class OfflineRun:
    """One instruction planned offline: the plan or why it was refused, its checks and end state."""

    instruction: str
    plan: Plan | None = None
    refused: str | None = None
    validation: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)  # rules the plan's calls break (no goals)
    check: PlanCheck | None = None  # rules and the instruction's goals
    final: Final = field(default_factory=dict)  # every node after the simulated plan
    plan_ms: float = 0.0  # the planner's call alone
    elapsed_ms: float = 0.0  # planning, validation, check and simulation

    @property
    def ok(self) -> bool:
        """Planned, dispatchable, and the simulated plan breaks no rule and meets every goal."""
        return self.plan is not None and not self.validation and not (self.check and self.check.errors)

    @property
    def tool_calls(self) -> int:
        return sum(len(s.actions) for s in self.plan.steps) if self.plan else 0


async def robot_profile(entry: FleetEntry) -> RobotProfile:
    """The profile ``entry``'s slaver would register: its sim server's tools and capabilities."""
    server = build_sim_server(entry.name, entry.embodiment, redis_url=_OFFLINE_REDIS, prefix="offline:",
                              zones=list(entry.zones), speed=0, body_overrides=entry.body_overrides())
    tools = await server.mcp.list_tools()
    capabilities = json.loads(json.dumps(server.capabilities))  # as its capabilities resource sends them
    return RobotProfile(name=entry.name, embodiment=entry.embodiment, skills=[skill_spec(t) for t in tools],
                        skill_endpoint="offline", capabilities=capabilities)


async def scene_world(profile: SceneProfile) -> WorldView:
    """The planner's view of ``profile`` with every robot online, idle, at its start: the nodes the
    stack loads (robot and cargo nodes included) and the profiles the slavers would register."""
    return await build_world(profile.world_nodes(), profile.fleet)


async def build_world(nodes: list[SceneNode], fleet: list[FleetEntry]) -> WorldView:
    """A world from scene nodes (robot nodes included) and the fleet whose profiles are built offline."""
    records = [RobotRecord(await robot_profile(e), online=True, position=e.start).to_dict() for e in fleet]
    snapshot = SceneSnapshot(version=1, nodes={n.name: n for n in nodes})
    return WorldView.from_dicts(records, snapshot.to_dict())


async def plan_offline(instruction: str, world: WorldView, planner: Planner | None = None) -> OfflineRun:
    """Plan ``instruction`` on ``world``, validate it, check and simulate it with the world rules."""
    planner = planner or Planner.create("symbolic")
    run = OfflineRun(instruction)
    started = time.perf_counter()
    try:
        run.plan = await planner.plan(instruction, world)
    except PlanningError as e:
        run.refused = str(e)
    run.plan_ms = (time.perf_counter() - started) * 1000
    if run.plan is not None:
        run.validation = validate_plan(run.plan, world)
        effects = check_plan(run.plan, world)  # the rules alone: no goals
        run.violations, run.final = list(effects.errors), dict(effects.final)
        run.check = check_plan(run.plan, world, instruction)
    run.elapsed_ms = (time.perf_counter() - started) * 1000
    return run
