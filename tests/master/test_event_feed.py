"""The event feed: one reader on real Redis, fanned out to bounded subscriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from master.event_feed import IDLE_POLL_S, EventFeed, FeedFull, stream_id_key
from memory import SharedMemory

pytestmark = pytest.mark.anyio


@pytest.fixture
async def feed(shared_memory: SharedMemory) -> AsyncIterator[EventFeed]:
    await shared_memory.events.append("before")
    feed = EventFeed(shared_memory.events, max_subscribers=2, buffer_size=5)
    await feed.start()
    yield feed
    await feed.stop()


async def take_kinds(subscription, count: int) -> list[str]:
    kinds: list[str] = []
    with anyio.fail_after(10):
        while len(kinds) < count and subscription.ended is None:
            kinds += [e.kind for e in await anyio.to_thread.run_sync(subscription.take, 1.0)]
    return kinds


async def test_every_subscriber_gets_what_is_appended_after_it_subscribed(shared_memory: SharedMemory,
                                                                          feed: EventFeed) -> None:
    first, second = feed.subscribe(), feed.subscribe()
    for kind in ("a", "b", "c"):
        await shared_memory.events.append(kind)
    assert await take_kinds(first, 3) == ["a", "b", "c"]
    assert await take_kinds(second, 3) == ["a", "b", "c"]
    with pytest.raises(FeedFull, match="all 2 event streams"):
        feed.subscribe()
    first.close()
    assert feed.subscriber_count == 1
    feed.subscribe().close()  # the freed slot is usable again


async def test_while_nobody_subscribes_the_feed_keeps_up_without_reading(shared_memory: SharedMemory,
                                                                         feed: EventFeed) -> None:
    """With no subscriber the feed only notes the newest id (``IDLE_POLL_S``): a backlog written
    meanwhile, larger than a buffer, is not handed to the next subscriber."""
    for i in range(20):
        await shared_memory.events.append(f"old{i}")
    await anyio.sleep(3 * IDLE_POLL_S)
    late = feed.subscribe()
    await shared_memory.events.append("new")
    assert await take_kinds(late, 1) == ["new"] and late.ended is None


async def test_a_subscriber_that_falls_behind_is_ended_not_buffered_forever(shared_memory: SharedMemory,
                                                                          feed: EventFeed) -> None:
    slow = feed.subscribe()
    for i in range(8):
        await shared_memory.events.append(f"e{i}")
    with anyio.fail_after(10):
        while slow.ended is None:
            await anyio.sleep(0.05)  # the feed's next batch overflows the 5-event buffer
    assert "fell more than 5 events behind" in slow.ended
    assert slow.take(0) == [] and feed.subscriber_count == 0


async def test_closing_the_feed_ends_every_subscription_and_refuses_new_ones(feed: EventFeed) -> None:
    subscription = feed.subscribe()
    feed.close()
    assert subscription.ended == "the master is stopping" and subscription.take(0) == []
    with pytest.raises(FeedFull, match="stopping"):
        feed.subscribe()


def test_stream_ids_sort_as_numbers() -> None:
    assert stream_id_key("10-0") > stream_id_key("9-5") > stream_id_key("9") == (9, 0)
