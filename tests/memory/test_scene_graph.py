from __future__ import annotations

from collections.abc import Awaitable

import anyio
import pytest

from memory import Effect, RobotProfile, SceneConflict, SceneNode, SharedMemory
from memory import scene_graph
from memory.scene_graph import SceneGraph, apply_effects

pytestmark = pytest.mark.anyio

KITCHEN = [
    SceneNode("kitchen", "place"),
    SceneNode("hall", "place"),
    SceneNode("table", "furniture", "kitchen", "at", {"height_m": 0.75}),
    SceneNode("fridge", "container", "kitchen", "at", {"open": False, "contents": []}),
    SceneNode("apple", "object", "table", "on", {"weight_kg": 0.2}),
    SceneNode("cup", "object", "table", "on"),
]


async def warm_connections(mem: SharedMemory, count: int) -> None:
    """Open ``count`` pooled connections first, so that concurrent writers really overlap."""

    async def ping() -> None:
        async with mem.redis.pipeline(transaction=True) as pipe:
            pipe.exists(mem.keys.scene_version)  # a keyed command: a cluster pipeline refuses PING
            await pipe.execute()

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(ping)


@pytest.fixture
async def mem(shared_memory: SharedMemory) -> SharedMemory:
    await shared_memory.scene.load(KITCHEN)
    await shared_memory.robots.register(RobotProfile("arm-1", "fixed_single_arm"), "kitchen")
    return shared_memory


async def test_load_replaces_the_graph_and_returns_the_version(shared_memory: SharedMemory) -> None:
    assert await shared_memory.scene.version() == 0
    first = await shared_memory.scene.load(KITCHEN)
    second = await shared_memory.scene.load([SceneNode("lab", "place")])
    snapshot = await shared_memory.scene.snapshot()
    assert (first, second) == (1, 2)
    assert snapshot.version == 2
    assert list(snapshot.nodes) == ["lab"]


async def test_load_keeps_registered_robots(mem: SharedMemory) -> None:
    await mem.scene.load(KITCHEN)
    robot = await mem.scene.get("arm-1")
    assert robot == SceneNode("arm-1", "robot", "kitchen", "at")
    await mem.scene.load(KITCHEN, keep_robots=False)
    assert await mem.scene.get("arm-1") is None


async def test_snapshot_round_trips_nodes_exactly(mem: SharedMemory) -> None:
    snapshot = await mem.scene.snapshot()
    assert snapshot.nodes["fridge"] == KITCHEN[3]
    assert snapshot.place_of("apple") == "kitchen"
    assert snapshot.version == await mem.scene.version()


async def test_apply_moves_and_sets_and_records_one_event(mem: SharedMemory) -> None:
    before = await mem.scene.version()
    effects = [
        Effect("move", "apple", "arm-1", "held_by", expect_parent="table"),
        Effect("set", "fridge", props={"open": True}),
    ]
    version = await mem.scene.apply(effects, robot="arm-1", task_id="t1")
    assert version == before + 1
    apple, fridge = await mem.scene.get("apple"), await mem.scene.get("fridge")
    assert (apple.parent, apple.relation, apple.props) == ("arm-1", "held_by", {"weight_kg": 0.2})
    assert fridge.props == {"open": True, "contents": []}  # merged; the empty list stays a list
    [event] = await mem.events.recent(1)
    assert (event.kind, event.robot, event.task_id) == ("effects", "arm-1", "t1")
    assert event.data["effects"] == [e.to_dict() for e in effects]
    assert event.data["version"] == version


async def test_later_effects_see_earlier_ones(mem: SharedMemory) -> None:
    await mem.scene.apply(
        [
            Effect("move", "apple", "arm-1", "held_by", expect_parent="table"),
            Effect("move", "apple", "fridge", "in", expect_parent="arm-1"),
        ]
    )
    assert (await mem.scene.get("apple")).parent == "fridge"


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        (Effect("move", "pear", "table", "on"), "unknown node 'pear'"),
        (Effect("move", "apple", "shelf", "on"), "unknown parent 'shelf'"),
        (Effect("move", "apple", "arm-1", "held_by", expect_parent="fridge"), "expected 'fridge'"),
        (Effect("paint", "apple", props={"colour": "red"}), "unknown effect op 'paint'"),
        (Effect("move", "table", "apple", "on"), "cycle"),
        (Effect("move", "apple", "table", "under"), "unknown relation 'under'"),
        (Effect("set", "apple"), "needs props"),
    ],
)
async def test_a_failed_guard_applies_nothing(mem: SharedMemory, effect: Effect, message: str) -> None:
    before = await mem.scene.snapshot()
    events_before = len(await mem.events.recent(1000))
    good = Effect("move", "cup", "arm-1", "held_by", expect_parent="table")
    with pytest.raises(SceneConflict, match=message):
        await mem.scene.apply([good, effect])
    assert await mem.scene.snapshot() == before
    assert len(await mem.events.recent(1000)) == events_before


async def test_expect_version_guards_the_whole_change(mem: SharedMemory) -> None:
    version = await mem.scene.version()
    await mem.scene.apply([Effect("set", "fridge", props={"open": True})], expect_version=version)
    with pytest.raises(SceneConflict, match=f"version is {version + 1}, expected {version}"):
        await mem.scene.apply([Effect("set", "fridge", props={"open": False})], expect_version=version)
    assert (await mem.scene.get("fridge")).props["open"] is True


async def test_concurrent_guarded_moves_have_exactly_one_winner(mem: SharedMemory) -> None:
    robots = [f"arm-{i}" for i in range(2, 22)]
    for name in robots:
        await mem.robots.register(RobotProfile(name, "fixed_single_arm"), "kitchen")
    await warm_connections(mem, len(robots))
    before = await mem.scene.version()
    winners: list[str] = []
    losers: list[str] = []

    async def grab(robot: str) -> None:
        try:
            grab_apple = Effect("move", "apple", robot, "held_by", expect_parent="table")
            await mem.scene.apply([grab_apple], robot=robot)
            winners.append(robot)
        except SceneConflict:
            losers.append(robot)

    async with anyio.create_task_group() as tg:
        for robot in robots:
            tg.start_soon(grab, robot)
    assert len(winners) == 1 and len(losers) == 19
    assert (await mem.scene.get("apple")).parent == winners[0]
    assert await mem.scene.version() == before + 1


async def test_concurrent_changes_to_different_nodes_are_all_kept(mem: SharedMemory) -> None:
    names = [f"box-{i}" for i in range(20)]
    await mem.scene.load(KITCHEN + [SceneNode(n, "object", "table", "on", {"count": 0}) for n in names])
    await warm_connections(mem, len(names))
    before = await mem.scene.version()

    async def bump(name: str) -> None:
        for count in range(1, 4):
            await mem.scene.apply([Effect("set", name, props={"count": count})])
            await mem.scene.apply([Effect("set", "table", props={name: count})])

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(bump, name)
    snapshot = await mem.scene.snapshot()
    assert snapshot.version == before + 20 * 3 * 2
    assert all(snapshot.nodes[n].props["count"] == 3 for n in names)
    assert all(snapshot.nodes["table"].props[n] == 3 for n in names)  # no lost update on the shared node


async def test_snapshots_are_consistent_under_writes(mem: SharedMemory) -> None:
    """Every snapshot taken while a robot shuttles an apple shows it in exactly one place."""
    done = anyio.Event()

    async def shuttle() -> None:
        for _ in range(30):
            await mem.scene.apply([Effect("move", "apple", "arm-1", "held_by", expect_parent="table")])
            await mem.scene.apply([Effect("move", "apple", "table", "on", expect_parent="arm-1")])
        done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(shuttle)
        while not done.is_set():
            snapshot = await mem.scene.snapshot()
            held = [n.name for n in snapshot.children("arm-1", "held_by")]
            on_table = [n.name for n in snapshot.children("table", "on") if n.name == "apple"]
            assert len(held) + len(on_table) == 1
            assert (snapshot.version % 2 == 1) == (held == ["apple"])  # v2 after load and register


async def test_neighbourhood_holds_the_names_their_ancestors_and_the_children(mem: SharedMemory) -> None:
    await mem.scene.apply([Effect("move", "cup", "arm-1", "held_by", expect_parent="table")])
    around = await mem.scene.neighbourhood(["apple", "ghost"], children_of=["arm-1"])
    full = await mem.scene.snapshot()
    assert sorted(around.nodes) == ["apple", "arm-1", "cup", "kitchen", "table"]
    assert all(around.nodes[n] == full.nodes[n] for n in around.nodes)
    assert around.version == full.version
    assert [n.name for n in around.children("arm-1", "held_by")] == ["cup"]
    assert around.place_of("apple") == around.place_of("cup") == "kitchen"


async def test_the_children_index_follows_moves_loads_and_registrations(mem: SharedMemory) -> None:
    async def held() -> list[str]:
        around = await mem.scene.neighbourhood(["arm-1"], children_of=["arm-1"])
        return sorted(n.name for n in around.children("arm-1"))

    await mem.scene.apply([Effect("move", "apple", "arm-1", "held_by", expect_parent="table"),
                           Effect("move", "cup", "arm-1", "held_by", expect_parent="table")])
    assert await held() == ["apple", "cup"]
    await mem.scene.apply([Effect("move", "apple", "fridge", "in", expect_parent="arm-1")])
    assert await held() == ["cup"]
    await mem.robots.register(RobotProfile("arm-2", "fixed_single_arm"), "hall")
    hall = await mem.scene.neighbourhood([], children_of=["hall"])
    assert [n.name for n in hall.children("hall")] == ["arm-2"]
    await mem.scene.load(KITCHEN)  # the apple and the cup are back on the table
    assert await held() == []
    table = await mem.scene.neighbourhood([], children_of=["table"])
    assert sorted(n.name for n in table.children("table")) == ["apple", "cup"]


async def test_the_roots_are_the_places_and_doors_through_loads_and_additions(mem: SharedMemory) -> None:
    async def roots() -> list[str]:
        around = await mem.scene.neighbourhood([], roots=True)
        return sorted(around.nodes)

    assert await roots() == ["hall", "kitchen"]
    assert await mem.scene.add_node(SceneNode("porch", "place"), event_kind="node_added")
    await mem.scene.apply([Effect("move", "apple", "fridge", "in", expect_parent="table")])
    assert await roots() == ["hall", "kitchen", "porch"]
    await mem.scene.load([SceneNode("lab", "place"), SceneNode("door_1", "door"),
                          SceneNode("bench", "furniture", "lab", "at")], keep_robots=False)
    assert await roots() == ["door_1", "lab"]
    around = await mem.scene.neighbourhood(["bench"], roots=True)
    assert sorted(around.nodes) == ["bench", "door_1", "lab"]


async def test_a_reader_keeps_the_roots_until_a_write_from_anywhere_changes_one(
    mem: SharedMemory, redis_url: str, key_prefix: str
) -> None:
    """The places and doors are sent once; an apply that moves only non-roots keeps them; a door
    opened, a place added, a load or a clear by another process makes the reader fetch them again."""
    sent: list[list[str]] = []  # the roots each read fetched from Redis

    async def elsewhere(write: Awaitable[object]) -> None:
        """``write`` as another process makes it: what this process keeps is left as it was."""
        kept = dict(scene_graph._KEPT_ROOTS)
        await write
        scene_graph._KEPT_ROOTS.clear()
        scene_graph._KEPT_ROOTS.update(kept)

    script = mem.scene._around_script

    async def counting(**kwargs: object) -> list:
        reply = await script(**kwargs)
        sent.append(sorted(reply[3]))
        return reply

    mem.scene._around_script = counting

    async def roots(*names: str) -> dict[str, SceneNode]:
        around = await mem.scene.neighbourhood(list(names), roots=True)
        return {n.name: n for n in around.nodes.values() if n.parent is None}

    other = await SharedMemory.connect(redis_url, prefix=key_prefix)
    try:
        await other.scene.load([*KITCHEN, SceneNode("hall_door", "door", props={"open": False})])
        assert set(await roots()) == {"hall", "hall_door", "kitchen"} and sent[-1] == ["hall", "hall_door", "kitchen"]
        first = await roots("apple")
        first["hall_door"].props["open"] = "scribbled on"  # a copy: what is kept is not changed
        assert sent[-1] == [] and first["hall_door"].props == {"open": "scribbled on"}
        await elsewhere(other.scene.apply([Effect("move", "apple", "fridge", "in", expect_parent="table")]))
        assert (await roots())["hall_door"].props == {"open": False} and sent[-1] == []
        await elsewhere(other.scene.apply([Effect("set", "hall_door", props={"open": True})]))
        assert (await roots())["hall_door"].props == {"open": True} and "hall_door" in sent[-1]
        await elsewhere(other.scene.add_node(SceneNode("porch", "place"), event_kind="node_added"))
        assert set(await roots()) == {"hall", "hall_door", "kitchen", "porch"} and sent[-1]
        await elsewhere(other.clear())
        assert await roots() == {} and sent[-1] == []
        await elsewhere(other.scene.load([SceneNode("lab", "place")]))
        assert set(await roots()) == {"lab"} and sent[-1] == ["lab"]
        await mem.scene.apply([Effect("set", "lab", props={"lit": True})])  # its own write: read again
        assert (await roots())["lab"].props == {"lit": True} and sent[-1] == ["lab"]
    finally:
        await other.close()


async def test_a_missing_children_index_is_rebuilt_from_the_nodes(mem: SharedMemory) -> None:
    """A store written before the index existed (no marker, no sets) is indexed on first use."""
    await mem.scene.apply([Effect("move", "cup", "arm-1", "held_by", expect_parent="table")])
    index = [k async for k in mem.redis.scan_iter(match=mem.keys.scene_children_prefix + "*")]
    await mem.redis.delete(mem.keys.scene_indexed, mem.keys.scene_roots, *index)
    around = await mem.scene.neighbourhood([], children_of=["arm-1", "table"], roots=True)
    assert [n.name for n in around.children("arm-1")] == ["cup"]
    assert [n.name for n in around.children("table")] == ["apple"]
    assert sorted(n.name for n in around.nodes.values() if n.parent is None) == ["hall", "kitchen"]


async def test_the_cycle_check_reads_ancestors_beyond_the_named_nodes(mem: SharedMemory) -> None:
    """apply reads only the nodes it touches, with the new parents' ancestor chains."""
    await mem.scene.apply([Effect("move", "apple", "fridge", "in", expect_parent="table")])
    with pytest.raises(SceneConflict, match="cycle"):
        await mem.scene.apply([Effect("move", "kitchen", "apple", "on")])  # apple is in fridge, at kitchen
    with pytest.raises(SceneConflict, match="cycle"):
        await mem.scene.apply([Effect("move", "table", "cup", "on")])  # the cup is on the table
    await mem.scene.apply([Effect("move", "cup", "apple", "on")])  # no cycle up apple, fridge, kitchen
    assert (await mem.scene.get("cup")).parent == "apple"


async def test_apply_effects_on_a_copy_gives_what_the_commit_wrote(mem: SharedMemory) -> None:
    before = (await mem.scene.snapshot()).nodes
    effects = [Effect("move", "apple", "arm-1", "held_by", expect_parent="table"),
               Effect("set", "fridge", props={"open": True})]
    changed = apply_effects(before, effects)
    await mem.scene.apply(effects)
    after = (await mem.scene.snapshot()).nodes
    assert changed == {name: after[name] for name in ("apple", "fridge")}
    assert before["apple"].parent == "table"  # the copy it was given is left as it was
    with pytest.raises(SceneConflict):
        apply_effects(after, [Effect("move", "apple", "hall", "at", expect_parent="table")])


def count_reads(monkeypatch: pytest.MonkeyPatch, graph: SceneGraph) -> list[list[str]]:
    """The names of every read ``graph`` makes of the nodes around some names, from now on."""
    reads: list[list[str]] = []
    read = graph._read_around

    async def counted(names, *args, **kwargs):  # type: ignore[no-untyped-def]
        names = list(names)
        reads.append(names)
        return await read(names, *args, **kwargs)

    monkeypatch.setattr(graph, "_read_around", counted)
    return reads


def other_writer(mem: SharedMemory) -> SceneGraph:
    """A second graph on the same store (another process's view), with nothing read yet."""
    return SceneGraph(mem.redis, mem.keys, mem.writes)


async def test_an_apply_on_nodes_read_before_commits_without_reading(
    mem: SharedMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = other_writer(mem)
    await graph.prefetch(["arm-1", "apple", "fridge"])
    reads = count_reads(monkeypatch, graph)
    await graph.apply([Effect("move", "apple", "arm-1", "held_by", expect_parent="table")])
    await graph.apply([Effect("move", "apple", "fridge", "in", expect_parent="arm-1")])  # on its own write
    assert reads == []
    assert (await mem.scene.get("apple")).parent == "fridge"


async def test_an_apply_planned_on_nodes_changed_since_reads_and_keeps_the_other_change(
    mem: SharedMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = other_writer(mem)
    await graph.prefetch(["apple"])
    await mem.scene.apply([Effect("move", "apple", "fridge", "in", expect_parent="table")])
    reads = count_reads(monkeypatch, graph)
    await graph.apply([Effect("set", "apple", props={"washed": True})])
    apple = await mem.scene.get("apple")
    assert (apple.parent, apple.props) == ("fridge", {"weight_kg": 0.2, "washed": True})
    assert reads == [["apple"]]


async def test_only_a_fresh_read_refuses_an_apply(mem: SharedMemory) -> None:
    graph = other_writer(mem)
    await graph.prefetch(["apple", "arm-1"])
    await mem.scene.apply([Effect("move", "apple", "fridge", "in", expect_parent="table")])
    # what the graph read says the apple is on the table: the store says otherwise, and wins
    await graph.apply([Effect("move", "apple", "arm-1", "held_by", expect_parent="fridge")])
    assert (await mem.scene.get("apple")).parent == "arm-1"
    await mem.scene.apply([Effect("move", "apple", "table", "on", expect_parent="arm-1")])
    events_before = len(await mem.events.recent(1000))
    with pytest.raises(SceneConflict, match="expected 'arm-1'"):
        await graph.apply([Effect("move", "apple", "fridge", "in", expect_parent="arm-1")])
    assert (await mem.scene.get("apple")).parent == "table"
    assert len(await mem.events.recent(1000)) == events_before
