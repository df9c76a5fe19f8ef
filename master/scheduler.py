"""The scheduler: plans tasks, dispatches their subtasks as a DAG, follows results, replans.

Everything runs on the master's one asyncio loop. One loop task blocks on the results stream
(bounded by the next subtask deadline) and handles results, deadlines and robots going offline;
no thread per robot and no sleep-polling. Task records live in Redis and are mirrored in
``_active`` for the tasks that are not terminal; every change is saved before the result that
caused it is acknowledged, so a restarted master resumes where the last one stopped. A step (a
publish, a batch of results) makes its writes in one round trip at its end (``memory.writes``): the
tasks change in memory as it goes and are put back as they were when the writes fail.

After a failure the current plan stops growing (waiting subtasks are superseded); once nothing
of it is in flight any more, the rest of the task is replanned from the current world with the
failure as context, at most ``max_replans`` times, then the task fails saying why.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from brain.errors import PlanningError
from brain.plan import Plan
from brain.plan_check import check_plan_effects
from brain.planner import Planner, ReplanContext
from brain.validation import validate_plan
from brain.world import WorldView
from master.config import MasterConfig
from master.dag import (
    FAILURE_STATES,
    IN_FLIGHT_STATES,
    current_subtasks,
    ready_subtasks,
    subtasks_from_plan,
)
from master.deadlines import Deadlines
from master.errors import InvalidPlan, PlanTimeout, TaskConflict, TaskNotFound
from master.fleet_view import FleetView
from master.metrics import MasterMetrics
from memory import SharedMemory
from memory.errors import UNREACHABLE
from memory.events import encode_event
from memory.messages import (
    TERMINAL_TASK_STATES,
    SubtaskMessage,
    SubtaskResult,
    SubtaskState,
    TaskState,
)
from memory.profiles import SubtaskRecord, TaskRecord
from memory.writes import Write

__all__ = ["Scheduler", "CONSUMER"]

logger = logging.getLogger(__name__)

CONSUMER = "master"
MAX_BLOCK_MS = 500
STOP_GRACE_S = 2.0
ERROR_BACKOFF_S = 0.5
MAX_BACKOFF_S = 5.0
FOLLOW_INTERVAL_S = 1.0  # how often the results loop brings the fleet view up to date between tasks
AHEAD_WINDOW = 20  # the last publishes that tell whether planning ahead pays (see Scheduler._plan_now)
RUNNING_GRACE_S = 5.0  # a started subtask's report may arrive this long (at most its timeout) after its run time is up


class Scheduler:
    def __init__(self, memory: SharedMemory, planner: Planner, config: MasterConfig,
                 metrics: MasterMetrics | None = None) -> None:
        self._mem = memory
        self._metrics = metrics or MasterMetrics(lambda: None)
        self._planner = planner
        self._config = config
        self._active: dict[str, TaskRecord] = {}
        self._reserved: set[str] = set()
        self._lock = asyncio.Lock()
        self._deadlines = Deadlines()
        self._replans: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._next_offline_check = 0.0
        self._offline_since: dict[str, float] = {}
        self._fleet = FleetView(memory)
        self._next_follow = 0.0
        self._task_ended = False  # since the fleet view was last brought up to date
        self._still_built: deque[bool] = deque(maxlen=AHEAD_WINDOW)  # per publish: was the built world current
        self._stopping = False
        self._staged: _Step | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Complete the lease index (a store older than it), load the fleet view (and warm the
        planner on it), resume the tasks a previous master left active, then follow results."""
        if indexed := await self._mem.robots.index_leases():
            logger.info("indexed the leases of %d robots", indexed)
        self._planner.warm(await self._fleet.world())
        await self._resume()
        self._loop_task = asyncio.create_task(self._results_loop(), name="master-results")

    async def stop(self) -> None:
        """Let the results loop finish its current read (at most ``MAX_BLOCK_MS``), then return.

        The blocking read is not cancelled: a cancelled XREADGROUP can leave the connection
        waiting; the loop sees ``_stopping`` after the read instead.
        """
        self._stopping = True
        for replan in self._replans.values():
            replan.cancel()
        tasks = [t for t in [self._loop_task, *self._replans.values()] if t is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=MAX_BLOCK_MS / 1000 + STOP_GRACE_S)
            for task in pending:
                logger.warning("task %s did not stop in time; cancelling it", task.get_name())
                task.cancel()
        self._loop_task = None

    @property
    def active_count(self) -> int:
        return len(self._active)

    def census(self) -> tuple[dict[str, int], dict[str, int]]:
        """Tasks not yet ended by state (those being planned are ``pending``), and their current
        subtasks by state: for ``/metrics``; call it on the loop."""
        tasks = Counter(str(r.state) for r in self._active.values())
        tasks[str(TaskState.PENDING)] += len(self._reserved)
        subtasks = Counter(str(s.state) for r in self._active.values() for s in current_subtasks(r))
        return dict(tasks), dict(subtasks)

    # -- requests --------------------------------------------------------------------------

    async def publish(self, text: str, task_id: str | None = None, refresh: bool = False) -> TaskRecord:
        """Plan ``text``, validate the plan, record the task and dispatch what is ready.

        Raises ``TaskConflict`` for a taken id, ``InvalidPlan`` / ``PlanTimeout`` when no valid
        plan came (the task is then recorded as failed, nothing is dispatched).
        """
        chosen = bool(task_id)
        task_id = task_id or uuid.uuid4().hex[:12]
        await self._reserve(task_id, look_up=chosen)
        try:
            record = TaskRecord(task_id=task_id, text=text, created_at=time.time(), plan_info={"refresh": refresh})
            plan = await self._plan_now(record)
            record.reasoning = plan.reasoning_explanation
            record.plan_info.update(plan.info or {}, planner=plan.planner)
            record.subtasks = {s.subtask_id: s for s in subtasks_from_plan(plan, 0)}
            record.state = TaskState.RUNNING
            async with self._lock, self._step():
                create = self._mem.tasks.create_write(record, [_created_event(record), _task_event(record)])
                await self._write(record, create, lambda: self._active.__setitem__(task_id, record),
                                  lambda: self._metrics.tasks.labels(str(record.state)).inc())
                await self._advance(record)
            logger.info("task %s: planned %d subtasks", task_id, len(record.subtasks))
            return record
        finally:
            self._reserved.discard(task_id)

    async def cancel(self, task_id: str, reason: str = "cancelled by request") -> TaskRecord:
        async with self._lock:
            record = self._active.get(task_id)
            if record is None:
                stored = await self._mem.tasks.get(task_id)
                if stored is None:
                    raise TaskNotFound(task_id)
                raise TaskConflict(f"task {task_id!r} is already {stored.state}; only an active task can be cancelled")
            replan = self._replans.pop(task_id, None)
            if replan is not None:
                replan.cancel()
            await self._finish(record, TaskState.CANCELLED, reason)
            return record

    # -- planning --------------------------------------------------------------------------

    async def _reserve(self, task_id: str, *, look_up: bool = True) -> None:
        """Claim ``task_id`` for one publish; ``TaskConflict`` if another publish or a stored task has it.

        The in-process claim is taken before the first await, so concurrent publishes of one id
        cannot both pass the check. Without ``look_up`` (an id the master drew: 48 random bits)
        the stored tasks are not asked; the create refuses a taken id all the same.
        """
        conflict = TaskConflict(f"task id {task_id!r} is already taken; choose another or leave it out")
        if task_id in self._reserved or task_id in self._active:
            raise conflict
        self._reserved.add(task_id)
        if not look_up:
            return
        try:
            stored = await self._mem.tasks.get(task_id)
        except BaseException:
            self._reserved.discard(task_id)
            raise
        if stored is not None:
            self._reserved.discard(task_id)
            raise conflict

    async def _world(self) -> WorldView:
        return await self._fleet.world()

    async def _plan_now(self, record: TaskRecord) -> Plan:
        """A validated plan on the world now (``_plan``).

        With a planner that asks no LLM and a fleet view that knows of no change since its last
        world, that world is planned on while the read of what changed is on its way. When the
        read returns that very world (nothing changed), its outcome stands: the one a plan after
        the read would give. Else the task is planned again on the world read, in what is left of
        ``plan_timeout_s`` (both plans together are bounded by it, as the HTTP wait expects).
        Only while the built world was current for at least half of the last ``AHEAD_WINDOW``
        publishes: under a stream of concurrent tasks it rarely is, and each plan ahead is wasted.
        """
        built = None if self._planner.uses_llm else self._fleet.built_world()
        if built is None:
            return await self._plan(record, await self._world())
        if 2 * sum(self._still_built) < len(self._still_built):
            world = await self._world()
            self._still_built.append(world is built)  # what planning ahead would have found
            return await self._plan(record, world)
        started = time.monotonic()
        reading = asyncio.ensure_future(self._world())
        await asyncio.sleep(0)  # the read goes out before planning holds the loop
        try:
            ahead = await self._attempt(record, built)
        finally:
            world = await reading
        self._still_built.append(world is built)
        if world is built:
            return await self._settle(record, ahead)
        left_s = self._config.plan_timeout_s - (time.monotonic() - started)
        return await self._settle(record, await self._attempt(record, world, left_s))

    async def _plan(self, record: TaskRecord, world: WorldView) -> Plan:
        """A validated plan for a new task; on any failure the task is recorded as failed."""
        return await self._settle(record, await self._attempt(record, world))

    async def _attempt(
        self, record: TaskRecord, world: WorldView, left_s: float | None = None
    ) -> Plan | PlanTimeout | InvalidPlan:
        """A plan that passes its checks on ``world`` within ``left_s`` (default ``plan_timeout_s``),
        or the error that refuses the task (not recorded yet: ``_settle``)."""
        timeout = self._config.plan_timeout_s
        limit_s = timeout if left_s is None else max(0.0, left_s)
        try:
            with self._metrics.planning("plan"):
                plan = await asyncio.wait_for(self._planner.plan(record.text, world), limit_s)
        except TimeoutError:
            return PlanTimeout(record.task_id, f"the planner did not answer within {timeout:g} s")
        except PlanningError as e:
            refused = InvalidPlan(record.task_id, f"the planner could not plan the task: {e}{_unavailable(world)}")
            refused.__cause__ = e
            return refused
        errors = _plan_errors(plan, world, record.text)
        if errors:
            message = "the plan is invalid: " + "; ".join(errors) + _unavailable(world)
            return InvalidPlan(record.task_id, message, errors)
        return plan

    async def _settle(self, record: TaskRecord, attempt: Plan | PlanTimeout | InvalidPlan) -> Plan:
        """The plan; or the task recorded as failed and the error raised."""
        if isinstance(attempt, Plan):
            return attempt
        await self._reject(record, str(attempt))
        raise attempt

    async def _reject(self, record: TaskRecord, reason: str) -> None:
        record.state = TaskState.FAILED
        record.reason = reason
        record.finished_at = time.time()
        # recorded terminal: never active, never dispatched
        await self._mem.tasks.create(record, [_created_event(record), _task_event(record)])
        self._metrics.tasks.labels(str(record.state)).inc()
        logger.warning("task %s: rejected: %s", record.task_id, reason)

    # -- the DAG ---------------------------------------------------------------------------

    async def _advance(self, record: TaskRecord) -> None:
        """Take the next step the task's state calls for. Idempotent; called under the lock."""
        subtasks = current_subtasks(record)
        failures = [s for s in subtasks if s.state in FAILURE_STATES]
        if failures:
            await self._after_failure(record, subtasks, failures[0])
        elif all(s.state == SubtaskState.SUCCEEDED for s in subtasks):
            await self._finish(record, TaskState.SUCCEEDED, "")
        else:
            for sub in ready_subtasks(record):
                await self._dispatch(record, sub)

    async def _after_failure(self, record: TaskRecord, subtasks: list[SubtaskRecord], failed: SubtaskRecord) -> None:
        for sub in subtasks:
            if sub.state == SubtaskState.WAITING:
                await self._set_subtask(record, sub, SubtaskState.SUPERSEDED, f"dropped after {failed.subtask_id} failed")
        if any(s.state in IN_FLIGHT_STATES for s in subtasks):
            return  # let the rest of this plan finish before replanning from the world it leaves
        if record.replans >= self._config.max_replans:
            reason = f"{_describe(failed)}; gave up after {record.replans} replans"
            await self._finish(record, TaskState.FAILED, reason)
        elif record.task_id not in self._replans:
            self._replans[record.task_id] = asyncio.create_task(self._replan(record, failed))

    async def _dispatch(self, record: TaskRecord, sub: SubtaskRecord) -> None:
        """Queue the subtask on its robot's stream and record it dispatched, in one step."""
        dispatched = replace(sub, state=SubtaskState.DISPATCHED, reason="", dispatched_at=time.time())
        timeout = self._config.subtask_timeout_s
        message = SubtaskMessage(
            task_id=record.task_id,
            subtask_id=sub.subtask_id,
            robot=sub.robot,
            text=sub.text,
            actions=list(sub.actions),
            timeout_s=timeout,
            attempt=sub.attempt,
            dispatched_at=dispatched.dispatched_at,
        )

        def apply() -> None:
            sub.state, sub.reason, sub.dispatched_at = dispatched.state, "", dispatched.dispatched_at
            self._deadlines.push(self._due(sub), record.task_id, sub.subtask_id, sub.dispatched_at)

        def done() -> None:
            self._metrics.dispatched(record, sub)
            logger.info("task %s: dispatched %s to %s", record.task_id, sub.subtask_id, sub.robot)

        write = self._mem.streams.dispatch_write(message, dispatched, _subtask_event(record, dispatched))
        await self._write(record, write, apply, done)

    async def _replan(self, record: TaskRecord, failed: SubtaskRecord) -> None:
        try:
            context = await self._replan_context(record, failed)
            plan, problem = await self._try_replan(record, context)
            async with self._lock:
                if self._active.get(record.task_id) is not record:
                    return  # cancelled meanwhile
                if problem:
                    self._metrics.replans.labels("failed").inc()
                    await self._finish(record, TaskState.FAILED, f"{_describe(failed)}; {problem}")
                else:
                    await self._adopt(record, plan, failed)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("task %s: replanning crashed", record.task_id)
            self._metrics.replans.labels("failed").inc()
            async with self._lock:
                if self._active.get(record.task_id) is record:
                    await self._finish(record, TaskState.FAILED, f"{_describe(failed)}; replanning crashed")
        finally:
            if self._replans.get(record.task_id) is asyncio.current_task():
                del self._replans[record.task_id]

    async def _replan_context(self, record: TaskRecord, failed: SubtaskRecord) -> ReplanContext:
        offline = (await self._mem.robots.liveness()).offline
        failures = [s for s in current_subtasks(record) if s.state in FAILURE_STATES]
        avoid = {s.robot for s in failures if s.robot in offline or s.state == SubtaskState.INTERRUPTED}
        done = [s.text for s in record.subtasks.values() if s.state == SubtaskState.SUCCEEDED]
        return ReplanContext(done=done, failed=failed.text, reason=failed.reason, avoid_robots=avoid)

    async def _try_replan(self, record: TaskRecord, context: ReplanContext) -> tuple[Plan | None, str]:
        """A validated new plan and "", or None and what went wrong."""
        timeout = self._config.plan_timeout_s
        try:
            world = await self._world()
            with self._metrics.planning("replan"):
                plan = await asyncio.wait_for(self._planner.plan(record.text, world, context), timeout)
        except TimeoutError:
            return None, f"replanning timed out after {timeout:g} s"
        except PlanningError as e:
            return None, f"replanning failed: {e}"
        errors = _plan_errors(plan, world, record.text)
        errors += [
            f"step {s.step_id}: robot '{s.robot_name}' is to be avoided ({context.reason})"
            for s in plan.steps
            if s.robot_name in context.avoid_robots
        ]
        if errors:
            return None, "the new plan is invalid: " + "; ".join(errors)
        return plan, ""

    async def _adopt(self, record: TaskRecord, plan: Plan, failed: SubtaskRecord) -> None:
        self._metrics.replans.labels("adopted").inc()
        record.replans += 1
        for sub in subtasks_from_plan(plan, record.replans):
            record.subtasks[sub.subtask_id] = sub
        record.reasoning = plan.reasoning_explanation
        record.plan_info.setdefault("replans", []).append({"planner": plan.planner, "after": failed.subtask_id})
        event = encode_event(
            "replan",
            task_id=record.task_id,
            robot=failed.robot,
            replans=record.replans,
            failed=failed.subtask_id,
            reason=failed.reason,
            subtasks=[s.subtask_id for s in current_subtasks(record)],
        )
        await self._mem.tasks.save(record, [event])
        logger.info("task %s: replan %d after %s", record.task_id, record.replans, _describe(failed))
        await self._advance(record)

    async def _finish(self, record: TaskRecord, state: TaskState, reason: str) -> None:
        """End the task: open subtasks cancelled, the record and every event written in one step
        (the task in memory changes only once that write succeeded, or within a step)."""
        now = time.time()
        self._task_ended = True
        # a copy of what changes: the record and its open subtasks (the rest is shared, unchanged)
        done = replace(record, subtasks={sid: sub if sub.state.terminal else replace(sub)
                                         for sid, sub in record.subtasks.items()})
        events = []
        for sub in done.subtasks.values():
            if not sub.state.terminal:
                sub.state, sub.reason, sub.finished_at = SubtaskState.CANCELLED, reason, now
                events.append(_subtask_event(done, sub))
        done.state, done.reason, done.finished_at = state, reason, now

        def apply() -> None:
            record.subtasks, record.state, record.reason, record.finished_at = done.subtasks, state, reason, now
            self._active.pop(record.task_id, None)

        def counted() -> None:
            self._metrics.subtasks.labels(str(SubtaskState.CANCELLED)).inc(len(events))
            self._metrics.tasks.labels(str(state)).inc()
            logger.info("task %s: %s %s", record.task_id, state, reason)

        write = self._mem.tasks.save_write(done, [*events, _task_event(done)])  # terminal: leaves the active set
        await self._write(record, write, apply, counted)

    # -- steps: writes made together ------------------------------------------------------------

    @asynccontextmanager
    async def _step(self) -> AsyncIterator[None]:
        """Collect the writes made inside (under the lock) and make them in one round trip at the
        end. If that fails, every task changed inside is put back as it was before (Redis holds
        what it held then, or the writes are made again when what caused them is handled again),
        replanning started inside is cancelled, and the error propagates. Inside a step: one step."""
        if self._staged is not None:
            yield
            return
        step = self._staged = _Step(replans=frozenset(self._replans))
        try:
            yield
            await self._mem.writes.run(step.writes)
        except BaseException:
            self._undo(step)
            raise
        finally:
            self._staged = None
        for done in step.done:
            done()

    async def _write(self, record: TaskRecord, write: Write, apply: Callable[[], None],
                     done: Callable[[], None] | None = None) -> None:
        """Make ``write``, then ``apply()`` its change to ``record`` in memory, then ``done()``
        (metrics, log lines). Within a step the change applies at once and the write waits for
        the step's end (``done`` too)."""
        step = self._staged
        if step is None:
            await self._mem.writes.run([write])
        else:
            if record.task_id not in step.before:
                step.before[record.task_id] = _Before.of(record, active=self._active.get(record.task_id) is record)
            step.writes.append(write)
        apply()
        if done is not None:
            self._when_written(done)

    def _when_written(self, done: Callable[[], None]) -> None:
        """``done()`` now, or within a step once its writes are made."""
        if self._staged is None:
            done()
        else:
            self._staged.done.append(done)

    def _undo(self, step: _Step) -> None:
        for before in step.before.values():
            before.restore(self._active)
        for task_id in set(self._replans) - step.replans:
            self._replans.pop(task_id).cancel()
        if step.before:
            logger.warning("writes of %d tasks failed; their state in memory is put back", len(step.before))

    # -- results, deadlines, liveness --------------------------------------------------------

    async def _results_loop(self) -> None:
        outage = _Outage()
        catch_up = False
        while not self._stopping:
            try:
                if outage.since is not None:
                    await self._resync()  # Redis may have restarted and lost its last writes
                if catch_up or outage.since is not None:
                    await self._catch_up()  # what failed half-way, from what Redis holds
                    outage.over()
                    catch_up = False
                await self._handle_results(await self._mem.streams.read_results(CONSUMER, self._block_ms()))
                await self._expire_deadlines()
                await self._check_offline()
                await self._follow_fleet()
            except asyncio.CancelledError:
                raise
            except UNREACHABLE as exc:  # wait and catch up, instead of failing what is in flight
                self._metrics.redis_error(exc)
                self._offline_since.clear()  # liveness seen during an outage says nothing
                await asyncio.sleep(outage.failed(exc))
            except Exception:
                logger.exception("results loop: step failed; carrying on")
                catch_up = True
                await asyncio.sleep(ERROR_BACKOFF_S)  # back off instead of spinning on a broken connection

    async def _handle_results(self, entries: list[tuple[str, SubtaskResult]]) -> None:
        """Handle results in order, making their writes and then their ack in one round trip; a
        step that fails leaves them pending, for ``_catch_up`` to handle again (a stale result is
        ignored)."""
        if not entries:
            return
        async with self._lock, self._step():
            for _, result in entries:
                await self._handle_result(result)
            assert self._staged is not None
            self._staged.writes.append(self._mem.streams.ack_results_write(*(msg_id for msg_id, _ in entries)))

    def _block_ms(self) -> int:
        next_at = self._deadlines.next_at()
        if next_at is None:
            return MAX_BLOCK_MS
        return max(1, min(MAX_BLOCK_MS, int((next_at - time.time()) * 1000) + 1))

    async def _follow_fleet(self) -> None:
        """Bring the fleet view up to date: whole (liveness, robots, the world built) once a task
        ended, so that the next publish, often a client's next task, finds nothing to wait for
        before planning (``_plan_now``); else its events, every ``FOLLOW_INTERVAL_S``."""
        now = time.monotonic()
        if self._task_ended:
            self._task_ended = False
            self._next_follow = now + FOLLOW_INTERVAL_S
            await self._fleet.world()
        elif now >= self._next_follow:
            self._next_follow = now + FOLLOW_INTERVAL_S
            await self._fleet.catch_up()

    async def _handle_result(self, result: SubtaskResult) -> None:
        """Apply one slaver result (under the lock); stale or unknown ones are ignored."""
        self._fleet.touch(result.robot)  # its slaver set its status with the result: no event says so
        record = self._active.get(result.task_id)
        sub = record.subtasks.get(result.subtask_id) if record else None
        if record is None or sub is None or sub.state.terminal or result.attempt != sub.attempt:
            logger.debug("ignoring result for %s/%s", result.task_id, result.subtask_id)
            return
        if result.state == SubtaskState.RUNNING:
            if sub.state == SubtaskState.DISPATCHED:
                await self._set_subtask(record, sub, SubtaskState.RUNNING,
                                        started_at=result.started_at or time.time())
            return
        if result.state not in (SubtaskState.SUCCEEDED, SubtaskState.FAILED, SubtaskState.INTERRUPTED):
            logger.warning("task %s: %s reported state %s; ignored", result.task_id, sub.subtask_id, result.state)
            return
        outcomes = [o.to_dict() for o in result.outcomes]
        await self._set_subtask(record, sub, result.state, result.reason,
                                started_at=sub.started_at or result.started_at or None,
                                finished_at=result.finished_at or time.time(), outcomes=outcomes)
        self._when_written(lambda: self._metrics.result(sub))
        await self._advance(record)

    def _due(self, sub: SubtaskRecord) -> float:
        """When an in-flight subtask times out: ``subtask_timeout_s`` in its robot's queue; once
        started, ``subtask_timeout_s`` of running (the slaver stops itself then) plus a grace for
        its report to arrive."""
        timeout = self._config.subtask_timeout_s
        if sub.state == SubtaskState.RUNNING and sub.started_at:
            return sub.started_at + timeout + min(RUNNING_GRACE_S, timeout)
        return (sub.dispatched_at or time.time()) + timeout

    async def _expire_deadlines(self) -> None:
        now = time.time()
        expired = self._deadlines.pop_expired(now)
        if not expired:
            return
        async with self._lock:
            for deadline in expired:
                record = self._active.get(deadline.task_id)
                sub = record.subtasks.get(deadline.subtask_id) if record else None
                if sub is None or sub.state not in IN_FLIGHT_STATES or sub.dispatched_at != deadline.dispatched_at:
                    continue
                if (due := self._due(sub)) > now:  # it started meanwhile: its run has its own time
                    self._deadlines.push(due, deadline.task_id, deadline.subtask_id, deadline.dispatched_at)
                    continue
                timeout = self._config.subtask_timeout_s
                if sub.state == SubtaskState.DISPATCHED:
                    # A slaver may claim it this very moment: time it out only if nobody has.
                    reason = f"not started within {timeout:g} s (its robot was busy or not serving)"
                    if not await self._fail(record, sub, SubtaskState.TIMED_OUT, reason, unless_claimed=True):
                        due = now + timeout + min(RUNNING_GRACE_S, timeout)  # claimed: its RUNNING report is on its way
                        self._deadlines.push(due, deadline.task_id, deadline.subtask_id, deadline.dispatched_at)
                else:
                    await self._fail(record, sub, SubtaskState.TIMED_OUT, f"no result within {timeout:g} s of starting")

    async def _check_offline(self) -> None:
        now = time.monotonic()
        if now < self._next_offline_check:
            return
        self._next_offline_check = now + self._config.offline_check_interval_s
        if not self._active:
            return
        offline = (await self._mem.robots.liveness()).offline
        gone = self._gone_for_good(offline, now)
        if not gone:
            return
        async with self._lock:
            for record in list(self._active.values()):
                for sub in current_subtasks(record):
                    if sub.state in IN_FLIGHT_STATES and sub.robot in gone:
                        await self._fail(record, sub, SubtaskState.FAILED, f"robot {sub.robot} went offline")

    def _gone_for_good(self, offline: frozenset[str], now: float) -> set[str]:
        """Robots with work in flight seen offline for at least ``offline_grace_s`` while Redis
        answered (a robot whose liveness lapsed during a Redis outage gets time to beat again)."""
        busy = {s.robot for r in self._active.values() for s in current_subtasks(r) if s.state in IN_FLIGHT_STATES}
        offline = busy & offline
        self._offline_since = {r: self._offline_since.get(r, now) for r in offline}
        return {r for r, since in self._offline_since.items() if now - since >= self._config.offline_grace_s}

    async def _fail(
        self, record: TaskRecord, sub: SubtaskRecord, state: SubtaskState, reason: str, *, unless_claimed: bool = False
    ) -> bool:
        """Record the subtask's failure and take the task's next step; False when nothing was
        written (the task already ended, or ``unless_claimed`` and a slaver has started it)."""
        if self._active.get(record.task_id) is not record or sub.state.terminal:
            return False  # an earlier failure in the same pass already finished the task
        if not await self._set_subtask(record, sub, state, reason, unless_claimed=unless_claimed,
                                       finished_at=time.time()):
            return False
        await self._advance(record)
        return True

    # -- resume ------------------------------------------------------------------------------

    async def _resume(self) -> None:
        """Load the active tasks a previous master left, then catch up with their results.

        A subtask recorded dispatched is on its robot's stream (both are written in one step),
        so nothing needs queueing again; its deadline is restored.
        """
        for task_id in await self._mem.tasks.active_ids():
            record = await self._mem.tasks.get(task_id)
            if record is None or record.state in TERMINAL_TASK_STATES:
                continue
            self._active[task_id] = record
            for sub in record.subtasks.values():
                if sub.state in IN_FLIGHT_STATES and sub.dispatched_at is not None:
                    self._deadlines.push(self._due(sub), task_id, sub.subtask_id, sub.dispatched_at)
        await self._catch_up()
        if self._active:
            logger.info("resumed %d active tasks", len(self._active))

    async def _resync(self) -> None:
        """After an outage, write again what Redis lost of the active tasks.

        A restarted Redis replays its append-only file only up to the last fsync (about a second
        before a crash). A task it lost is recorded again; a subtask recorded dispatched here but
        waiting (or absent) there never reached its robot's stream: it goes back to waiting, to be
        dispatched again by the catch-up. The fleet view is loaded again at its next read.
        """
        self._fleet.invalidate()
        async with self._lock:
            for task_id, record in list(self._active.items()):
                stored = await self._mem.tasks.get(task_id)
                lost = [sub for sub in record.subtasks.values() if _dispatch_lost(sub, stored)]
                if stored is not None and not lost:
                    continue
                for sub in lost:
                    sub.state, sub.dispatched_at = SubtaskState.WAITING, None
                await self._mem.tasks.save(record)
                logger.warning("task %s: Redis had lost %s; recorded again (%d dispatches to repeat)", task_id,
                               "the task" if stored is None else "recent changes", len(lost))

    async def _catch_up(self) -> None:
        """Handle the results read but never acknowledged (a crash, an outage mid-way), then take
        each active task's next step (a dispatch an outage interrupted is made now)."""
        await self._handle_results(await self._mem.streams.pending_results(CONSUMER))
        async with self._lock, self._step():
            for record in list(self._active.values()):
                if self._active.get(record.task_id) is record:
                    await self._advance(record)

    # -- records and events --------------------------------------------------------------------

    async def _set_subtask(
        self, record: TaskRecord, sub: SubtaskRecord, state: SubtaskState, reason: str = "", *,
        unless_claimed: bool = False, started_at: float | None = None, finished_at: float | None = None,
        outcomes: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Record the subtask's new state and its event in one write; ``sub`` changes only once it
        succeeded (or within a step). False (nothing changed) when ``unless_claimed`` and a slaver
        has started it: that answer is needed at once, so such a write is never part of a step."""
        changed = replace(sub, state=state, reason=reason, started_at=started_at or sub.started_at,
                          finished_at=finished_at or sub.finished_at)
        extra = {"outcomes": outcomes} if outcomes is not None else {}
        event = _subtask_event(record, changed, **extra)

        def apply() -> None:
            sub.state, sub.reason, sub.started_at, sub.finished_at = state, reason, changed.started_at, changed.finished_at

        def counted() -> None:
            self._metrics.subtasks.labels(str(state)).inc()

        if unless_claimed:
            if self._staged is not None:
                raise RuntimeError("a write unless claimed needs its answer at once: not within a step")
            if not await self._mem.tasks.save_subtask(record.task_id, changed, event, unless_claimed=True):
                return False
            apply()
            counted()
            return True
        await self._write(record, self._mem.tasks.subtask_write(record.task_id, changed, event), apply, counted)
        return True


def _subtask_event(record: TaskRecord, sub: SubtaskRecord, **data: Any) -> str:
    return encode_event("subtask_state", task_id=record.task_id, robot=sub.robot, subtask_id=sub.subtask_id,
                        state=str(sub.state), reason=sub.reason, **data)


def _dispatch_lost(sub: SubtaskRecord, stored: TaskRecord | None) -> bool:
    """Whether the master dispatched ``sub`` but Redis (``stored``) does not hold that dispatch."""
    if sub.state != SubtaskState.DISPATCHED:
        return False
    there = stored.subtasks.get(sub.subtask_id) if stored is not None else None
    return there is None or there.state == SubtaskState.WAITING


def _unavailable(world: WorldView) -> str:
    """What a planning failure may come from: robots not online (e.g. a task published before the
    slavers registered), as a clause to append; "" when every registered robot is online."""
    if not world.robots:
        return "; no robot has registered yet (are the slavers started?)"
    offline = sorted(n for n, r in world.robots.items() if not r.online)
    return f"; not online (yet): {', '.join(offline)}" if offline else ""


def _created_event(record: TaskRecord) -> str:
    return encode_event("task_created", task_id=record.task_id, text=record.text)


def _task_event(record: TaskRecord) -> str:
    return encode_event("task_state", task_id=record.task_id, state=str(record.state), reason=record.reason)


@dataclass
class _Step:
    """The writes of one scheduler step, what to do once they are made, and the tasks as they were."""

    replans: frozenset[str]  # the tasks being replanned when the step began
    writes: list[Write] = field(default_factory=list)
    done: list[Callable[[], None]] = field(default_factory=list)
    before: dict[str, _Before] = field(default_factory=dict)


@dataclass
class _Before:
    """What a step may change of a task in memory: its state, its subtasks' states and whether it is active."""

    record: TaskRecord
    active: bool
    fields: tuple[Any, ...]
    subtasks: dict[str, SubtaskRecord]
    sub_fields: dict[str, tuple[Any, ...]]

    @classmethod
    def of(cls, record: TaskRecord, *, active: bool) -> _Before:
        return cls(record, active, (record.state, record.reason, record.finished_at), record.subtasks,
                   {i: (s.state, s.reason, s.started_at, s.finished_at, s.dispatched_at) for i, s in record.subtasks.items()})

    def restore(self, active: dict[str, TaskRecord]) -> None:
        record = self.record
        record.state, record.reason, record.finished_at = self.fields
        record.subtasks = self.subtasks
        for subtask_id, sub in self.subtasks.items():
            sub.state, sub.reason, sub.started_at, sub.finished_at, sub.dispatched_at = self.sub_fields[subtask_id]
        if self.active:
            active[record.task_id] = record
        else:
            active.pop(record.task_id, None)


class _Outage:
    """How long Redis has been unreachable for the results loop: one warning when it goes, one
    line when it is back, and a growing pause between tries meanwhile."""

    def __init__(self) -> None:
        self.since: float | None = None
        self._pause = ERROR_BACKOFF_S

    def failed(self, exc: BaseException) -> float:
        """Note a failed try; the seconds to wait before the next."""
        if self.since is None:
            self.since = time.monotonic()
            logger.warning("shared memory unreachable (%s); retrying with backoff, tasks stay as they are", exc)
            self._pause = ERROR_BACKOFF_S
        else:
            self._pause = min(self._pause * 2, MAX_BACKOFF_S)
        return self._pause

    def over(self) -> None:
        if self.since is not None:
            logger.info("shared memory reachable again after %.1f s; caught up", time.monotonic() - self.since)
        self.since = None


def _plan_errors(plan: Plan, world: WorldView, text: str) -> list[str]:
    """Why ``plan`` cannot run in ``world``: structural errors first, else unmet effects."""
    return list(validate_plan(plan, world) or check_plan_effects(plan, world, text))


def _describe(sub: SubtaskRecord) -> str:
    verb = {SubtaskState.TIMED_OUT: "timed out", SubtaskState.INTERRUPTED: "was interrupted"}.get(sub.state, "failed")
    return f"subtask {sub.subtask_id} (robot {sub.robot}) {verb}: {sub.reason}"
