from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import pytest

from memory import (
    ActionSemantics,
    Effect,
    RobotProfile,
    SceneNode,
    SharedMemory,
    SharedMemoryError,
    SkillSpec,
)
from memory.robots import Liveness

pytestmark = pytest.mark.anyio

PICK = SkillSpec(
    "pick",
    "Pick up an object within reach.",
    {"type": "object", "properties": {"object": {"type": "string"}}, "required": ["object"]},
    ActionSemantics("pick", {"object": "object"}),
)


def arm(name: str = "arm-1") -> RobotProfile:
    return RobotProfile(name, "fixed_single_arm", [PICK], "stdio:sim", {"mobile": False, "arms": 1})


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 3.0) -> None:
    with anyio.fail_after(timeout_s):
        while not await condition():
            await anyio.sleep(0.02)


@pytest.fixture
async def mem(shared_memory: SharedMemory) -> SharedMemory:
    await shared_memory.scene.load(
        [
            SceneNode("kitchen", "place"),
            SceneNode("hall", "place"),
            SceneNode("apple", "object", "kitchen", "at"),
        ]
    )
    return shared_memory


async def test_register_stores_profile_and_scene_node(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen")
    record = await mem.robots.get("arm-1")
    assert record is not None
    assert record.profile == arm()
    assert (record.status, record.online, record.position, record.holding) == ("idle", True, "kitchen", [])
    assert await mem.scene.get("arm-1") == SceneNode("arm-1", "robot", "kitchen", "at")
    [event] = await mem.events.recent(1)
    assert (event.kind, event.robot, event.data["start_place"]) == ("robot_registered", "arm-1", "kitchen")


async def test_registering_again_keeps_the_robot_where_it_is(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen")
    await mem.scene.apply([Effect("move", "arm-1", "hall", "at", expect_parent="kitchen")])
    await mem.robots.register(arm(), "kitchen")
    assert (await mem.robots.get("arm-1")).position == "hall"


async def test_position_and_holding_follow_the_scene(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen")
    await mem.scene.apply([Effect("move", "apple", "arm-1", "held_by", expect_parent="kitchen")])
    await mem.scene.apply([Effect("move", "arm-1", "hall", "at")])
    record = await mem.robots.get("arm-1")
    assert (record.position, record.holding) == ("hall", ["apple"])
    assert record.to_dict()["holding"] == ["apple"]


async def test_status_and_current_subtask(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen")
    await mem.robots.set_status("arm-1", "busy", current_subtask="t1/s1")
    record = await mem.robots.get("arm-1")
    assert (record.status, record.current_subtask) == ("busy", "t1/s1")
    await mem.robots.set_status("arm-1", "idle")
    record = await mem.robots.get("arm-1")
    assert (record.status, record.current_subtask) == ("idle", None)
    with pytest.raises(SharedMemoryError, match="unknown robot status 'dancing'"):
        await mem.robots.set_status("arm-1", "dancing")
    with pytest.raises(SharedMemoryError, match="unknown robot 'ghost'"):
        await mem.robots.set_status("ghost", "idle")


async def test_a_degraded_mark_keeps_the_robot_online_until_cleared_or_registered_again(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen")
    await mem.robots.set_degraded("arm-1", "its skill server is unreachable")
    record = await mem.robots.get("arm-1")
    assert (record.online, record.status, record.degraded) == (True, "idle", "its skill server is unreachable")
    assert type(record).from_dict(record.to_dict()) == record
    await mem.robots.set_degraded("arm-1", None)
    assert (await mem.robots.get("arm-1")).degraded == ""
    await mem.robots.set_degraded("arm-1", "its skill server is unreachable")
    await mem.robots.register(arm(), "kitchen")
    assert (await mem.robots.get("arm-1")).degraded == ""
    kinds = [e.kind for e in await mem.events.recent(10)]
    assert kinds[-4:] == ["robot_degraded", "robot_recovered", "robot_degraded", "robot_registered"]
    with pytest.raises(SharedMemoryError, match="unknown robot 'ghost'"):
        await mem.robots.set_degraded("ghost", "its skill server is unreachable")


async def test_liveness_expires_per_robot(mem: SharedMemory) -> None:
    await mem.robots.register(arm("arm-1"), "kitchen", ttl_s=0.3)
    await mem.robots.register(arm("arm-2"), "kitchen", ttl_s=30)
    assert await mem.robots.online_names() == {"arm-1", "arm-2"}

    async def arm_1_gone() -> bool:
        return await mem.robots.online_names() == {"arm-2"}

    await wait_until(arm_1_gone)
    record = await mem.robots.get("arm-1")
    assert (record.online, record.status) == (False, "offline")
    assert await mem.robots.heartbeat("arm-1", ttl_s=5)
    assert (await mem.robots.get("arm-1")).status == "idle"


async def test_heartbeat_refreshes_liveness_and_time(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen", ttl_s=0.3)
    before = (await mem.robots.get("arm-1")).last_heartbeat
    assert await mem.robots.heartbeat("arm-1", ttl_s=30)
    assert await mem.redis.pttl(mem.keys.alive("arm-1")) > 1000
    assert (await mem.robots.get("arm-1")).last_heartbeat >= before
    assert not await mem.robots.heartbeat("ghost", ttl_s=30)
    assert "ghost" not in await mem.robots.online_names()


async def test_mark_offline_is_immediate(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen")
    await mem.robots.mark_offline("arm-1")
    assert await mem.robots.online_names() == set()
    assert (await mem.robots.get("arm-1")).status == "offline"
    assert (await mem.events.recent(1))[0].kind == "robot_offline"


async def test_many_robots_register_and_heartbeat_concurrently(mem: SharedMemory) -> None:
    names = [f"bot-{i:03d}" for i in range(100)]

    async def live(name: str) -> None:
        await mem.robots.register(arm(name), "kitchen" if name < "bot-050" else "hall")
        for _ in range(3):
            assert await mem.robots.heartbeat(name, ttl_s=30)
        await mem.robots.set_status(name, "busy", current_subtask=f"{name}/s1")

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(live, name)
    records = await mem.robots.list()
    assert [r.name for r in records] == names
    assert all(r.online and r.status == "busy" and r.current_subtask == f"{r.name}/s1" for r in records)
    assert sum(r.position == "hall" for r in records) == 50
    assert await mem.robots.online_names() == set(names)
    snapshot = await mem.scene.snapshot()
    assert len(snapshot.children("kitchen", "at")) == 51  # 50 robots and the apple


async def test_unknown_robot_reads_as_none(mem: SharedMemory) -> None:
    assert await mem.robots.get("ghost") is None
    assert await mem.robots.list() == []
    assert await mem.robots.online_names() == set()


async def test_the_liveness_key_is_a_lease_one_slaver_holds(shared_memory: SharedMemory) -> None:
    robots = shared_memory.robots
    profile = RobotProfile("arm-1", "fixed_single_arm")
    await robots.register(profile, lease="a", ttl_s=5.0)
    assert await robots.acquire("arm-1", "a", ttl_s=5.0) is None  # already ours
    assert await robots.acquire("arm-1", "b", ttl_s=5.0) == "a"
    with pytest.raises(SharedMemoryError, match="served by another slaver"):
        await robots.register(profile, lease="b", ttl_s=5.0)
    await robots.mark_offline("arm-1", "b")  # not b's to drop
    assert (await robots.get("arm-1")).online
    await shared_memory.redis.set(shared_memory.keys.alive("arm-1"), "b", px=5000)  # b took over
    with pytest.raises(SharedMemoryError, match="lease was taken over"):
        await robots.heartbeat("arm-1", 5.0, "a")
    assert await robots.heartbeat("arm-1", 5.0, "b")
    await robots.mark_offline("arm-1", "b")
    assert not (await robots.get("arm-1")).online
    assert await robots.heartbeat("arm-1", 5.0, "a")  # a lapsed lease is free again
    assert await shared_memory.redis.get(shared_memory.keys.alive("arm-1")) == "a"


async def test_liveness_counts_the_fleet_and_names_only_the_offline(mem: SharedMemory) -> None:
    for name in ("arm-1", "arm-2"):
        await mem.robots.register(arm(name), "kitchen")
    await mem.robots.register(arm("arm-3"), "kitchen", ttl_s=0.3)
    assert (await mem.robots.liveness()).offline == frozenset()
    await mem.robots.mark_offline("arm-2")
    await anyio.sleep(0.4)  # arm-3's lease runs out: no event says so
    liveness = await mem.robots.liveness()
    assert (liveness.registered, liveness.offline) == (3, frozenset({"arm-2", "arm-3"}))
    assert await mem.redis.exists(mem.keys.alive("arm-3")) == 0  # Redis agrees


async def test_the_lease_index_follows_every_lease_and_lapse(mem: SharedMemory) -> None:
    await mem.robots.register(arm("arm-1"), "kitchen", ttl_s=5)
    first = await mem.redis.zscore(mem.keys.leases, "arm-1")
    assert first is not None and abs(first - time.time() * 1000 - 5000) < 1000
    await anyio.sleep(0.05)
    assert await mem.robots.heartbeat("arm-1", ttl_s=20)
    assert await mem.redis.zscore(mem.keys.leases, "arm-1") > first + 10_000
    await mem.robots.lapse("arm-1")
    assert await mem.redis.zscore(mem.keys.leases, "arm-1") == 0
    assert (await mem.robots.liveness()).offline == frozenset({"arm-1"})
    assert await mem.robots.acquire("arm-1", "token", ttl_s=5) is None  # a slaver serves it again
    assert (await mem.robots.liveness()).offline == frozenset()
    assert await mem.robots.acquire("arm-2", "token", ttl_s=5) is None  # not registered: not indexed
    assert await mem.redis.zscore(mem.keys.leases, "arm-2") is None


async def test_liveness_without_a_complete_lease_index_checks_every_robot(mem: SharedMemory) -> None:
    """A robot whose liveness key a writer sets without the index (a store or slaver older than
    the index) is judged by its key: the whole fleet is checked while the index is incomplete, and
    a lease the index says ran out still counts while its key is there."""
    for name in ("arm-1", "arm-2"):
        await mem.robots.register(arm(name), "kitchen")
    await mem.redis.sadd(mem.keys.robots, "old-1")
    await mem.redis.set(mem.keys.alive("old-1"), "1", px=5000)
    assert (await mem.robots.liveness()) == Liveness(3, frozenset())
    await mem.redis.delete(mem.keys.alive("old-1"))
    assert (await mem.robots.liveness()) == Liveness(3, frozenset({"old-1"}))
    await mem.redis.set(mem.keys.alive("old-1"), "1", px=5000)
    assert await mem.robots.index_leases() == 1  # as the master does at its start
    assert await mem.robots.index_leases() == 0
    assert await mem.redis.zscore(mem.keys.leases, "old-1") > time.time() * 1000 + 3000
    await mem.redis.zadd(mem.keys.leases, {"arm-2": 1})  # by the index long gone, by its key alive
    assert (await mem.robots.liveness()) == Liveness(3, frozenset())
    await mem.robots.lapse("old-1")
    assert (await mem.robots.liveness()) == Liveness(3, frozenset({"old-1"}))


async def test_unplaced_reads_robots_as_if_online_without_the_scene(mem: SharedMemory) -> None:
    await mem.robots.register(arm(), "kitchen")
    await mem.robots.set_degraded("arm-1", "skills unreachable")
    [record] = await mem.robots.unplaced(["arm-1", "ghost"])
    assert (record.profile, record.online, record.position, record.degraded) == (arm(), True, None, "skills unreachable")
