"""The simulator and the plan check agree on every action of every embodiment (property-based).

Random action sequences on the apartment scene (doors, a locked door, heights, stations, a drone's
basket, nested containers, capacities) and the supermarket (no passages, a wheeled dual arm) go two
ways at once:

- through each robot's simulated skill server, over a real MCP session, against the scene in real
  Redis, where a process knows only its own body and reads only the neighbourhood of the call;
- through the world rules on a full copy of the world with every body, as the plan check and the
  planner apply them.

Each action must succeed in both or fail in both with the same reason, and on success have the
same effects. An action kind a robot has no skill for must be one the rules refuse for its body.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from memory import RobotProfile, SharedMemory
from memory.world import ACTION_KINDS, RuleViolation, WorldState, act, body_for
from scene import load_scene
from scene.profile import FleetEntry
from skills.client import SkillClient
from skills.sim import build_sim_server
from skills.sim.embodiments import embodiment_spec

ROLE_KINDS = {  # role -> the kinds of node that fit it
    "navigate": {"target": ("place", "furniture", "container")},
    "pick": {"object": ("object",)},
    "place": {"object": ("object",), "target": ("furniture", "container")},
    "open": {"target": ("container", "door")},
    "close": {"target": ("container", "door")},
    "handover": {"object": ("object",), "target": ("robot",)},
}
ARGUMENT = {"handover": {"target": "robot"}}  # role -> the simulated tool's argument, where they differ


class Scene:
    """A bundled scene with its fleet's bodies: the apartment (doors, heights, stations, a basket)
    and the supermarket (no passages, a wheeled dual arm) have every embodiment between them."""

    def __init__(self, name: str) -> None:
        self.profile = load_scene(name)
        self.bodies = {e.name: body_for(e.embodiment, e.body_overrides(), e.zones) for e in self.profile.fleet}
        self.kinds = {n.name: n.kind for n in self.profile.world_nodes()}

    def fitting(self, role_kinds: tuple[str, ...]) -> list[str]:
        return sorted(n for n, k in self.kinds.items() if k in role_kinds)

    def allowed(self, state: WorldState, robot: str, kind: str) -> list[dict[str, str]]:
        """Every call of ``kind`` the rules allow ``robot`` now (a place or handover: of what it holds)."""
        if kind in ("place", "handover"):
            targets = self.fitting(ROLE_KINDS[kind]["target"])
            calls = [{"object": o, "target": t} for o in state.holding(robot) for t in targets]
        else:
            [(role, kinds)] = ROLE_KINDS[kind].items()
            calls = [{role: n} for n in self.fitting(kinds)]
        return [c for c in calls if _rules_allow(state, robot, kind, c)]

    def draw_call(self, data: st.DataObject, state: WorldState) -> tuple[str, str, dict[str, str]]:
        """A robot, an action kind and its roles: mostly a call the rules allow now (so sequences
        get somewhere), else any names of fitting kinds, else any names at all."""
        robot = data.draw(st.sampled_from(sorted(self.bodies)))
        kind = data.draw(st.sampled_from(ACTION_KINDS))
        allowed = self.allowed(state, robot, kind)
        how = data.draw(st.sampled_from(("allowed", "allowed", "fitting", "any")))
        if how == "allowed" and allowed:
            return robot, kind, data.draw(st.sampled_from(allowed))
        names = self.fitting if how != "any" else (lambda kinds: sorted(self.kinds))
        return robot, kind, {role: data.draw(st.sampled_from(names(kinds))) for role, kinds in ROLE_KINDS[kind].items()}


SCENES = {name: Scene(name) for name in ("apartment", "supermarket")}


def _rules_allow(state: WorldState, robot: str, kind: str, roles: dict[str, str]) -> bool:
    try:
        act(state, robot, kind, roles)
    except RuleViolation:
        return False
    return True


@pytest.mark.parametrize("name", sorted(SCENES))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_simulator_and_plan_check_agree(redis_url: str, name: str, data: st.DataObject) -> None:
    asyncio.run(_run(redis_url, SCENES[name], data))


async def _run(redis_url: str, scene: Scene, data: st.DataObject) -> None:
    prefix = f"test-agree-{uuid.uuid4().hex[:8]}:"
    memory = await SharedMemory.connect(redis_url, prefix=prefix)
    state = WorldState.from_nodes(scene.profile.world_nodes(), scene.bodies)
    try:
        await memory.scene.load(scene.profile.world_nodes())
        async with AsyncExitStack() as stack:
            robots = {e.name: await stack.enter_async_context(_robot(memory, redis_url, prefix, scene, e))
                      for e in scene.profile.fleet}
            for _ in range(data.draw(st.integers(4, 30))):
                robot, kind, roles = scene.draw_call(data, state)
                await _agree(memory, state, scene, robot, robots[robot], kind, roles)
    finally:
        await memory.clear()
        await memory.close()


@asynccontextmanager
async def _robot(memory: SharedMemory, redis_url: str, prefix: str, scene: Scene,
                 entry: FleetEntry) -> AsyncIterator[SkillClient]:
    """A registered simulated robot of the scene's fleet, reached over an in-process MCP session."""
    body = scene.bodies[entry.name]
    profile = RobotProfile(entry.name, entry.embodiment, capabilities=body.to_capabilities(entry.embodiment))
    await memory.robots.register(profile, entry.start)
    server = build_sim_server(entry.name, entry.embodiment, redis_url=redis_url, prefix=prefix, zones=list(entry.zones),
                              speed=0.0, body_overrides=entry.body_overrides())
    async with SkillClient.in_process(server) as client:
        yield client


async def _agree(memory: SharedMemory, state: WorldState, scene: Scene, robot: str, client: SkillClient, kind: str,
                 roles: dict[str, str]) -> None:
    entry = next(e for e in scene.profile.fleet if e.name == robot)
    skill = next((s for s in embodiment_spec(entry.embodiment).skills_for(scene.bodies[robot]) if s.kind == kind), None)
    try:
        outcome = act(state, robot, kind, roles)
        expected = None
    except RuleViolation as e:
        expected = str(e)
    if skill is None:
        assert expected is not None, f"{robot} has no {kind} skill, but the rules allow {kind} {roles}"
        return
    renamed = ARGUMENT.get(kind, {})
    result = await client.call(skill.name, {renamed.get(r, r): v for r, v in roles.items()}, timeout_s=10)
    where = f"{robot} {kind} {roles}"
    if expected is not None:
        assert not result.ok, f"{where}: the simulator did it, the rules refuse it: {expected}"
        assert expected in result.message, f"{where}: the simulator says {result.message!r}, the rules {expected!r}"
        return
    assert result.ok, f"{where}: the rules allow it, the simulator says: {result.message}"
    assert [e.to_dict() for e in outcome.effects] == [e.to_dict() for e in result.effects], where
    state.apply(outcome.effects)
    await memory.scene.apply(result.effects, robot=robot)
    event(f"{kind} done")
