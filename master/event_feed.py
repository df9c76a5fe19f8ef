"""One reader of the event history for the whole master, fanned out to the ``/events`` streams.

A blocking XREAD holds a Redis connection for its whole wait, so a read per stream would take
one pool connection per open dashboard. Instead one loop task follows the history and hands each
batch to every ``Subscription``: a bounded buffer that an HTTP thread waits on without touching
Redis. A subscriber that falls ``buffer_size`` events behind is ended (it reconnects with
``Last-Event-ID`` and replays from Redis); the number of subscribers is capped. While nobody
subscribes, the loop only notes the newest id every ``IDLE_POLL_S`` instead of reading every event
(a busy master writes hundreds a second), so a new subscriber's first batch may start up to that
long before it subscribed.

    subscription = feed.subscribe()          # FeedFull when max_subscribers are open
    events = subscription.take(timeout_s=1)  # [] on timeout; subscription.ended says why it stopped
    subscription.close()
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque

from redis.exceptions import RedisError

from memory.events import Event, EventLog, stream_id_key

__all__ = ["EventFeed", "FeedFull", "Subscription", "stream_id_key"]

logger = logging.getLogger(__name__)

BLOCK_MS = 500
IDLE_POLL_S = 0.1  # how often the newest id is noted while nobody subscribes
ERROR_BACKOFF_S = 1.0
DEFAULT_BUFFER = 1000


class FeedFull(Exception):
    """Every subscriber slot is taken."""


class Subscription:
    """The events one stream has not taken yet; filled by the feed's loop, taken by an HTTP thread."""

    def __init__(self, feed: EventFeed, buffer_size: int) -> None:
        self._feed = feed
        self._buffer_size = buffer_size
        self._events: deque[Event] = deque()
        self._ready = threading.Condition()
        self.ended: str | None = None  # why the feed stopped serving this subscription

    def push(self, events: list[Event]) -> None:
        with self._ready:
            if self.ended is not None:
                return
            if len(self._events) + len(events) > self._buffer_size:
                self.ended = f"the client fell more than {self._buffer_size} events behind"
            else:
                self._events.extend(events)
            self._ready.notify()

    def end(self, reason: str) -> None:
        with self._ready:
            if self.ended is None:
                self.ended = reason
            self._ready.notify()

    def take(self, timeout_s: float) -> list[Event]:
        """Every buffered event, waiting up to ``timeout_s`` for one; [] on timeout or once ended."""
        with self._ready:
            self._ready.wait_for(lambda: self._events or self.ended is not None, timeout_s)
            if self.ended is not None:
                self._events.clear()
                return []
            batch = list(self._events)
            self._events.clear()
            return batch

    def close(self) -> None:
        """Leave the feed (idempotent)."""
        self.end("closed")
        self._feed.unsubscribe(self)


class EventFeed:
    """Follows the event history with one blocking read and fans every batch out to subscribers."""

    def __init__(self, events: EventLog, max_subscribers: int, buffer_size: int = DEFAULT_BUFFER) -> None:
        self._events = events
        self.max_subscribers = max_subscribers
        self._buffer_size = buffer_size
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def subscribe(self) -> Subscription:
        """A new subscription, receiving what the feed reads from now on (any thread)."""
        subscription = Subscription(self, self._buffer_size)
        with self._lock:
            if self._stopping:
                raise FeedFull("the master is stopping")
            if len(self._subscribers) >= self.max_subscribers:
                raise FeedFull(f"all {self.max_subscribers} event streams are open")
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    async def start(self) -> None:
        """Start following the history from its newest entry (call on the master's loop)."""
        self._task = asyncio.create_task(self._follow(await self._events.newest_id()), name="master-event-feed")

    def close(self) -> None:
        """End every subscription and refuse new ones; the reader stops after its current read (any thread)."""
        with self._lock:
            self._stopping = True
            subscribers = list(self._subscribers)
            self._subscribers.clear()
        for subscription in subscribers:
            subscription.end("the master is stopping")

    async def stop(self) -> None:
        """``close()``, then let the current read finish (it is not cancelled: see the scheduler)."""
        self.close()
        if self._task is not None:
            _, pending = await asyncio.wait([self._task], timeout=BLOCK_MS / 1000 + ERROR_BACKOFF_S + 1)
            for task in pending:
                logger.warning("the event feed did not stop in time; cancelling it")
                task.cancel()
            self._task = None

    async def _follow(self, last_id: str) -> None:
        failing = False
        while not self._stopping:
            try:
                if not self.subscriber_count:
                    last_id = await self._events.newest_id()
                    await asyncio.sleep(IDLE_POLL_S)
                    continue
                batch = await self._events.after(last_id, block_ms=BLOCK_MS)
            except (RedisError, OSError) as e:
                if not failing:
                    logger.warning("event feed: cannot read the event history (%s); retrying", e)
                failing = True
                await asyncio.sleep(ERROR_BACKOFF_S)
                continue
            if failing:
                logger.info("event feed: reading the event history again")
                failing = False
            if batch:
                last_id = batch[-1].id
                self._fan_out(batch)

    def _fan_out(self, batch: list[Event]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.push(batch)
            if subscription.ended is not None:
                logger.info("event stream ended: %s", subscription.ended)
                self.unsubscribe(subscription)
