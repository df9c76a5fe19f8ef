"""The master's fleet view: always what a fresh read of Redis would give, at a fraction of the cost."""

from __future__ import annotations

import pytest

from brain.world import NodeMap, WorldView, changed_nodes
from master.fleet_view import FleetView
from memory import SharedMemory
from memory.profiles import RobotProfile, SceneNode
from tests.master.fakes import SCENE, SKILLS, setup_world

pytestmark = pytest.mark.anyio


async def fresh(mem: SharedMemory) -> WorldView:
    """The world as the scheduler read it before the view: every robot and the whole scene."""
    robots = await mem.robots.list()
    scene = await mem.scene.snapshot()
    return WorldView.from_dicts([r.to_dict() for r in robots], scene.to_dict())


async def assert_current(view: FleetView, mem: SharedMemory) -> WorldView:
    world, truth = await view.world(), await fresh(mem)
    assert world.version == truth.version
    assert world.nodes == truth.nodes
    assert world.robots == truth.robots
    assert list(world.robots) == list(truth.robots)
    return world


async def test_follows_registrations_effects_and_marks(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    await assert_current(view, shared_memory)
    await shared_memory.robots.register(RobotProfile("r3", "test_bot", [SKILLS["pick"]]), "hall")
    await shared_memory.scene.apply([{"op": "move", "node": "apple", "parent": "r1", "relation": "held_by"}])
    await shared_memory.scene.apply([{"op": "move", "node": "r2", "parent": "hall"}])
    await shared_memory.robots.set_degraded("r2", "its skill server is unreachable")
    world = await assert_current(view, shared_memory)
    assert world.robots["r1"].holding == ("apple",)
    assert world.robots["r2"].position == "hall" and world.robots["r2"].degraded
    assert [r.name for r in world.online_robots()] == ["r1", "r3"]


async def test_a_lapsed_lease_is_offline_without_any_event(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    await view.world()
    await shared_memory.robots.lapse("r1")
    world = await assert_current(view, shared_memory)
    assert not world.robots["r1"].online and world.robots["r1"].status == "offline"
    await shared_memory.robots.heartbeat("r1", 30.0)
    assert (await assert_current(view, shared_memory)).robots["r1"].online


async def test_the_same_world_while_nothing_changed(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    first = await view.world()
    assert await view.world() is first
    await shared_memory.scene.apply([{"op": "set", "node": "apple", "props": {"weight_kg": 0.2}}])
    changed = await assert_current(view, shared_memory)
    assert changed is not first and changed.robots["r1"] is first.robots["r1"]


async def test_a_missed_scene_change_reads_the_scene_again(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    await view.world()
    await shared_memory.scene.apply([{"op": "move", "node": "apple", "parent": "hall"}])
    missed = (await shared_memory.events.recent(1))[0]
    await shared_memory.redis.xdel(shared_memory.keys.events, missed.id)
    await shared_memory.scene.apply([{"op": "set", "node": "hall", "props": {"lit": True}}])
    world = await assert_current(view, shared_memory)
    assert world.place_of("apple") == "hall"


async def test_a_robot_the_view_never_heard_of_is_read(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    await view.world()
    await shared_memory.robots.register(RobotProfile("r9", "test_bot", [SKILLS["move"]]), "hall")
    for event in await shared_memory.events.recent(5):
        if event.robot == "r9":
            await shared_memory.redis.xdel(shared_memory.keys.events, event.id)
    assert "r9" in (await assert_current(view, shared_memory)).robots


async def test_a_trimmed_history_or_an_invalidation_loads_everything(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    await view.world()
    await shared_memory.scene.apply([{"op": "move", "node": "apple", "parent": "hall"}])
    await shared_memory.redis.xtrim(shared_memory.keys.events, maxlen=0)
    await shared_memory.scene.load([*SCENE, SceneNode("cellar", "place")])
    assert "cellar" in (await assert_current(view, shared_memory)).nodes
    await shared_memory.redis.hset(shared_memory.keys.robot("r2"), "status", "busy")  # no event says so
    view.invalidate()
    assert (await assert_current(view, shared_memory)).robots["r2"].status == "busy"


async def test_a_world_tells_what_changed_since_the_last_and_keeps_what_did_not(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    first = await view.world()
    await shared_memory.scene.apply([{"op": "move", "node": "apple", "parent": "r1", "relation": "held_by"}])
    second = await assert_current(view, shared_memory)
    assert isinstance(second.nodes, NodeMap) and second.nodes.base is first.nodes
    assert changed_nodes(first.nodes, second.nodes) == ["apple"]
    assert second.robots["r1"].holding == ("apple",) and second.robots["r2"] is first.robots["r2"]
    await shared_memory.robots.set_status("r2", "busy")  # a robot changed, no node
    view.touch("r2")  # no event says so (the scheduler touches the robot it reported on)
    third = await assert_current(view, shared_memory)
    assert third.nodes is second.nodes and third.robots["r1"] is second.robots["r1"]
    await shared_memory.scene.apply([{"op": "move", "node": "apple", "parent": "hall", "relation": "at"}])
    await shared_memory.scene.apply([{"op": "move", "node": "r1", "parent": "hall"}])
    fourth = await assert_current(view, shared_memory)
    assert changed_nodes(third.nodes, fourth.nodes) == ["apple", "r1"]
    assert fourth.robots["r1"].holding == () and fourth.robots["r1"].position == "hall"
    await shared_memory.scene.add_node(SceneNode("porch", "place"), event_kind="node_added")
    fifth = await assert_current(view, shared_memory)
    assert fifth.nodes.changed is None  # a name more: the next reader compares for itself


async def test_touched_robots_come_with_the_events_in_one_round_trip(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    await view.world()
    reads: list[str] = []
    changes, unplaced = shared_memory.fleet_changes, shared_memory.robots.unplaced

    async def spy_changes(last_id, count, robots):
        reads.append(f"changes {','.join(robots)}")
        return await changes(last_id, count, robots)

    async def spy_unplaced(names):
        reads.append(f"unplaced {','.join(names)}")
        return await unplaced(names)

    shared_memory.fleet_changes, shared_memory.robots.unplaced = spy_changes, spy_unplaced
    await shared_memory.robots.set_status("r1", "busy", current_subtask="s1")  # no event: the view is told
    view.touch("r1")
    await shared_memory.robots.set_degraded("r2", "its skill server is unreachable")  # an event names r2
    world = await assert_current(view, shared_memory)
    assert world.robots["r1"].status == "busy" and world.robots["r2"].degraded
    # r1 came with the events; r2, named only by an event, is read after them
    assert reads == ["changes r1", "unplaced r2"]
    reads.clear()
    await shared_memory.robots.set_status("r1", "idle")
    view.touch("r1")
    await shared_memory.events.append("subtask_state", robot="r1", task_id="t1", subtask_id="s1", state="succeeded")
    world = await assert_current(view, shared_memory)
    assert world.robots["r1"].status == "idle"
    assert reads == ["changes r1"]  # its event is answered by the hash read with it


async def test_the_masters_own_subtask_events_mark_no_robot_to_read(shared_memory: SharedMemory) -> None:
    await setup_world(shared_memory)
    view = FleetView(shared_memory)
    await view.world()
    reads: list[list[str]] = []
    changes = shared_memory.fleet_changes

    async def spy_changes(last_id, count, robots):
        reads.append(list(robots))
        return await changes(last_id, count, robots)

    shared_memory.fleet_changes = spy_changes
    await shared_memory.events.append("subtask_state", robot="r2", task_id="t1", subtask_id="s1", state="dispatched")
    await shared_memory.events.append("replan", robot="r2", task_id="t1", replans=1)
    await view.world()
    await shared_memory.robots.set_status("r2", "busy", current_subtask="s1")  # its slaver's claim, then its result:
    view.touch("r2")
    world = await assert_current(view, shared_memory)
    assert world.robots["r2"].status == "busy"
    assert reads == [[], ["r2"]]  # only the touch asked for r2's hash
