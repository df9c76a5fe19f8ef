"""The slaver: one agent per robot, carrying out the subtasks the master dispatches to it.

It registers its robot with the skills' full JSON schemas, heartbeats, reports any subtask a
previous run left unfinished as interrupted (never re-running it), then serves its subtask
stream: runs the given tool calls, applies their effects to the scene graph atomically, posts
the result and only then acknowledges the subtask. While the skill server is unreachable the robot
is marked degraded and its subtasks fail at once (see ``slaver.circuit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from brain.errors import BrainError
from memory import SceneConflict, SharedMemory
from memory.messages import (
    TERMINAL_TASK_STATES,
    SubtaskMessage,
    SubtaskResult,
    SubtaskState,
    TaskState,
    ToolCall,
    ToolOutcome,
)
from memory.profiles import RobotProfile
from skills.client import SkillClient, SkillUnavailable
from slaver.circuit import Backoff, SkillCircuit
from slaver.config import SlaverConfig
from slaver.errors import SkillServerUnreachable
from slaver.skill_link import SkillLink

if TYPE_CHECKING:
    from brain.step import StepDecision, Stepper

__all__ = ["Slaver"]

logger = logging.getLogger(__name__)

LEFTOVER_REASON = "interrupted: the slaver stopped while running this subtask; not re-run"
STOPPED_REASON = "interrupted: the slaver was stopped before finishing this subtask; not re-run"
LOST_MEMORY_REASON = "interrupted: the slaver lost shared memory while running this subtask; not re-run"
RETRY_AFTER_S = 1.0  # pause before serving again after losing shared memory
# Shared memory is unreachable: serve again when it answers; what was mid-way stays pending.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class _Event(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class _Run:
    """How one subtask went."""

    state: SubtaskState = SubtaskState.SUCCEEDED
    reason: str = ""
    outcomes: list[ToolOutcome] = field(default_factory=list)

    def fail(self, reason: str, state: SubtaskState = SubtaskState.FAILED) -> _Run:
        self.state, self.reason = state, reason
        return self


def _finished(run: _Run, decision: StepDecision) -> _Run:
    """How a step-planned subtask ends: failed when the planner gave up or never acted successfully."""
    if not decision.ok:
        return run.fail(f"the step planner gave up: {decision.summary}")
    if not any(o.ok for o in run.outcomes):
        return run.fail(f"the step planner finished without acting: {decision.summary}")
    run.reason = decision.summary
    return run


class Slaver:
    """Serves one robot: ``await Slaver(config, memory).run(stop)`` until ``stop`` is set.

    ``skills`` is a connected ``SkillClient`` the caller owns, or a ``SkillLink``; by default the
    slaver opens (and after a failure reopens) the skill server named in ``config``.
    """

    def __init__(
        self,
        config: SlaverConfig,
        memory: SharedMemory,
        skills: SkillClient | SkillLink | None = None,
        stepper: Stepper | None = None,
    ) -> None:
        self.config = config
        self.name = config.robot
        self._mem = memory
        if skills is None:
            skills = SkillLink.from_config(config)
        elif not isinstance(skills, SkillLink):
            skills = SkillLink.fixed(skills)
        self._link = skills
        backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s)
        self._circuit = SkillCircuit(skills, self._mark_degraded, backoff)
        self._stepper = stepper
        self.profile: RobotProfile | None = None
        self.ready = asyncio.Event()  # set once the robot is registered and serving

    async def run(self, stop: _Event) -> None:
        """Register, heartbeat, report leftovers, then serve subtasks until ``stop`` is set."""
        try:
            self.profile = await self._register()
            heartbeat = asyncio.create_task(self._heartbeat_loop(), name=f"heartbeat-{self.name}")
            try:
                await self._report_leftovers(LEFTOVER_REASON)
                self.ready.set()
                await self._serve(stop)
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await heartbeat
                await self._go_offline()
        finally:
            await self._circuit.aclose()
            await self._link.aclose()

    async def _mark_degraded(self, reason: str | None) -> None:
        await self._mem.robots.set_degraded(self.name, reason)

    async def _go_offline(self) -> None:
        try:
            await self._mem.robots.mark_offline(self.name)
        except UNREACHABLE as exc:  # its liveness key expires on its own
            logger.error("robot=%s could not mark itself offline: %r", self.name, exc)
        else:
            logger.info("robot=%s offline", self.name)

    # -- start-up -------------------------------------------------------------------------

    async def _register(self) -> RobotProfile:
        client = await self._link.client()
        try:
            skills, capabilities = await client.list_skills(), await client.capabilities()
        except SkillUnavailable as exc:
            raise SkillServerUnreachable(f"the skill server went away while listing skills: {exc}") from exc
        profile = RobotProfile(
            name=self.name,
            embodiment=self.config.embodiment,
            skills=skills,
            skill_endpoint=self._link.endpoint,
            capabilities=capabilities,
        )
        await self._mem.robots.register(profile, self.config.start_place, ttl_s=self.config.liveness_ttl_s)
        logger.info("robot=%s registered with %d skills: %s", self.name, len(skills),
                    ", ".join(s.name for s in skills))
        return profile

    async def _heartbeat_loop(self) -> None:
        assert self.profile is not None
        while True:
            await asyncio.sleep(self.config.heartbeat_interval_s)
            try:
                if not await self._mem.robots.heartbeat(self.name, self.config.liveness_ttl_s):
                    logger.warning("robot=%s unknown to shared memory (wiped?); registering again", self.name)
                    await self._mem.robots.register(self.profile, self.config.start_place,
                                                    ttl_s=self.config.liveness_ttl_s)
                    await self._circuit.remark()
            except UNREACHABLE as exc:  # keep beating: shared memory may come back
                logger.error("robot=%s heartbeat failed: %r", self.name, exc)

    async def _report_leftovers(self, reason: str) -> None:
        """Report every subtask delivered to this robot but never acknowledged, and ack it."""
        for msg_id, msg in await self._mem.streams.pending_subtasks(self.name, consumer=self.name):
            if await self._already_reported(msg):
                logger.info("robot=%s task=%s subtask=%s already reported; acknowledging",
                            self.name, msg.task_id, msg.subtask_id)
                await self._mem.streams.ack_subtask(self.name, msg_id)
            else:
                now = time.time()
                await self._post(msg, _Run().fail(reason, SubtaskState.INTERRUPTED), now, now, ack_id=msg_id)

    async def _already_reported(self, msg: SubtaskMessage) -> bool:
        """Whether the master already holds a terminal result for this attempt (post, then crash)."""
        record = await self._mem.tasks.get(msg.task_id)
        sub = record.subtasks.get(msg.subtask_id) if record else None
        return sub is not None and sub.attempt == msg.attempt and sub.state.terminal

    # -- serving ----------------------------------------------------------------------------

    async def _serve(self, stop: _Event) -> None:
        logger.info("robot=%s serving its subtask stream", self.name)
        while not stop.is_set():
            try:
                batch = await self._mem.streams.read_subtasks(
                    self.name, consumer=self.name, block_ms=self.config.read_block_ms
                )
                for msg_id, msg in batch:
                    await self._handle(msg_id, msg, stop)
            except UNREACHABLE as exc:
                logger.error("robot=%s lost shared memory: %r; retrying", self.name, exc)
                await asyncio.sleep(RETRY_AFTER_S)
                with contextlib.suppress(*UNREACHABLE):
                    await self._report_leftovers(LOST_MEMORY_REASON)

    async def _handle(self, msg_id: str, msg: SubtaskMessage, stop: _Event) -> None:
        state = await self._mem.tasks.state(msg.task_id)
        if state in TERMINAL_TASK_STATES:
            logger.info("robot=%s task=%s subtask=%s skipped: task is %s",
                        self.name, msg.task_id, msg.subtask_id, state)
            await self._mem.streams.ack_subtask(self.name, msg_id)
            return
        started = time.time()
        await self._post(msg, _Run(state=SubtaskState.RUNNING), started, 0.0, status="busy")
        run = await self._execute(msg, stop, state)
        await self._post(msg, run, started, time.time(), ack_id=msg_id, status="idle")

    async def _post(
        self, msg: SubtaskMessage, run: _Run, started: float, finished: float, *,
        ack_id: str | None = None, status: str | None = None,
    ) -> None:
        """Post the result, then ack ``ack_id`` and set the robot's ``status``, in one round trip."""
        result = SubtaskResult(
            task_id=msg.task_id,
            subtask_id=msg.subtask_id,
            robot=self.name,
            state=run.state,
            reason=run.reason,
            outcomes=list(run.outcomes),
            started_at=started,
            finished_at=finished,
            attempt=msg.attempt,
        )
        current = msg.subtask_id if status == "busy" else None
        await self._mem.streams.report(result, ack_id=ack_id, status=status, current_subtask=current)
        level = logging.WARNING if run.state in (SubtaskState.FAILED, SubtaskState.INTERRUPTED) else logging.INFO
        suffix = f": {run.reason}" if run.reason else ""
        logger.log(level, "robot=%s task=%s subtask=%s %s%s", self.name, msg.task_id, msg.subtask_id,
                   run.state, suffix)

    # -- running one subtask ----------------------------------------------------------------

    async def _execute(self, msg: SubtaskMessage, stop: _Event, task_state: TaskState | None) -> _Run:
        """Run the subtask; ``task_state`` was just read, so the first action need not read it again."""
        deadline = time.monotonic() + msg.timeout_s
        if msg.actions:
            return await self._run_actions(msg, stop, deadline, task_state)
        if self._stepper is not None:
            return await self._run_steps(msg, stop, deadline)
        return _Run().fail("no tool calls given and no step planner configured")

    async def _run_actions(
        self, msg: SubtaskMessage, stop: _Event, deadline: float, task_state: TaskState | None
    ) -> _Run:
        run = _Run()
        for call in msg.actions:
            if not await self._act(msg, call, run, stop, deadline, task_state):
                break
            task_state = None  # read it again before the next action
        return run

    async def _run_steps(self, msg: SubtaskMessage, stop: _Event, deadline: float) -> _Run:
        """A free-text subtask: ask the step planner for one call at a time until it is done."""
        assert self._stepper is not None and self.profile is not None
        tools = [s.to_dict() for s in self.profile.skills]
        run = _Run()
        for _ in range(self.config.max_steps):
            history = [o.to_dict() for o in run.outcomes]
            try:
                decision = await self._stepper.next_action(msg.text, tools, history, await self._state())
            except BrainError as exc:
                return run.fail(f"the step planner failed: {exc}")
            if decision.done:
                logger.info("robot=%s task=%s subtask=%s step planner done (ok=%s): %s", self.name,
                            msg.task_id, msg.subtask_id, decision.ok, decision.summary)
                return _finished(run, decision)
            call = ToolCall(decision.name or "", dict(decision.arguments))
            if not await self._act(msg, call, run, stop, deadline):
                return run
        return run.fail(f"the step planner did not finish within {self.config.max_steps} steps")

    async def _state(self) -> dict[str, Any]:
        """What the robot knows now, for the step planner."""
        record = await self._mem.robots.get(self.name)
        scene = await self._mem.scene.snapshot()
        return {
            "robot": self.name,
            "position": record.position if record else None,
            "holding": record.holding if record else [],
            "scene": scene.to_dict(),
        }

    async def _act(
        self, msg: SubtaskMessage, call: ToolCall, run: _Run, stop: _Event, deadline: float,
        task_state: TaskState | None = None,
    ) -> bool:
        """Run one tool call and apply its effects; False (``run`` marked failed) to stop here.

        ``task_state``: the task's state if it was read just now (else it is read here).
        """
        blocker = await self._blocker(msg, stop, deadline, task_state)
        if blocker is not None:
            run.fail(*blocker)
            return False
        if self._circuit.is_open:
            run.fail(f"{_describe(call)} not run: {self._circuit.why}; reconnecting in the background")
            return False
        timeout_s = min(deadline - time.monotonic(), self.config.default_call_timeout_s)
        logger.info("robot=%s task=%s subtask=%s calling %s", self.name, msg.task_id,
                    msg.subtask_id, _describe(call))
        try:
            outcome = await self._call(call, timeout_s)
        except (SkillUnavailable, SkillServerUnreachable) as exc:
            await self._link.reset()
            await self._circuit.trip(str(exc))  # marks the robot degraded before the failure is posted
            run.fail(f"{_describe(call)} not run: {exc}")
            return False
        run.outcomes.append(outcome)
        failure = self._failure(msg, call, outcome, deadline) or await self._apply(msg, call, outcome)
        if failure:
            run.fail(failure)
        return failure is None

    @staticmethod
    def _failure(msg: SubtaskMessage, call: ToolCall, outcome: ToolOutcome, deadline: float) -> str | None:
        if outcome.ok:
            return None
        if time.monotonic() >= deadline:
            return f"timed out after {msg.timeout_s:g} s in {_describe(call)}: {outcome.message}"
        return f"{_describe(call)} failed: {outcome.message}"

    async def _call(self, call: ToolCall, timeout_s: float) -> ToolOutcome:
        client = await self._link.client()
        try:
            return await client.call(call.name, call.arguments, timeout_s)
        except SkillUnavailable:
            raise
        except Exception as exc:  # one tool call is a boundary: record it, keep serving
            logger.exception("robot=%s tool call %s raised", self.name, _describe(call))
            return ToolOutcome(name=call.name, arguments=dict(call.arguments), ok=False,
                               message=f"{type(exc).__name__}: {exc}")

    async def _apply(self, msg: SubtaskMessage, call: ToolCall, outcome: ToolOutcome) -> str | None:
        """Apply the call's effects to the scene, all or none; the failure reason, or None."""
        if not outcome.effects:
            return None
        try:
            version = await self._mem.scene.apply(outcome.effects, robot=self.name, task_id=msg.task_id)
        except SceneConflict as exc:
            return f"{_describe(call)} succeeded but its effects conflict with the scene: {exc}"
        logger.info("robot=%s task=%s applied %d effects of %s (scene version %d)", self.name,
                    msg.task_id, len(outcome.effects), call.name, version)
        return None

    async def _blocker(
        self, msg: SubtaskMessage, stop: _Event, deadline: float, state: TaskState | None = None
    ) -> tuple[str, SubtaskState] | None:
        """Why the next action must not run: the slaver stops, the task ended, or time is up."""
        if stop.is_set():
            return STOPPED_REASON, SubtaskState.INTERRUPTED
        if state is None:
            state = await self._mem.tasks.state(msg.task_id)
        if state == TaskState.CANCELLED:
            return "task cancelled", SubtaskState.FAILED
        if state in TERMINAL_TASK_STATES:
            return f"task already {state}", SubtaskState.FAILED
        if deadline - time.monotonic() <= 0:
            return f"timed out after {msg.timeout_s:g} s", SubtaskState.FAILED
        return None


def _describe(call: ToolCall) -> str:
    """``navigate(target=table_2)``: a tool call as people read it in reasons and logs."""
    args = ", ".join(f"{key}={value}" for key, value in call.arguments.items())
    return f"{call.name}({args})"
