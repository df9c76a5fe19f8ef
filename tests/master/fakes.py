"""Test doubles for the master's tests: a fixed planner, a small fleet and scene, fake slavers
that speak the real work-stream protocol, and waits on the event log with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from brain.errors import PlanningError
from brain.plan import Plan, PlanStep
from brain.planner import Planner, ReplanContext
from brain.world import WorldView
from memory import SharedMemory
from memory.messages import TERMINAL_TASK_STATES, SubtaskMessage, SubtaskResult, SubtaskState, TaskState
from memory.profiles import ActionSemantics, RobotProfile, SceneNode, SkillSpec, TaskRecord
from memory.robots import SHARED_LEASE

PLACE = {"type": "object", "properties": {"place": {"type": "string"}}, "required": ["place"]}
OBJECT = {"type": "object", "properties": {"object": {"type": "string"}}, "required": ["object"]}
SKILLS = {
    "move": SkillSpec("move", "Go to a place.", PLACE, ActionSemantics("navigate", {"target": "place"})),
    "pick": SkillSpec("pick", "Pick an object.", OBJECT, ActionSemantics("pick", {"object": "object"})),
    "wave": SkillSpec("wave", "Wave.", {"type": "object", "properties": {}}),
}
FLEET = {"r1": ["move", "pick"], "r2": ["move", "wave"]}
SCENE = [
    SceneNode("kitchen", "place"),
    SceneNode("hall", "place"),
    SceneNode("apple", "object", parent="kitchen", relation="at"),
]


def step(step_id: str, robot: str, order: int = 1, depends_on: list[str] | None = None,
         actions: list[dict[str, Any]] | None = None) -> PlanStep:
    actions = [{"name": "move", "arguments": {"place": "hall"}}] if actions is None else actions
    return PlanStep(step_id, robot, f"{step_id} on {robot}", order, depends_on, actions)


class FixedPlanner(Planner):
    """Returns the given plans in turn (the last one repeats); records every call's context."""

    name = "fixed"

    def __init__(self, *plans: Plan | Exception) -> None:
        self.plans = list(plans)
        self.contexts: list[ReplanContext | None] = []

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        self.contexts.append(context)
        answer = self.plans.pop(0) if len(self.plans) > 1 else self.plans[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def plan_of(*steps: PlanStep) -> Plan:
    return Plan("because", list(steps), planner="fixed")


async def setup_world(mem: SharedMemory, ttl_s: float = 30.0, robots: dict[str, list[str]] | None = None) -> None:
    await mem.scene.load(SCENE)
    for name, skills in (robots or FLEET).items():
        profile = RobotProfile(name, "test_bot", [SKILLS[s] for s in skills])
        await mem.robots.register(profile, "kitchen", ttl_s=ttl_s)


# -- fake slavers ---------------------------------------------------------------------------

Behaviour = Callable[[SubtaskMessage], Awaitable[tuple[SubtaskState, str] | None]]


def succeed_after(delay_s: float) -> Behaviour:
    async def behave(msg: SubtaskMessage) -> tuple[SubtaskState, str]:
        await asyncio.sleep(delay_s)  # the simulated work itself
        return SubtaskState.SUCCEEDED, ""

    return behave


@dataclass
class FakeSlaver:
    """A stand-in for a robot's slaver: reads its stream, claims the subtask (which reports it
    RUNNING), reports a result, acks.

    ``behave`` returns the terminal state and reason, or None to never answer. ``runs`` records
    (subtask_id, start, end) in time.monotonic().
    """

    mem: SharedMemory
    robot: str
    behave: Behaviour
    runs: list[tuple[str, float, float]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (subtask_id, why) the claim refused
    heartbeat_ttl_s: float | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _running: bool = True
    _beating: bool = True

    def start(self) -> FakeSlaver:
        self._tasks.append(asyncio.create_task(self._work()))
        if self.heartbeat_ttl_s:
            self._tasks.append(asyncio.create_task(self._heartbeat()))
        return self

    def stop_heartbeat(self) -> None:
        self._beating = False

    async def stop(self) -> None:
        """Stop after the current blocking read: cancelling a blocking redis-py read can hang
        (redis/redis-py#2579), so the loops check a flag instead."""
        self._running = self._beating = False
        done, pending = await asyncio.wait(self._tasks, timeout=5)
        assert not pending, "fake slaver did not stop"
        for task in done:
            task.result()

    async def _heartbeat(self) -> None:
        while self._beating:
            await self.mem.robots.heartbeat(self.robot, self.heartbeat_ttl_s)
            await asyncio.sleep(self.heartbeat_ttl_s / 3)

    async def _work(self) -> None:
        while self._running:
            for msg_id, msg in await self.mem.streams.read_subtasks(self.robot, self.robot, block_ms=200):
                await self._run(msg_id, msg)
                await self.mem.streams.ack_subtask(self.robot, msg_id)

    async def _run(self, msg_id: str, msg: SubtaskMessage) -> None:
        start = time.monotonic()
        refused = await self.mem.streams.claim(msg_id, msg, SHARED_LEASE, self._result(msg, SubtaskState.RUNNING, ""))
        if refused is not None:
            self.refused.append((msg.subtask_id, refused))
            return
        outcome = await self.behave(msg)
        if outcome is None:
            return
        self.runs.append((msg.subtask_id, start, time.monotonic()))
        await self.mem.streams.post_result(self._result(msg, *outcome))

    def _result(self, msg: SubtaskMessage, state: SubtaskState, reason: str) -> SubtaskResult:
        return SubtaskResult(msg.task_id, msg.subtask_id, self.robot, state, reason,
                             started_at=time.time(), finished_at=time.time(), attempt=msg.attempt)


async def wait_terminal(mem: SharedMemory, task_id: str, timeout_s: float = 15.0) -> TaskRecord:
    """Follow the event log (blocking reads) until the task reaches a terminal state."""
    last_id = "0-0"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = await mem.tasks.get(task_id)
        if record is not None and record.state in TERMINAL_TASK_STATES:
            return record
        for event in await mem.events.after(last_id, block_ms=200):
            last_id = event.id
    raise AssertionError(f"task {task_id} did not end within {timeout_s} s: {await mem.tasks.get(task_id)}")


async def wait_subtask(mem: SharedMemory, task_id: str, subtask_id: str, state: SubtaskState,
                       timeout_s: float = 10.0) -> None:
    last_id = "0-0"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        record = await mem.tasks.get(task_id)
        if record is not None and subtask_id in record.subtasks and record.subtasks[subtask_id].state == state:
            return
        for event in await mem.events.after(last_id, block_ms=200):
            last_id = event.id
    raise AssertionError(f"{task_id}/{subtask_id} never reached {state}")


__all__ = [
    "FakeSlaver", "FixedPlanner", "PlanningError", "TaskState", "plan_of", "setup_world", "step",
    "succeed_after", "wait_subtask", "wait_terminal",
]
