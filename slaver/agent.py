"""The slaver: one agent per robot, carrying out the subtasks the master dispatches to it.

It takes its robot's lease (one slaver per robot: a second one waits for the lease to lapse or
refuses to start), registers the robot with the skills' full JSON schemas, heartbeats, then serves
its subtask stream. It starts a subtask only by claiming it (``WorkStreams.claim``: the subtask
must be the one the master recorded, still dispatched and started by nobody, so stale and forged
entries never run), checks before every further action that the claim still holds (the master
may have given the subtask up), runs the tool calls, applies their effects to the scene graph
atomically, posts the result and only then acknowledges the subtask. A subtask a previous run
started and left unfinished is reported interrupted, never re-run; one it read but never started
runs now. While the skill server is unreachable the robot is marked degraded and its subtasks
fail at once (see ``slaver.circuit``); while Redis is unreachable the slaver waits for it
(bounded by the subtask's time) instead of giving up the subtask.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from random import uniform
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from redis.exceptions import RedisError

from brain.errors import BrainError
from memory import SceneConflict, SharedMemory, SharedMemoryError
from memory.counters import RobotCounters
from memory.errors import UNREACHABLE
from memory.messages import SubtaskMessage, SubtaskResult, SubtaskState, ToolCall, ToolOutcome
from memory.profiles import ActionSemantics, RobotProfile
from memory.writes import Write
from skills.client import SkillClient, SkillOutcome, SkillUnavailable
from slaver.circuit import Backoff, SkillCircuit
from slaver.config import SlaverConfig
from slaver.errors import RobotTaken, SkillServerUnreachable
from slaver.foreign_skills import annotate, parse_annotations, reported_effects
from slaver.skill_link import SkillLink

if TYPE_CHECKING:
    from brain.step import StepDecision, Stepper

__all__ = ["Slaver"]

logger = logging.getLogger(__name__)

LEFTOVER_REASON = "interrupted: the slaver stopped while running this subtask; not re-run"
STOPPED_REASON = "interrupted: the slaver was stopped before finishing this subtask; not re-run"
LOST_MEMORY_REASON = "interrupted: the slaver lost shared memory while running this subtask; not re-run"
RETRY_AFTER_S = 1.0  # pause before serving again after losing shared memory
REPORT_PATIENCE_S = 60.0  # how long past its deadline a finished subtask's result waits for Redis
MAX_RETRY_PAUSE_S = 2.0
HEARTBEAT_STOP_S = 5.0
MAX_PREFETCH = 32  # scene nodes read ahead for a subtask's effects
T = TypeVar("T")


def new_lease() -> str:
    """A token naming this slaver process: ``host:pid:nonce``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _local_holder_alive(holder: str) -> bool | None:
    """Whether the lease ``holder`` (``host:pid:nonce``) is a running process: None when it is on
    another host (unknown from here)."""
    host, _, rest = holder.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Event(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class _Run:
    """How one subtask went."""

    state: SubtaskState = SubtaskState.SUCCEEDED
    reason: str = ""
    outcomes: list[ToolOutcome] = field(default_factory=list)
    # The last call's effects, applied with the report (one round trip) rather than on their own.
    unapplied: tuple[ToolCall, ToolOutcome] | None = None

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
        self.lease = new_lease()
        self.profile: RobotProfile | None = None
        self.ready = asyncio.Event()  # set once the robot is registered and serving
        self._quit = asyncio.Event()  # ends the heartbeat
        self._taken_over: str | None = None  # set when another slaver took the robot's lease
        self._prefetching: asyncio.Future[None] | None = None  # the scene read for the subtask being run
        self.counters = RobotCounters(memory.redis, memory.keys, self.name)  # for the master's /metrics

    async def run(self, stop: _Event) -> None:
        """Take the robot's lease, register, heartbeat, resume what was pending, then serve
        subtasks until ``stop`` is set. ``RobotTaken`` when another slaver serves the robot (at
        start, or when it took the lease over while this one was cut off)."""
        try:
            self.profile = await self._register()
            heartbeat = asyncio.create_task(self._heartbeat_loop(), name=f"heartbeat-{self.name}")
            try:
                await self._resume_pending(LEFTOVER_REASON)
                self.ready.set()
                await self._serve(stop)
            finally:
                await self._stop_heartbeat(heartbeat)
                if self._taken_over is None:
                    await self._go_offline()
        finally:
            await self.counters.aclose()
            await self._circuit.aclose()
            await self._link.aclose()
        if self._taken_over is not None:
            raise RobotTaken(self._taken_over)

    async def _stop_heartbeat(self, heartbeat: asyncio.Task[None]) -> None:
        """End the heartbeat between beats (cancelling a Redis call mid-way can hang redis-py)."""
        self._quit.set()
        try:
            await asyncio.wait_for(heartbeat, HEARTBEAT_STOP_S)
        except TimeoutError:
            logger.warning("robot=%s heartbeat did not stop within %.0f s; abandoned", self.name, HEARTBEAT_STOP_S)

    async def _mark_degraded(self, reason: str | None) -> None:
        await self._mem.robots.set_degraded(self.name, reason)
        if reason is None:  # the circuit closes: the skill server answers again
            self.counters.reconnect()

    async def _go_offline(self) -> None:
        try:
            await self._mem.robots.mark_offline(self.name, self.lease)
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
        skills = annotate(skills, parse_annotations(self.config.skill_annotations))
        profile = RobotProfile(
            name=self.name,
            embodiment=self.config.embodiment,
            skills=skills,
            skill_endpoint=self._link.endpoint,
            capabilities=capabilities,
        )
        await self._take_lease()
        await self._mem.robots.register(profile, self.config.start_place, ttl_s=self.config.liveness_ttl_s,
                                        lease=self.lease)
        logger.info("robot=%s registered with %d skills: %s", self.name, len(skills),
                    ", ".join(s.name for s in skills))
        return profile

    async def _take_lease(self) -> None:
        """Hold the robot's lease: at once when it is free or its holder is a dead process on this
        host (a crashed slaver being restarted); ``RobotTaken`` at once when its holder runs on this
        host; else wait (up to one liveness TTL) for a remote holder's lease to lapse."""
        ttl = self.config.liveness_ttl_s
        deadline = time.monotonic() + ttl + 0.5
        dead = ""
        while (holder := await self._mem.robots.acquire(self.name, self.lease, ttl, dead_holder=dead)) is not None:
            alive = _local_holder_alive(holder)
            if alive is False:
                logger.info("robot=%s taking over the lease of a slaver that is gone (%s)", self.name, holder)
                dead = holder
                continue
            if alive:
                raise RobotTaken(f"robot {self.name} is already served by another slaver on this host "
                                 f"(lease {holder}); stop that one first")
            if time.monotonic() >= deadline:
                raise RobotTaken(f"robot {self.name} is served by another slaver that is still heartbeating "
                                 f"(lease {holder}); stop that one first")
            logger.info("robot=%s waiting up to %.1f s for the lease of an earlier slaver (%s) to lapse",
                        self.name, deadline - time.monotonic(), holder)
            await asyncio.sleep(min(0.2, ttl / 4))

    async def _heartbeat_loop(self) -> None:
        assert self.profile is not None
        failing = False
        # the first beat at a random point of the first interval: slavers started together (a fleet
        # started by one command, hundreds in one bench worker) would otherwise beat in lockstep,
        # a burst on Redis and their hosts every interval that holds up the subtasks it meets
        wait_s = uniform(0, self.config.heartbeat_interval_s)
        while not self._quit.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quit.wait(), wait_s)
            wait_s = self.config.heartbeat_interval_s
            if self._quit.is_set():
                return
            try:
                if not await self._mem.robots.heartbeat(self.name, self.config.liveness_ttl_s, self.lease):
                    logger.warning("robot=%s unknown to shared memory (wiped?); registering again", self.name)
                    await self._mem.robots.register(self.profile, self.config.start_place,
                                                    ttl_s=self.config.liveness_ttl_s, lease=self.lease)
                    await self._circuit.remark()
                if failing:
                    logger.info("robot=%s heartbeat reaches shared memory again", self.name)
                failing = False
                self.counters.flush_soon()  # what was counted since the last beat, off the serving path
            except SharedMemoryError as exc:  # fenced out: another slaver took the robot over
                logger.error("robot=%s stops serving: %s", self.name, exc)
                self._taken_over = str(exc)
                return
            except UNREACHABLE as exc:  # keep beating: shared memory may come back
                if not failing:
                    logger.error("robot=%s heartbeat failed: %r; retrying every %.1f s", self.name, exc,
                                 self.config.heartbeat_interval_s)
                failing = True

    async def _resume_pending(self, reason: str) -> None:
        """Handle every subtask delivered to this robot and never acknowledged: one never started
        runs now; one started before (by an earlier run, or by this one before Redis went away) is
        reported interrupted with ``reason``; stale ones are dropped by the claim."""
        for msg_id, msg in await self._mem.streams.pending_subtasks(self.name, consumer=self.name):
            await self._handle(msg_id, msg, _NEVER, started_reason=reason)

    # -- serving ----------------------------------------------------------------------------

    async def _serve(self, stop: _Event) -> None:
        logger.info("robot=%s serving its subtask stream", self.name)
        failing = False
        while not stop.is_set() and self._taken_over is None:
            try:
                batch = await self._mem.streams.read_subtasks(
                    self.name, consumer=self.name, block_ms=self.config.read_block_ms
                )
                if failing:
                    logger.info("robot=%s shared memory reachable again; serving", self.name)
                    failing = False
                if not batch:  # idle: entries a fenced-out slaver of this robot read and left behind
                    await self._resume_pending(LEFTOVER_REASON)
                for msg_id, msg in batch:
                    await self._handle(msg_id, msg, stop)
            except UNREACHABLE as exc:
                if not failing:
                    logger.error("robot=%s lost shared memory: %r; retrying every %.0f s", self.name, exc,
                                 RETRY_AFTER_S)
                failing = True
                await asyncio.sleep(RETRY_AFTER_S)
                with contextlib.suppress(*UNREACHABLE):
                    await self._resume_pending(LOST_MEMORY_REASON)

    async def _handle(
        self, msg_id: str, msg: SubtaskMessage, stop: _Event, *, started_reason: str = LEFTOVER_REASON
    ) -> None:
        """Claim the subtask and run it; report it interrupted (``started_reason``) when a slaver
        started it before; skip it when the claim refuses it."""
        started = time.time()
        running = self._result(msg, _Run(state=SubtaskState.RUNNING), started, 0.0)
        self._prefetching = asyncio.ensure_future(self._prefetch(msg))  # its reply comes while the subtask starts
        try:
            refused = await self._mem.streams.claim(msg_id, msg, self.lease, running)
            if refused == "claimed":
                await self._post(msg, _Run().fail(started_reason, SubtaskState.INTERRUPTED), started, started,
                                 ack_id=msg_id)
                return
            if refused is not None:
                logger.info("robot=%s task=%s subtask=%s not run: %s", self.name, msg.task_id, msg.subtask_id,
                            _REFUSALS.get(refused, refused))
                if refused == "lease":  # fenced out: stop reading, the lease holder will find the entry pending
                    self._taken_over = f"robot {self.name} is now served by another slaver: its lease was taken over"
                return
            logger.info("robot=%s task=%s subtask=%s %s", self.name, msg.task_id, msg.subtask_id, SubtaskState.RUNNING)
            deadline = time.monotonic() + msg.timeout_s
            run = await self._execute(msg, stop, deadline)
            await self._reachable("reporting the result", deadline + REPORT_PATIENCE_S, lambda: self._post(
                msg, run, started, time.time(), ack_id=msg_id, status="idle"))
        finally:
            await self._prefetching
            self._prefetching = None

    async def _prefetch(self, msg: SubtaskMessage) -> None:
        """Read the scene nodes the subtask's actions name (and this robot's) beside the claim, so
        that applying their effects needs no read first; a failed read only loses that."""
        names = {self.name, *(value for call in msg.actions for value in call.arguments.values()
                              if isinstance(value, str) and value)}
        try:
            await self._mem.scene.prefetch(sorted(names)[:MAX_PREFETCH])
        except (RedisError, OSError, SharedMemoryError) as exc:  # awaited in _handle's finally: never raise
            logger.debug("robot=%s task=%s no scene prefetch: %r", self.name, msg.task_id, exc)

    async def _reachable(self, doing: str, until: float, op: Callable[[], Awaitable[T]]) -> T:
        """``op()``, tried again while Redis is unreachable, until monotonic time ``until``."""
        pause, warned = 0.1, False
        while True:
            try:
                result = await op()
            except UNREACHABLE as exc:
                if time.monotonic() + pause >= until:
                    raise
                if not warned:
                    logger.warning("robot=%s shared memory unreachable while %s (%r); waiting for it",
                                   self.name, doing, exc)
                    warned = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RETRY_PAUSE_S)
                continue
            if warned:
                logger.info("robot=%s shared memory reachable again; carrying on %s", self.name, doing)
            return result

    async def _post(
        self, msg: SubtaskMessage, run: _Run, started: float, finished: float, *,
        ack_id: str | None = None, status: str | None = None,
    ) -> None:
        """Post the result, then ack ``ack_id`` and set the robot's ``status``, in one round trip;
        with the last call's effects, when they are still to apply, in that same round trip (when
        they conflict with the scene, the subtask fails and that is posted instead)."""
        current = msg.subtask_id if status == "busy" else None

        def report() -> Write:
            return self._mem.streams.report_write(self._result(msg, run, started, finished), ack_id=ack_id,
                                                  status=status, current_subtask=current)

        posted = False
        if run.unapplied is not None:
            call, outcome = run.unapplied
            failure = await self._apply(msg, call, outcome, then=[report()])
            run.unapplied = None
            posted = failure is None
            if failure is not None:
                run.fail(failure)
        if not posted:
            await self._mem.writes.run([report()])
        self.counters.subtask(run.state)  # sent to Redis at the next heartbeat
        level = logging.WARNING if run.state in (SubtaskState.FAILED, SubtaskState.INTERRUPTED) else logging.INFO
        suffix = f": {run.reason}" if run.reason else ""
        logger.log(level, "robot=%s task=%s subtask=%s %s%s", self.name, msg.task_id, msg.subtask_id,
                   run.state, suffix)

    def _result(self, msg: SubtaskMessage, run: _Run, started: float, finished: float) -> SubtaskResult:
        return SubtaskResult(
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

    # -- running one subtask ----------------------------------------------------------------

    async def _execute(self, msg: SubtaskMessage, stop: _Event, deadline: float) -> _Run:
        """Run the claimed subtask (the claim checked it just now: the first action needs no fence check)."""
        if msg.actions:
            return await self._run_actions(msg, stop, deadline)
        if self._stepper is not None:
            return await self._run_steps(msg, stop, deadline)
        return _Run().fail("no tool calls given and no step planner configured")

    async def _run_actions(self, msg: SubtaskMessage, stop: _Event, deadline: float) -> _Run:
        run = _Run()
        last = len(msg.actions) - 1
        for index, call in enumerate(msg.actions):
            if not await self._act(msg, call, run, stop, deadline, fenced=index == 0, last=index == last):
                break
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
            if not await self._act(msg, call, run, stop, deadline, fenced=not run.outcomes):
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
        self, msg: SubtaskMessage, call: ToolCall, run: _Run, stop: _Event, deadline: float, *, fenced: bool = False,
        last: bool = False,
    ) -> bool:
        """Run one tool call and apply its effects; False (``run`` marked failed) to stop here.

        ``fenced``: the claim was checked just now (else it is checked here first). ``last``: the
        subtask's last call, whose effects are applied with the report (``run.unapplied``).
        """
        blocker = await self._blocker(msg, stop, deadline, fenced)
        if blocker is not None:
            run.fail(*blocker)
            return False
        if self._circuit.is_open:
            run.fail(f"{_describe(call)} not run: {self._circuit.why}; reconnecting in the background")
            return False
        timeout_s = min(deadline - time.monotonic(), self.config.default_call_timeout_s)
        logger.info("robot=%s task=%s subtask=%s calling %s", self.name, msg.task_id,
                    msg.subtask_id, _describe(call))
        called = time.monotonic()
        try:
            outcome = await self._call(call, timeout_s)
        except (SkillUnavailable, SkillServerUnreachable) as exc:
            self.counters.skill_call(call.name, None, time.monotonic() - called)
            await self._link.reset()
            await self._circuit.trip(str(exc))  # marks the robot degraded before the failure is posted
            run.fail(f"{_describe(call)} not run: {exc}")
            return False
        self.counters.skill_call(call.name, outcome, time.monotonic() - called)
        run.outcomes.append(outcome)
        await self._map_reported(call, outcome)
        failure = self._failure(msg, call, outcome, deadline)
        if failure is None and last and outcome.effects:
            run.unapplied = call, outcome
        elif failure is None:
            failure = await self._apply(msg, call, outcome)
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

    async def _map_reported(self, call: ToolCall, outcome: ToolOutcome) -> None:
        """A server without RoboOS effects (``slaver.foreign_skills``): its reported state, or its
        annotated kind, as the outcome's effects."""
        reported = outcome.state if isinstance(outcome, SkillOutcome) else {}
        if not outcome.ok or outcome.effects or not (reported or call.name in self.config.skill_annotations):
            return
        assert self.profile is not None
        spec = self.profile.skill(call.name)
        semantics = spec.semantics if spec is not None else ActionSemantics()
        outcome.effects = reported_effects(self.name, call, semantics, reported, await self._mem.scene.snapshot())

    async def _apply(self, msg: SubtaskMessage, call: ToolCall, outcome: ToolOutcome,
                     then: Sequence[Write] = ()) -> str | None:
        """Apply the call's effects to the scene, all or none (and ``then``, only with them); the
        failure reason, or None."""
        if not outcome.effects:
            return None
        if self._prefetching is not None:
            await self._prefetching  # the read already under way, rather than one more
        try:
            version = await self._reachable(f"applying the effects of {call.name}", time.monotonic() + REPORT_PATIENCE_S,
                                            lambda: self._mem.scene.apply(outcome.effects, robot=self.name,
                                                                          task_id=msg.task_id, then=then))
        except SceneConflict as exc:
            return f"{_describe(call)} succeeded but its effects conflict with the scene: {exc}"
        logger.info("robot=%s task=%s applied %d effects of %s (scene version %d)", self.name,
                    msg.task_id, len(outcome.effects), call.name, version)
        return None

    async def _blocker(
        self, msg: SubtaskMessage, stop: _Event, deadline: float, fenced: bool = False
    ) -> tuple[str, SubtaskState] | None:
        """Why the next action must not run: the slaver stops or was taken over, the claim no
        longer holds (the task ended, the master gave the subtask up), or time is up."""
        if stop.is_set():
            return STOPPED_REASON, SubtaskState.INTERRUPTED
        if self._taken_over is not None:
            return f"interrupted: {self._taken_over}", SubtaskState.INTERRUPTED
        if not fenced:
            why = await self._reachable("checking its claim", deadline,
                                        lambda: self._mem.tasks.fence(msg.task_id, msg.subtask_id, self.lease))
            if why is not None:
                return why, SubtaskState.FAILED
        if deadline - time.monotonic() <= 0:
            return f"timed out after {msg.timeout_s:g} s", SubtaskState.FAILED
        return None


class _NeverSet:
    """A stop event that is never set (subtasks resumed at start-up run to their end)."""

    def is_set(self) -> bool:
        return False


_NEVER = _NeverSet()

_REFUSALS = {  # what a claim's refusal means, for the log
    "lease": "another slaver holds this robot now",
    "unknown": "no task records this subtask for this robot and attempt (stale or forged entry)",
}


def _describe(call: ToolCall) -> str:
    """``navigate(target=table_2)``: a tool call as people read it in reasons and logs."""
    args = ", ".join(f"{key}={value}" for key, value in call.arguments.items())
    return f"{call.name}({args})"
