"""Simulated embodiments: skills per body, capabilities, speed and fault injection."""

from __future__ import annotations

import time

import pytest

from skills.errors import SkillError
from skills.sim import EMBODIMENTS, build_sim_server, embodiment_spec
from tests.skills.conftest import SimClient

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("embodiment", sorted(EMBODIMENTS))
async def test_skills_and_capabilities_match_the_body(embodiment: str, sim_robot: SimClient) -> None:
    body = embodiment_spec(embodiment)
    async with sim_robot("bot", embodiment, "kitchen", zones=["kitchen"]) as bot:
        kinds = {s.name: s.semantics.kind for s in await bot.list_skills()}
        capabilities = await bot.capabilities()
    world_body = body.body.with_overrides({"zones": ("kitchen",)})
    assert kinds == {s.name: s.kind for s in body.skills_for(world_body)}
    assert capabilities == world_body.to_capabilities(embodiment)
    assert capabilities["grippers"] == body.body.grippers and capabilities["reach"] == list(body.body.reach)
    assert ("navigate" in kinds.values()) == body.body.mobile


async def test_drone_flies_and_cannot_open(sim_robot: SimClient) -> None:
    async with sim_robot("drone", "drone", "kitchen") as drone:
        specs = {s.name: s for s in await drone.list_skills()}
        flown = await drone.call("fly_to", {"target": "serving_table"})
    assert specs["fly_to"].semantics.kind == "navigate"
    assert specs["fly_to"].semantics.roles == {"target": "target"}
    assert "open" not in specs and "close" not in specs
    assert flown.ok and flown.effects[0].parent == "pass"


async def test_failure_probability_one_always_fails(sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen", failure_probability=1.0, seed=1) as chef:
        outcomes = [await chef.call("navigate", {"target": "pass"}) for _ in range(3)]
    assert all(not o.ok and o.message.startswith("injected fault: navigate failed on chef") for o in outcomes)


async def test_seeded_faults_repeat(sim_robot: SimClient) -> None:
    async def pattern() -> list[bool]:
        async with sim_robot("chef", "wheeled_dual_arm", "kitchen", failure_probability=0.5, seed=7) as chef:
            return [(await chef.call("navigate", {"target": "pass"})).ok for _ in range(12)]

    first, second = await pattern(), await pattern()
    assert first == second
    assert True in first and False in first


async def test_added_latency_is_at_least_what_was_asked(sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen", added_latency_s=0.3) as chef:
        started = time.monotonic()
        outcome = await chef.call("navigate", {"target": "pass"})
        elapsed = time.monotonic() - started
    assert outcome.ok
    assert elapsed >= 0.3 and outcome.duration_s >= 0.3


async def test_speed_scales_the_duration_and_zero_is_instant(sim_robot: SimClient) -> None:
    navigate = next(s for s in embodiment_spec("wheeled_dual_arm").skills if s.kind == "navigate")
    async with sim_robot("fast", "wheeled_dual_arm", "kitchen", speed=0.0) as fast:
        instant = await fast.call("navigate", {"target": "pass"})
    async with sim_robot("slow", "wheeled_dual_arm", "kitchen", speed=0.1) as slow:
        scaled = await slow.call("navigate", {"target": "pass"})
    assert instant.ok and instant.duration_s < 0.15
    assert scaled.ok and scaled.duration_s >= navigate.duration_s * 0.1


def test_bad_settings_and_unknown_embodiment_are_refused() -> None:
    with pytest.raises(SkillError, match="unknown embodiment 'tank', should be one of: drone, fixed_single_arm"):
        build_sim_server("r", "tank", redis_url="redis://127.0.0.1:1", prefix="p:")
    with pytest.raises(SkillError, match="failure_probability must be between 0 and 1"):
        build_sim_server("r", "drone", redis_url="redis://127.0.0.1:1", prefix="p:", failure_probability=2)
    with pytest.raises(SkillError, match="speed must be >= 0"):
        build_sim_server("r", "drone", redis_url="redis://127.0.0.1:1", prefix="p:", speed=-1)
