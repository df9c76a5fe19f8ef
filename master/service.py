"""The master's service: one asyncio loop in one background thread, bridged from Flask threads.

The loop owns the ``SharedMemory`` connection, the scheduler, the event feed and the planner.
Flask views run in the WSGI server's threads and reach the loop with ``call(coro)``, which waits a
bounded time and turns Redis being unreachable or its pool being busy into ``MemoryUnavailable``
/ ``MemoryBusy`` (503 with Retry-After), never a bare Redis error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from redis.exceptions import MaxConnectionsError

from brain.planner import Planner
from master.config import MasterConfig
from master.errors import BridgeTimeout, MasterError, MemoryBusy, MemoryUnavailable
from master.event_feed import EventFeed
from master.metrics import FleetSnapshot, MasterMetrics, read_fleet
from master.scheduler import Scheduler
from memory import SharedMemory
from memory.errors import REDIS_UNREACHABLE
from memory.shared_memory import redact_url

__all__ = ["MasterService"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
START_TIMEOUT_S = 15.0
BUSY_RETRY_AFTER_S = 1
DOWN_RETRY_AFTER_S = 5


class MasterService:
    def __init__(self, config: MasterConfig, memory_url: str, prefix: str, planner: Planner) -> None:
        self.config = config
        self.memory_url = memory_url
        self.prefix = prefix
        self.planner = planner
        self.started_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._memory: SharedMemory | None = None
        self._scheduler: Scheduler | None = None
        self._feed: EventFeed | None = None
        self.metrics = MasterMetrics(self.fleet_snapshot)

    @property
    def memory(self) -> SharedMemory:
        if self._memory is None:
            raise MasterError("the master service is not running; call start() first")
        return self._memory

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            raise MasterError("the master service is not running; call start() first")
        return self._scheduler

    @property
    def feed(self) -> EventFeed:
        if self._feed is None:
            raise MasterError("the master service is not running; call start() first")
        return self._feed

    @property
    def planner_name(self) -> str:
        return str(getattr(self.planner, "name", type(self.planner).__name__))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the loop thread, connect to Redis, resume active tasks; raise if that fails."""
        if self._thread is not None:
            raise MasterError("the master service is already started")
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="master-loop", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise MasterError(f"the master did not start within {timeout_s:g} s (is Redis at {redact_url(self.memory_url)} up?)")
        if self._startup_error is not None:
            self._thread.join(timeout_s)
            self._thread = None
            raise MasterError(f"the master could not start: {self._startup_error}") from self._startup_error
        self.started_at = time.time()
        shown = redact_url(self.memory_url)
        logger.info("master service started (memory %s, prefix %r, planner %s)", shown, self.prefix, self.planner_name)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.error("master loop did not stop within %g s", timeout_s)
        self._thread = None
        self._ready.clear()
        logger.info("master service stopped")

    def end_streams(self) -> None:
        """End every open ``/events`` stream and refuse new ones (any thread; before stopping)."""
        if self._feed is not None:
            self._feed.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coro`` on the service's loop and wait for it (from any other thread)."""
        loop = self._loop
        if loop is None or not self.running:
            coro.close()
            raise MasterError("the master service is not running")
        timeout_s = self.config.bridge_timeout_s if timeout_s is None else timeout_s
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise BridgeTimeout(f"the master did not answer within {timeout_s:g} s") from None
        except MemoryUnavailable as e:  # raised on the loop (e.g. the health check's busy pool)
            self.metrics.redis_errors.labels(e.redis_state).inc()
            raise
        except MaxConnectionsError as e:
            self.metrics.redis_error(e)
            raise MemoryBusy(f"the master is busy: {e}; retry shortly", BUSY_RETRY_AFTER_S) from e
        except REDIS_UNREACHABLE as e:  # a cluster node restarting answers CLUSTERDOWN: unreachable too
            self.metrics.redis_error(e)
            raise MemoryUnavailable(f"shared memory unreachable: {e}", DOWN_RETRY_AFTER_S) from e

    def fleet_snapshot(self) -> FleetSnapshot | None:
        """The scrape-time figures for ``/metrics``; None when the loop or Redis did not answer in time."""
        try:
            return self.call(self._read_fleet(), self.config.metrics_timeout_s)
        except MasterError as e:
            logger.warning("metrics: fleet figures left out of this scrape: %s", e)
            return None

    async def _read_fleet(self) -> FleetSnapshot:
        return await read_fleet(self.scheduler.census(), self.memory)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # the thread's boundary: report, never die silently
            logger.exception("master loop crashed")
            self._startup_error = self._startup_error or e
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self._memory = await SharedMemory.connect(
                self.memory_url, prefix=self.prefix, max_connections=self.config.redis_max_connections,
                pool_timeout_s=self.config.redis_pool_timeout_s)
            self._scheduler = Scheduler(self._memory, self.planner, self.config, self.metrics)
            await self._scheduler.start()
            self._feed = EventFeed(self._memory.events, self.config.max_event_streams)
            await self._feed.start()
        except Exception as e:
            self._startup_error = e
            await self._close()
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self._close()

    async def _close(self) -> None:
        stopping = [part.stop() for part in (self._scheduler, self._feed) if part is not None]
        await asyncio.gather(*stopping)
        self._scheduler = self._feed = None
        if self._memory is not None:
            await self._memory.close()
            self._memory = None
        self._loop = None
