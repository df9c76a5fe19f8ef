"""Per-robot counters: what a slaver did, kept in shared memory for the master's ``GET /metrics``.

A slaver counts in process (dictionary updates only) and sends the increments in one pipelined
round trip (``HINCRBY`` / ``HINCRBYFLOAT`` plus one ``SADD``) at most every ``FLUSH_INTERVAL_S``,
from its heartbeat, and when it stops: one round trip every few seconds whatever the load, in a
background task, never on the way of a subtask or its result (a flush at every heartbeat cost 50
busy in-process slavers about a tenth of their throughput in ``roboos bench dispatch``). Increments that could not be sent are kept for the next flush. Counters
only grow, so several slavers of one robot over time (restarts) add up, as Prometheus counters
should.

One hash per robot (``Keys.robot_counters``), with the fields:

- ``call:<outcome>:<tool>``: skill calls by outcome (``ok``, ``failed``: the skill said no or
  raised, ``unreachable``: the skill server could not be reached) and tool name (last, so a tool
  name may hold any character);
- ``subtask:<state>``: subtask results the slaver reported, by state;
- ``call_seconds:le:<bound>``, ``call_seconds:sum``, ``call_seconds:count``: skill call latency,
  one non-cumulative count per bucket of ``CALL_SECONDS_BUCKETS`` (``+Inf`` included);
- ``reconnects``: times the skill server answered again after being unreachable.

``Keys.counted_robots`` lists the robots with such a hash; ``read_counters`` reads them all in two
round trips, whatever the fleet's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from memory.keys import Keys
from memory.messages import ToolOutcome

__all__ = ["CALL_SECONDS_BUCKETS", "CallOutcome", "RobotCounters", "RobotCounts", "read_counters"]

logger = logging.getLogger(__name__)

CALL_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, math.inf)
CLOSE_FLUSH_TIMEOUT_S = 2.0
FLUSH_INTERVAL_S = 5.0  # the slaver figures of /metrics lag by at most this (plus a heartbeat)
_CALL, _SUBTASK, _SECONDS, _RECONNECTS = "call:", "subtask:", "call_seconds:", "reconnects"


class CallOutcome:
    """How a skill call ended, as counted."""

    OK = "ok"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


def _bound_name(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


_BOUND_NAMES = tuple(_bound_name(b) for b in CALL_SECONDS_BUCKETS)


class RobotCounters:
    """One robot's counters as its slaver keeps them: counted in process, flushed to Redis in the background."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, robot: str) -> None:
        self._redis = redis
        self._keys = keys
        self.robot = robot
        self._counts: Counter[str] = Counter()
        self._seconds = 0.0
        self._flushing: asyncio.Task[None] | None = None
        self._flushed_at = -math.inf  # monotonic

    def skill_call(self, tool: str, outcome: ToolOutcome | None, seconds: float) -> None:
        """Count one skill call; ``outcome`` None: the skill server was unreachable."""
        kind = CallOutcome.UNREACHABLE if outcome is None else CallOutcome.OK if outcome.ok else CallOutcome.FAILED
        self._counts[f"{_CALL}{kind}:{tool}"] += 1
        bucket = next(i for i, bound in enumerate(CALL_SECONDS_BUCKETS) if seconds <= bound)
        self._counts[f"{_SECONDS}le:{_BOUND_NAMES[bucket]}"] += 1
        self._counts[f"{_SECONDS}count"] += 1
        self._seconds += seconds

    def subtask(self, state: str) -> None:
        self._counts[f"{_SUBTASK}{state}"] += 1

    def reconnect(self) -> None:
        self._counts[_RECONNECTS] += 1

    def flush_soon(self) -> None:
        """Send what was counted, in a background task, unless the last flush was less than
        ``FLUSH_INTERVAL_S`` ago (at most one at a time; it sends what is counted meanwhile too).
        Needs a running loop."""
        if not (self._counts or self._seconds) or time.monotonic() - self._flushed_at < FLUSH_INTERVAL_S:
            return
        if self._flushing is None or self._flushing.done():
            self._flushed_at = time.monotonic()
            self._flushing = asyncio.create_task(self._flush_all(), name=f"counters-{self.robot}")

    async def aclose(self) -> None:
        """Wait for the flush in progress, then send what is left (bounded; kept in vain if Redis is away)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_FLUSH_TIMEOUT_S):
                if self._flushing is not None:
                    await self._flushing
                await self._flush_all()

    async def _flush_all(self) -> None:
        while (self._counts or self._seconds) and await self.flush():
            pass

    async def flush(self) -> bool:
        """Send the increments counted so far in one round trip; False (they are kept) when Redis failed."""
        counts, seconds = self._counts, self._seconds
        self._counts, self._seconds = Counter(), 0.0
        key = self._keys.robot_counters(self.robot)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, n in counts.items():
                    pipe.hincrby(key, name, n)
                if seconds:
                    pipe.hincrbyfloat(key, f"{_SECONDS}sum", seconds)
                pipe.sadd(self._keys.counted_robots, self.robot)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._counts.update(counts)
            self._seconds += seconds
            logger.debug("robot=%s counters not flushed (kept for the next try): %r", self.robot, exc)
            return False
        return True


@dataclass
class RobotCounts:
    """One robot's counters as read back (see the module's docstring for what each means)."""

    robot: str
    skill_calls: dict[tuple[str, str], int] = field(default_factory=dict)  # (tool, outcome) -> calls
    subtasks: dict[str, int] = field(default_factory=dict)  # state -> subtasks
    call_buckets: list[int] = field(default_factory=lambda: [0] * len(CALL_SECONDS_BUCKETS))  # per bucket
    call_seconds_sum: float = 0.0
    call_count: int = 0
    reconnects: int = 0

    @classmethod
    def from_hash(cls, robot: str, row: dict[str, str]) -> RobotCounts:
        counts = cls(robot)
        for name, value in row.items():
            counts._read(name, value)
        return counts

    def cumulative_buckets(self) -> list[tuple[str, int]]:
        """``(upper bound, calls at most that long)`` per bucket, as Prometheus histograms count."""
        running, out = 0, []
        for name, n in zip(_BOUND_NAMES, self.call_buckets, strict=True):
            running += n
            out.append((name, running))
        return out

    def _read(self, name: str, value: str) -> None:
        if name.startswith(_CALL):
            outcome, _, tool = name[len(_CALL):].partition(":")
            self.skill_calls[(tool, outcome)] = int(value)
        elif name.startswith(_SUBTASK):
            self.subtasks[name[len(_SUBTASK):]] = int(value)
        elif name == f"{_SECONDS}sum":
            self.call_seconds_sum = float(value)
        elif name == f"{_SECONDS}count":
            self.call_count = int(value)
        elif name.startswith(f"{_SECONDS}le:") and name[len(_SECONDS) + 3:] in _BOUND_NAMES:
            self.call_buckets[_BOUND_NAMES.index(name[len(_SECONDS) + 3:])] = int(value)
        elif name == _RECONNECTS:
            self.reconnects = int(value)


async def read_counters(redis: aioredis.Redis, keys: Keys) -> list[RobotCounts]:
    """Every counted robot's counters, by name, in two round trips."""
    robots = sorted(await redis.smembers(keys.counted_robots))
    if not robots:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for robot in robots:
            pipe.hgetall(keys.robot_counters(robot))
        rows = await pipe.execute()
    return [RobotCounts.from_hash(robot, row) for robot, row in zip(robots, rows, strict=True) if row]
