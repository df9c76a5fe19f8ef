"""Preconditions of the simulated world, checked through a real MCP client against real Redis."""

from __future__ import annotations

import pytest

from memory import SharedMemory
from skills.client import SkillClient
from tests.skills.conftest import SimClient

pytestmark = pytest.mark.anyio


async def act(memory: SharedMemory, robot: SkillClient, name: str, **arguments: str) -> str:
    """Call a skill that must succeed and apply its effects, as the slaver would."""
    outcome = await robot.call(name, arguments, timeout_s=10)
    assert outcome.ok, outcome.message
    await memory.scene.apply(outcome.effects, robot=robot.endpoint)
    return outcome.message


async def test_fetch_and_serve_changes_the_world(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen", zones=["kitchen", "pass"]) as chef:
        await act(world, chef, "pick", object="apple")
        assert (await world.scene.get("apple")).parent == "chef"
        await act(world, chef, "navigate", target="serving_table")
        await act(world, chef, "place", object="apple", target="serving_table")
    apple, robot = await world.scene.get("apple"), await world.scene.get("chef")
    assert (apple.parent, apple.relation) == ("serving_table", "on")
    assert (robot.parent, robot.relation) == ("pass", "at")


async def test_pick_effect_is_guarded_by_the_current_parent(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen") as chef:
        outcome = await chef.call("pick", {"object": "apple"})
    [effect] = outcome.effects
    assert (effect.op, effect.node, effect.parent, effect.relation, effect.expect_parent) == (
        "move", "apple", "chef", "held_by", "kitchen_table")


async def test_pick_out_of_reach_says_to_navigate(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("waiter", "humanoid", "dining_room") as waiter:
        outcome = await waiter.call("pick", {"object": "apple"})
    assert not outcome.ok
    assert "apple is in the kitchen but waiter is in the dining_room" in outcome.message
    assert "navigate to the kitchen_table first" in outcome.message


async def test_fixed_arm_cannot_reach_another_place(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("arm", "fixed_single_arm", "pass") as arm:
        assert "navigate" not in {s.name for s in await arm.list_skills()}
        outcome = await arm.call("pick", {"object": "apple"})
    assert not outcome.ok and "cannot move" in outcome.message and "ask a robot" in outcome.message


async def test_closed_container_must_be_opened_first(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen") as chef:
        outcome = await chef.call("pick", {"object": "cheese"})
        assert not outcome.ok
        assert outcome.message == "cheese is in the fridge, which is closed: open the fridge first"
        await act(world, chef, "open", target="fridge")
        assert (await world.scene.get("fridge")).props["open"] is True
        await act(world, chef, "pick", object="cheese")


async def test_place_into_closed_container_fails(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen") as chef:
        await act(world, chef, "pick", object="apple")
        outcome = await chef.call("place", {"object": "apple", "target": "fridge"})
        assert not outcome.ok and "the fridge is closed: open the fridge first" in outcome.message
        await act(world, chef, "open", target="fridge")
        await act(world, chef, "place", object="apple", target="fridge")
    apple = await world.scene.get("apple")
    assert (apple.parent, apple.relation) == ("fridge", "in")


async def test_hands_full(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen") as chef:
        await act(world, chef, "pick", object="apple")
        await act(world, chef, "pick", object="bread")
        outcome = await chef.call("pick", {"object": "cup"})
    assert not outcome.ok
    assert outcome.message == "chef's 2 grippers are full (holding apple, bread): place something first"


async def test_payload_limit(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("waiter", "humanoid", "kitchen") as waiter:
        outcome = await waiter.call("pick", {"object": "soup_pot"})
    assert not outcome.ok
    assert "soup_pot weighs 4 kg, more than waiter's payload of 3 kg" in outcome.message


async def test_navigation_is_limited_to_zones(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen", zones=["kitchen", "pass"]) as chef:
        outcome = await chef.call("navigate", {"target": "table_1"})
        assert not outcome.ok
        assert "table_1 is in the dining_room, outside chef's zones (kitchen, pass)" in outcome.message
        assert (await chef.call("navigate", {"target": "pass"})).ok


async def test_object_held_by_another_robot(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen") as chef:
        await act(world, chef, "pick", object="apple")
    async with sim_robot("waiter", "humanoid", "kitchen") as waiter:
        outcome = await waiter.call("pick", {"object": "apple"})
        assert not outcome.ok and "apple is held by chef" in outcome.message
        outcome = await waiter.call("place", {"object": "apple", "target": "kitchen_table"})
        assert not outcome.ok and "waiter is not holding apple: pick it up first" in outcome.message


async def test_unknown_thing_and_wrong_kind(world: SharedMemory, sim_robot: SimClient) -> None:
    async with sim_robot("chef", "wheeled_dual_arm", "kitchen") as chef:
        missing = await chef.call("pick", {"object": "banana"})
        furniture = await chef.call("pick", {"object": "kitchen_table"})
        not_container = await chef.call("open", {"target": "kitchen_table"})
    assert "there is no 'banana' in the scene" in missing.message
    assert "kitchen_table is furniture, not an object" in furniture.message
    assert "not a container" in not_container.message


async def test_unregistered_robot_is_told_to_register(world: SharedMemory, redis_url: str, key_prefix: str) -> None:
    from skills.sim import build_sim_server

    server = build_sim_server("ghost", "humanoid", redis_url=redis_url, prefix=key_prefix, speed=0)
    async with SkillClient.in_process(server) as ghost:
        outcome = await ghost.call("navigate", {"target": "kitchen"})
    assert not outcome.ok and "ghost is not in the scene" in outcome.message
