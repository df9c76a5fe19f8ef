"""The Redis Cluster client of ``SharedMemory``: found from the URL of any one node.

Every key of a deployment shares one hash slot (see ``memory.keys``), so the scripts and pipelines
run unchanged; what differs is the client. redis-py's cluster pool raises ``MaxConnectionsError``
at once when every connection to a node is in use, where the standalone ``BoundedPool`` waits up
to its timeout, so ``BoundedCluster`` makes commands and pipelines queue for a free connection the
same way: a burst of requests waits briefly instead of failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.exceptions import MaxConnectionsError, RedisError

from memory.errors import SharedMemoryError

__all__ = ["BoundedCluster", "connect_cluster"]

_HOLDS_SLOT: ContextVar[bool] = ContextVar("holds_cluster_slot", default=False)
# Connections per node beyond the queued commands' share: the cluster client's own topology reads.
_SPARE_CONNECTIONS = 4


class BoundedCluster(RedisCluster):
    """A cluster client whose commands and pipelines wait up to ``pool_timeout_s`` for a connection."""

    def __init__(self, *args: Any, pool_timeout_s: float, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, max_connections=max_connections + _SPARE_CONNECTIONS, **kwargs)
        self.pool_timeout_s = pool_timeout_s
        self.slots = max_connections
        self._free = asyncio.Semaphore(max_connections)

    @asynccontextmanager
    async def connection_slot(self) -> AsyncIterator[None]:
        """One of the ``max_connections`` slots for this task; a task that holds one already (a
        pipeline that resends a redirected command alone) goes on with it rather than wait for itself."""
        if _HOLDS_SLOT.get():
            yield
            return
        try:
            async with asyncio.timeout(self.pool_timeout_s):  # not wait_for: on 3.11 it can swallow a cancel
                await self._free.acquire()
        except TimeoutError:
            raise MaxConnectionsError(
                f"all {self.slots} Redis connections stayed in use for {self.pool_timeout_s:g} s"
            ) from None
        holding = _HOLDS_SLOT.set(True)
        try:
            yield
        finally:
            _HOLDS_SLOT.reset(holding)
            self._free.release()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self.connection_slot():
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # refused there with its own message
        return _BoundedPipeline(self, transaction)


class _BoundedPipeline(ClusterPipeline):
    cluster_client: BoundedCluster

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self.cluster_client.connection_slot():
            return await super().execute(*args, **kwargs)


async def connect_cluster(
    url: str, *, shown: str, timeout_s: float, socket_timeout_s: float, max_connections: int, pool_timeout_s: float,
    password: str | None,
) -> BoundedCluster:
    """Join the cluster that the node at ``url`` belongs to; ``SharedMemoryError`` if it cannot."""
    try:
        client = BoundedCluster.from_url(
            url, decode_responses=True, protocol=2, socket_connect_timeout=timeout_s, socket_timeout=socket_timeout_s,
            max_connections=max_connections, pool_timeout_s=pool_timeout_s, password=password,
        )
        await client.initialize()
    except (RedisError, OSError) as e:
        raise SharedMemoryError(f"cannot join the Redis Cluster at {shown}: {e}") from e
    _drop_keys_argument(client)
    return client


def _drop_keys_argument(client: RedisCluster) -> None:
    """Make the response callbacks ignore a ``keys=`` argument.

    redis-py 8.1's cluster MULTI/EXEC pipeline passes each command's ``keys=`` to its response
    callback, which most callbacks (HGETALL's, for one) do not take; its other paths drop it first.
    """
    def tolerant(callback: Callable[..., Any]) -> Callable[..., Any]:
        def call(response: Any, **options: Any) -> Any:
            options.pop("keys", None)
            return callback(response, **options)
        return call

    for command, callback in list(client.response_callbacks.items()):
        client.response_callbacks[command] = tolerant(callback)
