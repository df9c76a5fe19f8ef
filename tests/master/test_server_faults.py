"""Redis down or the pool busy: the master answers 503 with Retry-After and says which, never 500,
and recovers on its own."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import anyio
import httpx
import pytest

from master.service import MasterService
from memory import SharedMemory
from memory.server import EmbeddedRedis
from tests.master.conftest import free_port
from memory.messages import SubtaskState, TaskState
from tests.master.fakes import FakeSlaver, FixedPlanner, plan_of, setup_world, step, succeed_after, wait_terminal

pytestmark = pytest.mark.anyio

PLAN = plan_of(step("s1", "r1"))
RECOVERY_S = 20.0


async def wait_healthy(client: httpx.AsyncClient) -> httpx.Response:
    with anyio.fail_after(RECOVERY_S):
        while (response := await client.get("/health")).status_code != 200:
            await anyio.sleep(0.2)  # the pool reconnects on the next command
    return response


async def test_redis_down_gives_503_with_retry_after_then_the_master_recovers(tmp_path: Path, masters,
                                                                             key_prefix: str) -> None:
    redis = EmbeddedRedis(tmp_path / "redis", port=free_port(), auth=False).start()  # a fixed port survives a restart
    try:
        memory = await SharedMemory.connect(redis.url, prefix=key_prefix)
        await setup_world(memory, ttl_s=300)
        await memory.close()
        with masters.serve(FixedPlanner(PLAN), redis_url=redis.url) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                assert (await client.post("/publish_task", json={"task": "x"})).status_code == 200
                redis.stop()
                for response in [await client.post("/publish_task", json={"task": "x"}), await client.get("/tasks"),
                                 await client.get("/health")]:
                    assert response.status_code == 503, response.text
                    assert int(response.headers["Retry-After"]) > 0
                    body = response.json()
                    assert body["status"] == "error" and body["redis"] == "down" and "unreachable" in body["message"]
                redis.start()
                assert (await wait_healthy(client)).json()["redis"] == "up"
                assert (await client.post("/publish_task", json={"task": "x"})).status_code == 200
    finally:
        redis.stop()


async def hold_every_connection(service: MasterService) -> list:
    """Quiet the scheduler's and the feed's blocking reads (they would win the race for a freed
    connection), then check out the whole pool."""
    await service.scheduler.stop()
    await service.feed.stop()
    pool = service.memory.redis.connection_pool
    return [await pool.get_connection() for _ in range(pool.max_connections)]


async def release(service: MasterService, held: list) -> None:
    for connection in held:
        await service.memory.redis.connection_pool.release(connection)


async def test_a_busy_pool_gives_503_busy_not_down(shared_memory: SharedMemory, masters) -> None:
    if shared_memory.cluster:
        pytest.skip("holds the standalone client's pool; a cluster client has one pool per node")
    await setup_world(shared_memory)
    service, client = masters.start(FixedPlanner(PLAN), redis_max_connections=4, redis_pool_timeout_s=0.3)
    held = await asyncio.to_thread(service.call, hold_every_connection(service), 10)
    try:
        for response in (client.get("/health"), client.get("/tasks"), client.post("/publish_task", json={"task": "x"})):
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.headers["Retry-After"] == "1"
            assert response.get_json()["redis"] == "busy"
        service.memory.redis.connection_pool.timeout = 5.0  # longer than /health waits: it looks at the pool
        assert client.get("/health").get_json()["redis"] == "busy"
    finally:
        await asyncio.to_thread(service.call, release(service, held), 10)
    assert client.get("/health").status_code == 200


async def test_a_dispatch_redis_lost_in_a_restart_is_made_again(tmp_path: Path, masters, key_prefix: str) -> None:
    """Redis replays its append-only file only up to the last fsync: a dispatch it lost (the record
    back at waiting, nothing on the robot's stream) is made again once Redis answers, and the
    task finishes instead of waiting out its timeout."""
    redis = EmbeddedRedis(tmp_path / "redis", port=free_port(), auth=False).start()
    try:
        memory = await SharedMemory.connect(redis.url, prefix=key_prefix)
        await setup_world(memory, ttl_s=300)
        with masters.serve(FixedPlanner(PLAN), redis_url=redis.url, subtask_timeout_s=120.0) as base:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                task_id = (await client.post("/publish_task", json={"task": "x"})).json()["task_id"]
                # What a crash between the dispatch and the next fsync leaves behind:
                record = await memory.tasks.get(task_id)
                await memory.tasks.save_subtask(task_id, replace(record.subtasks["s1"], state=SubtaskState.WAITING))
                await memory.redis.delete(memory.keys.subtasks("r1"))
                await memory.close()
                redis.stop()
                await asyncio.sleep(1.0)  # the master's results loop sees the outage
                redis.start()
                await wait_healthy(client)
                memory = await SharedMemory.connect(redis.url, prefix=key_prefix)
                slaver = FakeSlaver(memory, "r1", succeed_after(0)).start()
                try:
                    done = await wait_terminal(memory, task_id, timeout_s=RECOVERY_S)
                finally:
                    await slaver.stop()
        assert done.state == TaskState.SUCCEEDED, done.reason
        assert [run[0] for run in slaver.runs] == ["s1"]
        await memory.close()
    finally:
        redis.stop()
