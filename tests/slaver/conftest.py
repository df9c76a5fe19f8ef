"""Fixtures for the slaver tests: a small world in real Redis, slavers driving real MCP skill servers,
and a follower of the results stream that reads it the way the master does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from memory import SceneNode, SharedMemory, SubtaskMessage, SubtaskResult, SubtaskState, TaskRecord, TaskState, ToolCall
from skills.client import SkillClient
from skills.sim import build_sim_server
from slaver.agent import Slaver
from slaver.config import SlaverConfig
from slaver.skill_link import SkillLink
from tests.work import record_and_dispatch

WORLD = [
    SceneNode("kitchen", "place"),
    SceneNode("dining_room", "place"),
    SceneNode("counter", "furniture", "kitchen", "at"),
    SceneNode("table_1", "furniture", "dining_room", "at"),
    SceneNode("apple", "object", "counter", "on", {"weight_kg": 0.2}),
    SceneNode("cup", "object", "table_1", "on", {"weight_kg": 0.3}),
]


@pytest.fixture
async def world(shared_memory: SharedMemory) -> SharedMemory:
    """The shared memory with a two-room restaurant loaded."""
    await shared_memory.scene.load(list(WORLD))
    return shared_memory


class Results:
    """Reads the results stream as the master would: its own consumer, everything acknowledged."""

    def __init__(self, memory: SharedMemory) -> None:
        self.memory = memory
        self.seen: list[SubtaskResult] = []

    async def until(self, done: Callable[[list[SubtaskResult]], bool], timeout_s: float = 10.0) -> list[SubtaskResult]:
        with anyio.fail_after(timeout_s):
            while not done(self.seen):
                for msg_id, result in await self.memory.streams.read_results("test-master", block_ms=100):
                    self.seen.append(result)
                    await self.memory.streams.ack_results(msg_id)
        return self.seen

    async def terminal(self, subtask_id: str, timeout_s: float = 10.0) -> SubtaskResult:
        await self.until(lambda seen: any(r.subtask_id == subtask_id and r.state.terminal for r in seen), timeout_s)
        return next(r for r in self.seen if r.subtask_id == subtask_id and r.state.terminal)

    def states(self, subtask_id: str) -> list[SubtaskState]:
        return [r.state for r in self.seen if r.subtask_id == subtask_id]


@pytest.fixture
def results(shared_memory: SharedMemory) -> Results:
    return Results(shared_memory)


async def new_task(memory: SharedMemory, task_id: str, state: TaskState = TaskState.RUNNING) -> None:
    await memory.tasks.create(TaskRecord(task_id=task_id, text=f"test task {task_id}", state=state,
                                         created_at=time.time()))


async def dispatch(memory: SharedMemory, task_id: str, subtask_id: str, robot: str,
                   *actions: tuple[str, dict[str, Any]], timeout_s: float = 30.0) -> SubtaskMessage:
    msg = SubtaskMessage(task_id=task_id, subtask_id=subtask_id, robot=robot, text=f"subtask {subtask_id}",
                         actions=[ToolCall(name, args) for name, args in actions], timeout_s=timeout_s)
    await record_and_dispatch(memory, msg)
    return msg


def sim_link(robot: str, embodiment: str, redis_url: str, prefix: str, **settings: Any) -> SkillLink:
    """A link that opens a fresh in-process simulated robot each time it connects (instant by default)."""
    settings.setdefault("speed", 0.0)

    def open_sim() -> SkillClient:
        return SkillClient.in_process(build_sim_server(robot, embodiment, redis_url=redis_url, prefix=prefix,
                                                       **settings))

    return SkillLink(open_sim, f"in-process:{robot}", connect_timeout_s=10.0)


@asynccontextmanager
async def serving(slaver: Slaver, timeout_s: float = 15.0) -> AsyncIterator[asyncio.Event]:
    """Run ``slaver`` until the block ends; yields its stop event once it is registered and serving."""
    stop = asyncio.Event()
    task = asyncio.create_task(slaver.run(stop))
    ready = asyncio.create_task(slaver.ready.wait())
    try:
        await asyncio.wait({task, ready}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # raise what stopped it
        assert slaver.ready.is_set(), f"slaver {slaver.name} not ready within {timeout_s} s"
        yield stop
    finally:
        ready.cancel()
        stop.set()
        await asyncio.wait_for(task, timeout_s)


@pytest.fixture
def make_slaver(world: SharedMemory, redis_url: str, key_prefix: str) -> Callable[..., Slaver]:
    """``make_slaver(robot, embodiment, start, link=None, stepper=None, sim=None, **config)``: a slaver
    for ``robot`` on an in-process simulated robot (``sim`` settings) unless ``link`` is given."""

    def make(robot: str = "bot-1", embodiment: str = "wheeled_dual_arm", start: str = "kitchen",
             link: SkillLink | SkillClient | None = None, stepper: Any = None, sim: dict[str, Any] | None = None,
             **config: Any) -> Slaver:
        link = link or sim_link(robot, embodiment, redis_url, key_prefix, **(sim or {}))
        cfg = SlaverConfig(robot=robot, embodiment=embodiment, start_place=start, read_block_ms=100, **config)
        return Slaver(cfg, world, link, stepper=stepper)

    return make
