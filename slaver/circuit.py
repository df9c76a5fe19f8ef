"""A circuit breaker for the robot's skill server: stop calling a server that is not there.

When a call finds the server unreachable the circuit opens: the robot is marked degraded in shared
memory (the planner gives it no work), subtasks fail at once instead of each waiting on a dead
connection, and one background task reconnects with exponential backoff and jitter. When the
server answers again the circuit closes and the mark is cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from slaver.errors import SkillServerUnreachable
from slaver.skill_link import SkillLink

__all__ = ["DEGRADED_REASON", "Backoff", "SkillCircuit"]

logger = logging.getLogger(__name__)

DEGRADED_REASON = "its skill server is unreachable"

# Sets (a reason) or clears (None) the robot's degraded mark in shared memory.
Marker = Callable[[str | None], Awaitable[None]]


@dataclass
class Backoff:
    """Delays that double from ``initial_s`` up to ``max_s``, each drawn from its upper half (jitter)."""

    initial_s: float = 0.5
    max_s: float = 30.0
    attempts: int = 0

    def next_delay(self) -> float:
        delay = min(self.max_s, self.initial_s * 2 ** min(self.attempts, 32))
        self.attempts += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempts = 0


class SkillCircuit:
    """Closed while the skill server answers; open (``why`` says since what) until it answers again."""

    def __init__(self, link: SkillLink, mark: Marker, backoff: Backoff) -> None:
        self._link = link
        self._mark = mark
        self._backoff = backoff
        self._probe: asyncio.Task[None] | None = None
        self.why: str | None = None

    @property
    def is_open(self) -> bool:
        return self.why is not None

    async def trip(self, why: str) -> None:
        """Open the circuit after a call found the server unreachable, and mark the robot degraded."""
        if self.is_open:
            return
        self.why = why
        logger.warning("skill server %s unreachable (%s); robot degraded, reconnecting with backoff",
                       self._link.endpoint, why)
        self._probe = asyncio.create_task(self._reconnect(), name=f"reconnect-{self._link.endpoint}")
        await self._mark(DEGRADED_REASON)

    async def remark(self) -> None:
        """Write the mark again (after the robot registered afresh, which clears it)."""
        if self.is_open:
            await self._mark(DEGRADED_REASON)

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe

    async def _reconnect(self) -> None:
        """Try the server with backoff until it answers and the mark is cleared; then close."""
        while True:
            delay = self._backoff.next_delay()
            await asyncio.sleep(delay)
            try:
                await self._link.client()
                await self._mark(None)
            except SkillServerUnreachable as exc:
                logger.info("skill server %s still unreachable: %s; next try in up to %.1f s",
                            self._link.endpoint, exc, min(self._backoff.max_s, 2 * delay))
            except (RedisError, OSError) as exc:  # the server is back, shared memory is not: try again
                logger.error("could not clear the degraded mark: %r", exc)
            else:
                break
        self.why, self._probe = None, None
        self._backoff.reset()
        logger.info("skill server %s answers again; robot no longer degraded", self._link.endpoint)
