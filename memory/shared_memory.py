"""``SharedMemory``: one connection to Redis and the stores built on it.

    memory = await SharedMemory.connect("redis://127.0.0.1:6379", prefix="roboos:")
    snapshot = await memory.scene.snapshot()
    await memory.close()
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool, Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, RedisError

from memory.cluster import BoundedCluster, connect_cluster
from memory.errors import SharedMemoryError
from memory.events import DEFAULT_EVENT_MAXLEN, SINCE_FUNCTION, EventLog, Since, since_of
from memory.keys import Keys
from memory.profiles import RobotRecord
from memory.robots import OFFLINE_FUNCTION, Liveness, RobotRegistry, liveness_of, unplaced_records
from memory.scene_graph import SCENE_WRITES, SceneGraph
from memory.streams import DEFAULT_STREAM_MAXLEN, STREAM_WRITES, WorkStreams
from memory.tasks import TASK_WRITES, TaskStore
from memory.writes import Writes

__all__ = [
    "BoundedPool", "DEFAULT_MAX_CONNECTIONS", "DEFAULT_POOL_TIMEOUT_S", "PASSWORD_ENV", "SharedMemory",
    "redact_url", "split_password",
]

logger = logging.getLogger(__name__)

_CLEAR_BATCH = 500
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_POOL_TIMEOUT_S = 5.0
# A command with no reply for this long fails (redis-py's own default, made explicit here), so a
# blocking stream read must block for less: at most MAX_BLOCK_MS, half of it, which leaves a busy
# client's event loop seconds to read the reply (4 s failed under 1000 slavers on a Redis Cluster).
SOCKET_TIMEOUT_S = 5.0
MAX_BLOCK_MS = 2500

# The Redis password for a URL that carries none: how the stack hands it to its children (never in argv).
PASSWORD_ENV = "ROBOOS_REDIS_PASSWORD"


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe to log or show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def split_password(url: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (None when it has none)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    user = parts.username or ""
    netloc = f"{user}@{parts.netloc.rpartition('@')[2]}" if user else parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


class BoundedPool(BlockingConnectionPool):
    """A blocking pool whose wait for a free connection ends in ``MaxConnectionsError``.

    redis-py's ``BlockingConnectionPool`` raises a plain ``ConnectionError`` after its timeout,
    the same type as "Redis is down"; callers need to tell "busy" (every connection in use,
    retry soon) from "unreachable", so the timeout gets redis-py's own pool-exhaustion type.
    """

    async def get_connection(self, *args: Any, **kwargs: Any) -> Connection:
        try:
            return await super().get_connection(*args, **kwargs)
        except RedisConnectionError as e:
            if not isinstance(e.__cause__, asyncio.TimeoutError):
                raise
            raise MaxConnectionsError(
                f"all {self.max_connections} Redis connections stayed in use for {self.timeout:g} s"
            ) from e


# KEYS: robot names set, lease index, event stream, scene version, then the hashes of the robots
# to read. ARGV: the liveness key prefix, the event id read up to, the most events to return.
_FLEET_CHANGES = OFFLINE_FUNCTION + SINCE_FUNCTION + """
local robots = {}
for i = 5, #KEYS do robots[i - 4] = redis.call('HGETALL', KEYS[i]) end
return {offline(KEYS[1], KEYS[2], ARGV[1]), since(KEYS[3], KEYS[4], ARGV[2], ARGV[3]), robots}
"""


class FleetChanges(NamedTuple):
    """What ``SharedMemory.fleet_changes`` read, in one step."""

    liveness: Liveness
    since: Since
    robots: list[RobotRecord]  # of the names asked for, those registered, as ``robots.unplaced`` gives them


class SharedMemory:
    """The real-time shared memory of one deployment: every key lives under ``prefix``."""

    def __init__(
        self,
        redis: aioredis.Redis | BoundedCluster,
        prefix: str = "roboos:",
        *,
        url: str = "",
        event_maxlen: int = DEFAULT_EVENT_MAXLEN,
        stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.url = url
        self.keys = Keys(prefix)
        self.writes = Writes(redis, {**SCENE_WRITES, **TASK_WRITES, **STREAM_WRITES})
        self.events = EventLog(redis, self.keys, maxlen=event_maxlen)
        self.scene = SceneGraph(redis, self.keys, self.writes, event_maxlen=event_maxlen)
        self.robots = RobotRegistry(redis, self.keys, self.scene, self.events)
        self.tasks = TaskStore(redis, self.keys, self.writes, event_maxlen=event_maxlen)
        self.streams = WorkStreams(redis, self.keys, self.writes, maxlen=stream_maxlen, event_maxlen=event_maxlen)
        self._fleet_changes = redis.register_script(_FLEET_CHANGES)

    @classmethod
    async def connect(
        cls,
        url: str,
        prefix: str = "roboos:",
        *,
        timeout_s: float = 5.0,
        event_maxlen: int = DEFAULT_EVENT_MAXLEN,
        stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
        max_connections: int | None = None,
        pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
        password: str | None = None,
    ) -> SharedMemory:
        """Connect and check with PING; ``SharedMemoryError`` saying what to do when Redis is unreachable.

        A password in the URL wins; else ``password``, else ``$ROBOOS_REDIS_PASSWORD`` if set.

        The pool is bounded and blocking: a command waits up to ``pool_timeout_s`` for a free
        connection, then raises ``MaxConnectionsError`` (busy, unlike ``ConnectionError``: down).
        ``max_connections`` (default 100) sizes it: every blocking stream read holds one for its
        whole wait, so a process sharing one ``SharedMemory`` among many slavers needs about two
        per slaver (blocking read, heartbeat).
        """
        shown = redact_url(url)
        try:
            pool = BoundedPool.from_url(
                url, decode_responses=True, protocol=2, socket_connect_timeout=timeout_s,
                socket_timeout=SOCKET_TIMEOUT_S,
                max_connections=max_connections or DEFAULT_MAX_CONNECTIONS, timeout=pool_timeout_s,
                password=password or os.environ.get(PASSWORD_ENV) or None,
            )
        except ValueError as e:
            raise SharedMemoryError(f"invalid Redis URL {shown!r}: {e}") from e
        redis: aioredis.Redis | BoundedCluster = aioredis.Redis.from_pool(pool)
        try:
            await redis.ping()
            cluster = (await redis.info("cluster")).get("cluster_enabled") == 1
        except (RedisError, OSError) as e:
            await redis.aclose()
            raise SharedMemoryError(
                f"cannot reach Redis at {shown}: {e}; "
                "start one or leave the URL empty for the embedded server"
            ) from e
        if cluster:
            await redis.aclose()
            redis = await connect_cluster(
                url, shown=shown, timeout_s=timeout_s, socket_timeout_s=SOCKET_TIMEOUT_S,
                max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
                pool_timeout_s=pool_timeout_s, password=password or os.environ.get(PASSWORD_ENV) or None,
            )
        logger.info("shared memory on %s%s, prefix %r", shown, " (Redis Cluster)" if cluster else "", prefix)
        return cls(redis, prefix, url=shown, event_maxlen=event_maxlen, stream_maxlen=stream_maxlen)

    @property
    def cluster(self) -> bool:
        """True when on Redis Cluster (found from the URL's server on connect)."""
        return isinstance(self.redis, BoundedCluster)

    async def fleet_changes(self, last_id: str, count: int, robots: Sequence[str]) -> FleetChanges:
        """``robots.liveness()``, ``events.since(last_id, count)`` and ``robots.unplaced(robots)`` in
        one script: one round trip, and the robots' hashes read at the moment the events were, so
        an event among them about one of these robots needs no read after it (the master's fleet view)."""
        keys = [self.keys.robots, self.keys.leases, self.keys.events, self.keys.scene_version,
                *map(self.keys.robot, robots)]
        offline, since, rows = await self._fleet_changes(keys=keys, args=[self.keys.alive(""), last_id, count])
        hashes = [dict(zip(row[::2], row[1::2], strict=True)) for row in rows]
        return FleetChanges(liveness_of(offline), since_of(since, last_id), unplaced_records(hashes))

    async def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError) as e:
            logger.warning("Redis at %s does not answer: %s", self.url, e)
            return False

    async def info(self) -> dict[str, Any]:
        """For health checks: server version, memory use, CPU time used, this deployment's prefix.

        On a cluster, of the node that serves this deployment's slot (every key is in it).
        """
        options: dict[str, Any] = {}
        if isinstance(self.redis, BoundedCluster):
            options["target_nodes"] = self.redis.get_node_from_key(self.keys.events)
        try:
            info = await self.redis.info(**options)  # the default sections: server, memory, cpu among them
        except (RedisError, OSError) as e:
            raise SharedMemoryError(f"cannot read INFO from Redis at {self.url}: {e}") from e
        return {
            "url": self.url,
            "cluster_node": options["target_nodes"].name if options else None,
            "redis_version": info.get("redis_version"),
            "used_memory": info.get("used_memory"),
            "used_memory_human": info.get("used_memory_human"),
            "used_cpu_s": float(info.get("used_cpu_user", 0)) + float(info.get("used_cpu_sys", 0)),
            "key_prefix": self.prefix,
        }

    async def clear(self) -> int:
        """Delete every key under the prefix (tests, resets); returns how many."""
        deleted = 0
        batch: list[str] = []
        async for key in self.redis.scan_iter(match=self.keys.pattern, count=_CLEAR_BATCH):
            batch.append(key)
            if len(batch) >= _CLEAR_BATCH:
                deleted += await self.redis.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await self.redis.unlink(*batch)
        return deleted

    async def close(self) -> None:
        await self.redis.aclose()

    async def __aenter__(self) -> SharedMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
