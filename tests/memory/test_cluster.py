"""Redis Cluster: every key of a deployment in one slot, the embedded cluster, the cluster client.

A real 3-master cluster of the bundled redis-server binary; ``pytest --redis-cluster`` runs the
whole memory, master and slaver suites on one too (the Makefile's ``test`` does for the fault suites).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot
from redis.exceptions import MaxConnectionsError

from memory import SharedMemory
from memory.keys import Keys
from memory.messages import SubtaskMessage, SubtaskResult, SubtaskState, TaskState, ToolCall
from memory.profiles import RobotProfile, SceneNode, TaskRecord
from memory.server import EmbeddedCluster
from tests.work import record_and_dispatch

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
async def on_cluster(cluster: EmbeddedCluster, key_prefix: str) -> AsyncIterator[SharedMemory]:
    memory = await SharedMemory.connect(cluster.url, prefix=key_prefix, password=cluster.password)
    try:
        yield memory
    finally:
        await memory.clear()
        await memory.close()


async def run_one_subtask(memory: SharedMemory) -> None:
    """Touch every structure: scene, robot registry and liveness, task, dispatch, claim, report, events."""
    await memory.scene.load([SceneNode("kitchen", "place"), SceneNode("cup", "object", "kitchen", "at")])
    await memory.robots.register(RobotProfile("arm", "fixed_single_arm"), "kitchen", lease="slaver-a")
    assert await memory.robots.heartbeat("arm", ttl_s=10, lease="slaver-a")
    message = SubtaskMessage("t1", "s1", "arm", "pick the cup", [ToolCall("pick", {"object": "cup"})])
    await record_and_dispatch(memory, message)
    [(entry_id, read)] = await memory.streams.read_subtasks("arm", "arm", block_ms=100)
    running = SubtaskResult("t1", "s1", "arm", SubtaskState.RUNNING)
    assert await memory.streams.claim(entry_id, read, "slaver-a", running) is None
    await memory.streams.report(SubtaskResult("t1", "s1", "arm", SubtaskState.SUCCEEDED), ack_id=entry_id, status="idle")
    results = await memory.streams.read_results("master", block_ms=100)
    assert [r.state for _, r in results] == [SubtaskState.RUNNING, SubtaskState.SUCCEEDED]
    await memory.tasks.set_state("t1", TaskState.SUCCEEDED)
    assert (await memory.tasks.get("t1")).state == TaskState.SUCCEEDED  # type: ignore[union-attr]


async def test_every_key_of_a_deployment_hashes_to_one_slot(shared_memory: SharedMemory) -> None:
    await run_one_subtask(shared_memory)
    keys = [key async for key in shared_memory.redis.scan_iter(match=shared_memory.keys.pattern)]
    assert len(keys) >= 10
    assert {key_slot(key.encode()) for key in keys} == {key_slot(shared_memory.keys.root.encode())}
    assert all(key.startswith("{" + shared_memory.prefix + "}") for key in keys)


def test_a_prefix_with_braces_is_refused() -> None:
    with pytest.raises(ValueError, match="no braces"):
        Keys("fleet{1}:")


def test_the_embedded_cluster_serves_every_slot_on_three_masters(cluster: EmbeddedCluster) -> None:
    client = redis.Redis(port=cluster.nodes[0].port, password=cluster.password, decode_responses=True)
    try:
        info = client.cluster("info")
        masters = [n for n in client.cluster("nodes").values() if "master" in n["flags"]]
    finally:
        client.close()
    assert info["cluster_state"] == "ok"
    assert int(info["cluster_slots_assigned"]) == 16384
    assert len(masters) == 3


async def test_shared_memory_finds_the_cluster_from_one_nodes_url(on_cluster: SharedMemory) -> None:
    assert on_cluster.cluster
    await run_one_subtask(on_cluster)
    info = await on_cluster.info()
    assert info["cluster_node"] == on_cluster.redis.get_node_from_key(on_cluster.keys.events).name
    assert info["used_memory"] > 0


async def test_a_busy_cluster_pool_waits_then_says_busy(cluster: EmbeddedCluster, key_prefix: str) -> None:
    memory = await SharedMemory.connect(
        cluster.url, prefix=key_prefix, password=cluster.password, max_connections=2, pool_timeout_s=0.3
    )
    try:
        reads = [asyncio.create_task(memory.streams.read_results(f"r{i}", block_ms=2000)) for i in range(2)]
        await asyncio.sleep(0.2)  # both connections now wait in XREADGROUP
        with pytest.raises(MaxConnectionsError, match="2 Redis connections stayed in use for 0.3 s"):
            await memory.tasks.get("t1")
        await asyncio.gather(*reads)
        assert await memory.tasks.get("t1") is None  # a connection is free again: served
    finally:
        await memory.clear()
        await memory.close()


async def test_a_killed_node_comes_back_with_its_data(tmp_path: Path, key_prefix: str) -> None:
    with EmbeddedCluster(tmp_path / "cluster") as cluster:
        memory = await SharedMemory.connect(cluster.url, prefix=key_prefix, password=cluster.password)
        try:
            await memory.tasks.create(TaskRecord("t1", "pick the cup"))
            port = memory.redis.get_node_from_key(memory.keys.task("t1")).port
            node = next(node for node in cluster.nodes if node.port == port)
            await _aof_written(memory)
            assert node._process is not None
            os.kill(node._process.pid, signal.SIGKILL)
            await asyncio.to_thread(node._process.wait, 5)
            assert not cluster.running and cluster.exit_code == -9
            await asyncio.to_thread(cluster.start)  # restarts the dead node only, waits for cluster_state:ok
            assert cluster.running
            for _ in range(50):  # the client finds the node again on its own
                try:
                    record = await memory.tasks.get("t1")
                    break
                except redis.RedisError:
                    await asyncio.sleep(0.1)
            assert record is not None and record.text == "pick the cup"  # replayed from its append-only file
        finally:
            await memory.close()


async def _aof_written(memory: SharedMemory, timeout_s: float = 5.0) -> None:
    """Wait until the deployment's node has written its append-only buffer to the file (with
    ``appendfsync everysec`` Redis may hold it back up to 2 s while an fsync runs, and a kill -9
    would lose it)."""
    node = memory.redis.get_node_from_key(memory.keys.events)
    async with asyncio.timeout(timeout_s):
        while int((await memory.redis.info("persistence", target_nodes=node))["aof_buffer_length"]) > 0:
            await asyncio.sleep(0.05)
