"""One action model shared by many robots: a queue with per-robot budgets, priorities, batching and
back-pressure, in front of any model call (X0 in-process, a pi0 server through its client).

    scheduler = ActionScheduler(run_batch, budgets={"arm_a": 2, "arm_b": 1}, priorities={"arm_a": 1})
    chunk = await scheduler.submit("arm_b", request)      # or ActionServerBusy(retry_after_s)

Order: the highest priority class with waiting requests goes first; within a class, the robot that
has used the least model time for its budget (start-time fair queueing: a robot that was idle
rejoins at the current virtual time instead of claiming the time it did not use). A budget is a
weight: a robot with budget 2 gets twice the model time of one with budget 1 while both wait; a
robot that asks for less gets what it asks and the rest goes to the others. Requests with the same
``batch_key`` may be run together, up to ``max_batch``; their model time is split among them.

Back-pressure: a robot may have ``max_pending`` requests waiting; a request that would wait more
than ``max_wait_s`` (its estimate: the call running, the work waiting in the classes above and, in
its own class, from robots that used less model time for their budget, at the recent model time
per request) is refused at once with ``ActionServerBusy`` and a retry-after, never left to time
out. Such a refusal is a place in line, not a loss of it: the robot's request is taken when it
comes back after the retry-after, whatever the wait then (and the robot, having used no model time
meanwhile, moves up its class's order), so an overloaded server slows robots down without
starving any of them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "DEFAULT_ROBOT",
    "ActionScheduler",
    "ActionServerBusy",
    "RobotStats",
    "SharingOptions",
    "add_sharing_arguments",
    "busy_response",
    "describe",
    "parse_budgets",
]

logger = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")

DEFAULT_MAX_PENDING = 2
DEFAULT_MAX_WAIT_S = 2.0
MIN_RETRY_AFTER_S = 0.05
MAX_RETRY_AFTER_S = 5.0
SERVICE_MEMORY = 0.2  # weight of the newest model time in the running estimate


class ActionServerBusy(Exception):
    """The action server cannot take this request now; try again after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class RobotStats:
    """What one robot got from the model."""

    budget: float
    priority: int
    served: int = 0
    refused: int = 0
    failed: int = 0
    model_s: float = 0.0  # its share of the model's time


@dataclass
class _Pending(Generic[P, R]):
    robot: str
    request: P
    key: Hashable
    done: asyncio.Future[R]


@dataclass
class _Robot(Generic[P, R]):
    stats: RobotStats
    queue: deque[_Pending[P, R]] = field(default_factory=deque)
    vtime: float = 0.0  # model time used / budget, on the scheduler's virtual clock


class ActionScheduler(Generic[P, R]):
    """Serve ``run_batch(requests) -> results`` (one result per request, in order) to many robots.

    ``budgets`` and ``priorities`` by robot; others get ``default_budget`` and priority 0. Call
    ``start()`` on the loop that will submit, ``stop()`` when done.
    """

    def __init__(
        self,
        run_batch: Callable[[list[P]], Awaitable[list[R]]],
        *,
        budgets: dict[str, float] | None = None,
        priorities: dict[str, int] | None = None,
        default_budget: float = 1.0,
        max_batch: int = 1,
        batch_key: Callable[[P], Hashable] = lambda request: None,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        expected_model_s: float = 0.1,
    ) -> None:
        if max_batch < 1 or max_pending < 1 or max_wait_s <= 0 or default_budget <= 0:
            raise ValueError("max_batch and max_pending must be >= 1; max_wait_s and default_budget > 0")
        for robot, budget in (budgets or {}).items():
            if not budget > 0:
                raise ValueError(f"the budget of {robot!r} must be > 0, got {budget}")
        self._run_batch = run_batch
        self._budgets = dict(budgets or {})
        self._priorities = dict(priorities or {})
        self.default_budget = default_budget
        self.max_batch = max_batch
        self._batch_key = batch_key
        self.max_pending = max_pending
        self.max_wait_s = max_wait_s
        self._service_s = expected_model_s  # running estimate of model time per request
        self._robots: dict[str, _Robot[P, R]] = {}
        self._vclock = 0.0
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._running = False  # a model call is under way
        self._tickets: dict[str, float] = {}  # robot -> when its retry, after a refusal for the wait, gets in line

    # -- the robots' side ------------------------------------------------------------------

    async def submit(self, robot: str, request: P) -> R:
        """Queue ``request`` for ``robot`` and wait for its result.

        ``ActionServerBusy`` when it cannot be taken now; the model's own exception when its call failed.
        """
        if self._worker is None:
            raise RuntimeError("the action scheduler is not started")
        state = self._robot(robot)
        stats = state.stats
        wait = self.expected_wait_s(robot)
        now = time.perf_counter()
        ticket = self._tickets.pop(robot, None)
        full = len(state.queue) >= self.max_pending
        if full or (wait > self.max_wait_s and (ticket is None or now < ticket)):
            stats.refused += 1
            retry = min(MAX_RETRY_AFTER_S, max(MIN_RETRY_AFTER_S, wait - self.max_wait_s / 2, self._service_s))
            if not full:
                self._tickets[robot] = now + retry  # back after the retry-after, it gets in line
            why = (f"{len(state.queue)} of its requests already wait" if full
                   else f"about {wait:.2f} s of model work is ahead of it (limit {self.max_wait_s:g} s)")
            raise ActionServerBusy(f"the action server is busy for {robot}: {why}; retry after {retry:.2f} s", retry)
        state.vtime = self._start_tag(state)
        pending = _Pending(robot, request, self._batch_key(request), asyncio.get_running_loop().create_future())
        state.queue.append(pending)
        self._wake.set()
        return await pending.done

    def expected_wait_s(self, robot: str) -> float:
        """Model work that would go before a new request of ``robot``: the call running now, what
        waits in the classes above, and what waits in its own class from robots that used less
        model time for their budget (the order it would be served in)."""
        state = self._robots.get(robot) or self._new_robot(robot)  # asking creates nothing
        priority, own = state.stats.priority, self._start_tag(state)
        ahead = int(self._running) + len(state.queue)
        for other in self._robots.values():
            if other is state or not other.queue:
                continue
            if other.stats.priority > priority or (other.stats.priority == priority and other.vtime <= own):
                ahead += len(other.queue)
        return ahead * self._service_s / self.max_batch

    def _start_tag(self, state: _Robot[P, R]) -> float:
        """Where a new request of this robot starts on the virtual clock: after its waiting ones, or
        now when it has none (a robot rejoins now, not with the time it left unused)."""
        return state.vtime if state.queue else max(state.vtime, self._vclock)

    def waiting(self, robot: str) -> int:
        """How many of ``robot``'s requests wait for the model now."""
        state = self._robots.get(robot)
        return len(state.queue) if state else 0

    def priority(self, robot: str) -> int:
        return self._priorities.get(robot, 0)

    def budget(self, robot: str) -> float:
        return self._budgets.get(robot, self.default_budget)

    def stats(self) -> dict[str, RobotStats]:
        return {name: r.stats for name, r in self._robots.items()}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on the running loop (idempotent; after a loop that served before has ended, on this one)."""
        loop = asyncio.get_running_loop()
        worker = self._worker
        if worker is not None and not worker.done() and worker.get_loop() is loop:
            return
        for state in self._robots.values():
            state.queue.clear()  # futures of an ended loop: nobody waits on them any more
        self._wake = asyncio.Event()
        self._worker = loop.create_task(self._serve(), name="action-scheduler")

    async def stop(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        for state in self._robots.values():
            while state.queue:
                pending = state.queue.popleft()
                if not pending.done.done():
                    pending.done.set_exception(ActionServerBusy("the action server stopped", MAX_RETRY_AFTER_S))

    async def __aenter__(self) -> ActionScheduler[P, R]:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the model's side --------------------------------------------------------------------

    def _robot(self, robot: str) -> _Robot[P, R]:
        state = self._robots.get(robot)
        if state is None:
            state = self._robots[robot] = self._new_robot(robot)
        return state

    def _new_robot(self, robot: str) -> _Robot[P, R]:
        return _Robot(RobotStats(self.budget(robot), self.priority(robot)), vtime=self._vclock)

    def _next_batch(self) -> list[_Pending[P, R]]:
        waiting = sorted((r for r in self._robots.values() if r.queue), key=lambda r: (-r.stats.priority, r.vtime))
        if not waiting:
            return []
        self._vclock = max(self._vclock, waiting[0].vtime)  # virtual time: where the request served now starts
        head = waiting[0].queue.popleft()
        batch = [head]
        if self.max_batch > 1:  # the same kind of request from the next robots in the same order
            for state in waiting:
                while state.queue and len(batch) < self.max_batch and state.queue[0].key == head.key:
                    batch.append(state.queue.popleft())
        return batch

    async def _serve(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                self._wake.clear()
                await self._wake.wait()
                continue
            started = time.perf_counter()
            self._running = True
            try:
                results: list[R] | BaseException = await self._run_batch([p.request for p in batch])
                if len(results) != len(batch):
                    results = RuntimeError(f"the model returned {len(results)} results for {len(batch)} requests")
            except asyncio.CancelledError:
                for pending in batch:
                    pending.done.cancel()
                raise
            except Exception as e:  # the model failed: those requests fail, the server goes on
                results = e
            finally:
                self._running = False
            self._charge(batch, time.perf_counter() - started)
            for n, pending in enumerate(batch):
                if pending.done.done():  # its robot stopped waiting
                    continue
                if isinstance(results, BaseException):
                    self._robots[pending.robot].stats.failed += 1
                    pending.done.set_exception(results)
                else:
                    self._robots[pending.robot].stats.served += 1
                    pending.done.set_result(results[n])

    def _charge(self, batch: list[_Pending[P, R]], elapsed: float) -> None:
        each = elapsed / len(batch)
        self._service_s += SERVICE_MEMORY * (each - self._service_s)
        for pending in batch:
            state = self._robots[pending.robot]
            state.stats.model_s += each
            state.vtime += each / state.stats.budget


def parse_budgets(items: list[str], what: str = "--budget") -> dict[str, float]:
    """``["arm_a=2", "arm_b=0.5"]`` -> budgets; ``ValueError`` naming the bad item."""
    budgets: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            budget = float(value) if sep and name.strip() else float("nan")
        except ValueError:
            budget = float("nan")
        if not budget > 0:
            raise ValueError(f"{what} {item!r}: expected ROBOT=SHARE with a share > 0, e.g. arm_a=2")
        budgets[name.strip()] = budget
    return budgets


def describe(stats: dict[str, RobotStats]) -> dict[str, Any]:
    """The stats as plain data (for /info and logs)."""
    return {name: {"budget": s.budget, "priority": s.priority, "served": s.served, "refused": s.refused,
                   "failed": s.failed, "model_s": round(s.model_s, 4)} for name, s in stats.items()}


DEFAULT_ROBOT = "default"  # the robot of a request that names none


@dataclass(frozen=True)
class SharingOptions:
    """How an action server shares its model: budgets and priorities by robot, back-pressure limits."""

    budgets: dict[str, float] = field(default_factory=dict)
    priorities: dict[str, int] = field(default_factory=dict)
    max_pending: int = DEFAULT_MAX_PENDING
    max_wait_s: float = DEFAULT_MAX_WAIT_S

    @classmethod
    def from_args(cls, args: Any) -> SharingOptions:
        """From :func:`add_sharing_arguments`' flags; ``ValueError`` naming a bad one."""
        if args.max_pending < 1 or not args.max_wait > 0:
            raise ValueError("--max-pending must be >= 1 and --max-wait > 0")
        return cls(parse_budgets(args.budget), {robot: 1 for robot in args.priority}, args.max_pending,
                   args.max_wait)

    def scheduler(self, run_batch: Callable[[list[P]], Awaitable[list[R]]], **options: Any) -> ActionScheduler[P, R]:
        return ActionScheduler(run_batch, budgets=self.budgets, priorities=self.priorities,
                               max_pending=self.max_pending, max_wait_s=self.max_wait_s, **options)


def add_sharing_arguments(parser: Any) -> None:
    """The flags of :class:`SharingOptions`, for an action server's command line."""
    group = parser.add_argument_group("sharing the model between robots (requests name their robot)")
    group.add_argument("--budget", action="append", default=[], metavar="ROBOT=SHARE",
                       help="a robot's weight in model time (default 1 each); repeat per robot")
    group.add_argument("--priority", action="append", default=[], metavar="ROBOT",
                       help="a robot served before the others when the model is overloaded; repeat per robot")
    group.add_argument("--max-pending", type=int, default=DEFAULT_MAX_PENDING,
                       help=f"requests a robot may have waiting (default {DEFAULT_MAX_PENDING})")
    group.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT_S,
                       help="refuse, with a retry-after, a request expected to wait longer than this "
                            f"(seconds, default {DEFAULT_MAX_WAIT_S:g})")


def busy_response(busy: ActionServerBusy) -> Any:
    """The HTTP answer of a busy action server: 503 with ``Retry-After`` (whole seconds, as HTTP has
    them) and the exact ``retry_after_s`` in the JSON body."""
    from starlette.responses import JSONResponse

    return JSONResponse({"success": False, "error": str(busy), "retry_after_s": round(busy.retry_after_s, 3)},
                        status_code=503, headers={"Retry-After": str(max(1, math.ceil(busy.retry_after_s)))})
