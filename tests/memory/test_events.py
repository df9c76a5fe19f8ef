from __future__ import annotations

import time

import anyio
import pytest

from memory import Effect, Event, RobotProfile, SceneNode, SharedMemory

pytestmark = pytest.mark.anyio


async def test_append_and_recent(shared_memory: SharedMemory) -> None:
    events = shared_memory.events
    first = await events.append("task_created", task_id="t1", text="wave")
    await events.append("task_state", task_id="t1", state="running")
    recent = await events.recent()
    assert [e.kind for e in recent] == ["task_created", "task_state"]
    assert recent[0].id == first
    assert recent[0].data == {"text": "wave"}
    assert abs(recent[0].ts - time.time()) < 60
    assert recent[1].to_dict()["data"] == {"state": "running"}
    assert [e.kind for e in await events.recent(1)] == ["task_state"]


async def test_after_dollar_waits_for_new_events_only_and_times_out(shared_memory: SharedMemory) -> None:
    await shared_memory.events.append("note", n=0)
    start = time.monotonic()
    assert await shared_memory.events.after("$", block_ms=200) == []
    assert 0.15 < time.monotonic() - start < 2.0


async def test_after_follows_new_events(shared_memory: SharedMemory) -> None:
    events = shared_memory.events
    old = await events.append("note", n=0)
    got: list[Event] = []

    async def follow() -> None:
        got.extend(await events.after(old, block_ms=5000))

    with anyio.fail_after(3):
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await anyio.sleep(0.05)  # makes the blocking path likely; the result does not depend on it
            await events.append("note", n=1)
    assert [e.data["n"] for e in got] == [1]
    assert [e.data["n"] for e in await events.after(old, block_ms=0)] == [1]


async def test_malformed_events_are_skipped(shared_memory: SharedMemory) -> None:
    await shared_memory.redis.xadd(shared_memory.keys.events, {"data": "nope"})
    await shared_memory.events.append("note")
    assert [e.kind for e in await shared_memory.events.recent()] == ["note"]


async def test_the_log_is_capped(redis_url: str, key_prefix: str) -> None:
    memory = await SharedMemory.connect(redis_url, prefix=key_prefix, event_maxlen=20)
    try:
        for n in range(400):
            await memory.events.append("note", n=n)
        length = await memory.redis.xlen(memory.keys.events)
        assert 20 <= length < 400
        assert (await memory.events.recent(1))[0].data["n"] == 399
    finally:
        await memory.clear()
        await memory.close()


async def test_location_at_replays_history(shared_memory: SharedMemory) -> None:
    mem = shared_memory
    await mem.scene.load([SceneNode("kitchen", "place"), SceneNode("table", "furniture", "kitchen", "at"),
                          SceneNode("fridge", "container", "kitchen", "at"),
                          SceneNode("apple", "object", "table", "on")])  # fmt: skip
    await mem.robots.register(RobotProfile("arm-1", "fixed_single_arm"), "kitchen")
    on_table = time.time()
    await mem.scene.apply([Effect("move", "apple", "arm-1", "held_by", expect_parent="table")])
    held = time.time()
    await mem.scene.apply([Effect("move", "apple", "fridge", "in", expect_parent="arm-1")])
    in_fridge = time.time()
    await mem.scene.load([SceneNode("kitchen", "place")], keep_robots=False)
    assert await mem.events.location_at("apple", on_table) == "table"
    assert await mem.events.location_at("apple", held) == "arm-1"
    assert await mem.events.location_at("apple", in_fridge) == "fridge"
    assert await mem.events.location_at("apple", time.time()) is None  # the reload removed it
    assert await mem.events.location_at("arm-1", held) == "kitchen"
    assert await mem.events.location_at("apple", on_table - 3600) is None


async def test_since_reads_on_and_tells_a_trimmed_history(shared_memory: SharedMemory) -> None:
    log = shared_memory.events
    assert await log.newest_id() == "0-0"
    assert await log.since("0-0", 10) == ([], "0-0", False, 0)
    first = await log.append("a")
    second = await log.append("b")
    events, next_id, trimmed, version = await log.since(first, 10)
    assert ([e.kind for e in events], next_id, trimmed, version) == (["b"], second, False, 0)
    assert await log.newest_id() == second
    await shared_memory.redis.xdel(log.key, first)
    assert (await log.since(first, 10)).trimmed is True
    await shared_memory.scene.load([SceneNode("hall", "place")])
    read = await log.since(second, 10)  # the version comes with the events that made it
    assert read.scene_version == 1 and [e.kind for e in read.events] == ["scene_loaded"]
