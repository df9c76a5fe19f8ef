"""The master's metrics, served by ``GET /metrics`` in the Prometheus text format (version 0.0.4).

Every ``MasterService`` has its own ``CollectorRegistry`` (never prometheus_client's global one), so
several masters in one process (tests) keep their figures apart. Two kinds of figures:

- counted as they happen, by the scheduler and the service on the master's loop: task and
  subtask transitions, plan time, dispatch-to-result latency, handoff latency, replans, Redis
  errors (a counter increment is a lock and an addition: nothing on the hot path waits);
- read when scraped (``FleetCollector``), in one bounded call on the loop: the active tasks and
  their subtasks by state (from the scheduler's memory), robots registered and online, and every
  slaver's counters (``memory.counters``) with a ``robot`` label. When that read fails (Redis down
  or busy, the loop overloaded), those families are left out and ``roboos_shared_memory_up`` is 0.

docs/metrics.md lists every metric.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from redis.exceptions import MaxConnectionsError

from memory import SharedMemory
from memory.counters import RobotCounts, read_counters
from memory.messages import SubtaskState, TaskState
from memory.profiles import SubtaskRecord, TaskRecord

__all__ = ["CONTENT_TYPE", "FleetSnapshot", "MasterMetrics", "read_fleet", "redis_error_kind"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
PLAN_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
HANDOFF_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
ACTIVE_TASK_STATES = (str(TaskState.PENDING), str(TaskState.RUNNING))  # pending: being planned


def redis_error_kind(exc: BaseException) -> str:
    """``busy`` when every pooled connection stayed in use, else ``down``."""
    return "busy" if isinstance(exc, MaxConnectionsError) else "down"


@dataclass
class FleetSnapshot:
    """What a scrape reads from the master's loop and Redis."""

    tasks: dict[str, int] = field(default_factory=dict)  # active tasks by state
    subtasks: dict[str, int] = field(default_factory=dict)  # their current subtasks by state
    robots_registered: int = 0
    robots_online: int = 0
    slavers: list[RobotCounts] = field(default_factory=list)


async def read_fleet(census: tuple[dict[str, int], dict[str, int]], memory: SharedMemory) -> FleetSnapshot:
    """The scrape-time figures: ``census`` (the scheduler's, taken on the loop), then five Redis
    round trips whatever the fleet's size."""
    tasks, subtasks = census
    registered = await memory.redis.scard(memory.keys.robots)
    online = await memory.robots.online_names()
    slavers = await read_counters(memory.redis, memory.keys)
    return FleetSnapshot(tasks, subtasks, registered, len(online), slavers)


class MasterMetrics:
    """The master's registry and the metrics counted as things happen."""

    def __init__(self, fleet: Callable[[], FleetSnapshot | None]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.tasks = Counter("roboos_tasks", "Tasks that entered each state", ["state"], registry=r)
        self.subtasks = Counter("roboos_subtasks", "Subtasks that entered each state", ["state"], registry=r)
        self.plan_seconds = Histogram("roboos_plan_seconds", "Time the planner took, failures included",
                                      ["kind"], buckets=PLAN_BUCKETS, registry=r)
        self.result_seconds = Histogram("roboos_subtask_result_seconds",
                                        "From dispatching a subtask to the master receiving its result",
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.handoff_seconds = Histogram("roboos_handoff_seconds",
                                         "From a subtask finishing on one robot to the dependent subtask's "
                                         "dispatch to another", buckets=HANDOFF_BUCKETS, registry=r)
        self.replans = Counter("roboos_replans", "Replans after a failure, by outcome", ["outcome"], registry=r)
        self.redis_errors = Counter("roboos_redis_errors", "Shared memory errors the master met, by kind",
                                    ["kind"], registry=r)
        for state in TaskState:
            self.tasks.labels(str(state))
        for sub_state in SubtaskState:
            self.subtasks.labels(str(sub_state))
        for kind in ("plan", "replan"):
            self.plan_seconds.labels(kind)
        for outcome in ("adopted", "failed"):
            self.replans.labels(outcome)
        for kind in ("down", "busy"):
            self.redis_errors.labels(kind)
        r.register(FleetCollector(fleet))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    # -- instrumentation (called on the master's loop) -------------------------------------

    def planning(self, kind: str) -> AbstractContextManager[object]:
        """Times the ``with`` block as one plan (``kind``: plan or replan)."""
        return self.plan_seconds.labels(kind).time()

    def redis_error(self, exc: BaseException) -> None:
        self.redis_errors.labels(redis_error_kind(exc)).inc()

    def dispatched(self, record: TaskRecord, sub: SubtaskRecord) -> None:
        """Count the dispatch; when the last dependency to finish ran on another robot, the handoff."""
        self.subtasks.labels(str(SubtaskState.DISPATCHED)).inc()
        deps = [record.subtasks[d] for d in sub.depends_on if d in record.subtasks]
        last = max((d for d in deps if d.finished_at), key=lambda d: d.finished_at or 0.0, default=None)
        if last is not None and last.robot != sub.robot and sub.dispatched_at:
            self.handoff_seconds.observe(max(0.0, sub.dispatched_at - (last.finished_at or 0.0)))

    def result(self, sub: SubtaskRecord) -> None:
        """A slaver's terminal result for ``sub`` was applied just now."""
        if sub.dispatched_at:
            self.result_seconds.observe(max(0.0, time.time() - sub.dispatched_at))


class FleetCollector:
    """The figures read when scraped; one bounded read per scrape."""

    def __init__(self, fleet: Callable[[], FleetSnapshot | None]) -> None:
        self._fleet = fleet

    def collect(self) -> Iterator[Metric]:
        snapshot = self._fleet()
        yield GaugeMetricFamily("roboos_shared_memory_up", "1 when this scrape could read the shared memory",
                                value=0 if snapshot is None else 1)
        if snapshot is None:
            return
        tasks = dict.fromkeys(ACTIVE_TASK_STATES, 0) | snapshot.tasks  # zeros too: absent is not 0
        subtasks = dict.fromkeys(map(str, SubtaskState), 0) | snapshot.subtasks
        yield _by_label("roboos_active_tasks", "Tasks not yet ended, by state", "state", tasks)
        yield _by_label("roboos_active_subtasks", "Subtasks of the active tasks' current plans, by state",
                        "state", subtasks)
        yield GaugeMetricFamily("roboos_robots_registered", "Robots registered in the shared memory",
                                value=snapshot.robots_registered)
        yield GaugeMetricFamily("roboos_robots_online", "Registered robots whose liveness has not lapsed",
                                value=snapshot.robots_online)
        yield from _slaver_families(snapshot.slavers)


def _by_label(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for value, n in sorted(values.items()):
        family.add_metric([value], n)
    return family


def _slaver_families(slavers: list[RobotCounts]) -> Iterator[Metric]:
    calls = CounterMetricFamily("roboos_slaver_skill_calls", "Skill calls a slaver made, by tool and outcome",
                                labels=["robot", "tool", "outcome"])
    subtasks = CounterMetricFamily("roboos_slaver_subtasks", "Subtask results a slaver reported, by state",
                                   labels=["robot", "state"])
    seconds = HistogramMetricFamily("roboos_slaver_skill_call_seconds", "Skill call latency seen by the slaver",
                                    labels=["robot"])
    reconnects = CounterMetricFamily("roboos_slaver_skill_reconnects",
                                     "Times a slaver's skill server answered again after being unreachable",
                                     labels=["robot"])
    for c in slavers:
        for (tool, outcome), n in sorted(c.skill_calls.items()):
            calls.add_metric([c.robot, tool, outcome], n)
        for state, n in sorted(c.subtasks.items()):
            subtasks.add_metric([c.robot, state], n)
        seconds.add_metric([c.robot], c.cumulative_buckets(), c.call_seconds_sum)
        reconnects.add_metric([c.robot], c.reconnects)
    yield from (calls, subtasks, seconds, reconnects)
