"""Work streams: one subtask stream per robot (group ``slavers``) and one results stream (group ``master``).

Entries hold the message JSON under the field ``data``. A reader acknowledges an entry only after the
work is recorded, so an entry delivered to a consumer that died stays in that consumer's pending list
and is read again with ``pending_*``. Malformed entries are logged, acknowledged and skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from memory.errors import SharedMemoryError
from memory.keys import Keys
from memory.messages import SubtaskMessage, SubtaskResult
from memory.robots import ROBOT_STATUSES

__all__ = ["DEFAULT_STREAM_MAXLEN", "MASTER_GROUP", "SLAVER_GROUP", "WorkStreams"]

logger = logging.getLogger(__name__)

DEFAULT_STREAM_MAXLEN = 100_000
SLAVER_GROUP = "slavers"
MASTER_GROUP = "master"

M = TypeVar("M")

# KEYS: results stream, the robot's subtask stream, robot hash.
# ARGV: results group, maxlen, result JSON, subtasks group, entry id to ack ("" = none), then robot
#       hash field/value pairs (none = leave the robot alone).
# Posts, then acks, then sets the fields: a failing command stops the script, so an entry is never
# acked before its result is in. Returns {result entry id, 0 if the robot is not registered else 1}.
_REPORT = """
local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(created) == 'table' and created['err'] and not string.find(created['err'], 'BUSYGROUP') then
  return redis.error_reply(created['err'])
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'data', ARGV[3])
if ARGV[5] ~= '' then
  redis.call('XACK', KEYS[2], ARGV[4], ARGV[5])
end
local registered = 1
if #ARGV > 5 then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('HSET', KEYS[3], unpack(ARGV, 6))
  else
    registered = 0
  end
end
return {id, registered}
"""


class _GroupStream(Generic[M]):
    """One stream read through one consumer group, carrying one message type."""

    def __init__(
        self, redis: aioredis.Redis, key: str, group: str, decode: Callable[[dict[str, Any]], M], maxlen: int
    ) -> None:
        self._redis = redis
        self.key = key
        self.group = group
        self._decode = decode
        self._maxlen = maxlen

    async def add(self, payload: dict[str, Any]) -> str:
        """Create the group if needed and append, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xgroup_create(self.key, self.group, id="0", mkstream=True)
            pipe.xadd(self.key, {"data": json.dumps(payload)}, maxlen=self._maxlen, approximate=True)
            created, entry_id = await pipe.execute(raise_on_error=False)
        _raise_unless_busygroup(created)
        if isinstance(entry_id, Exception):
            raise entry_id
        return entry_id

    async def read_new(self, consumer: str, block_ms: int, count: int) -> list[tuple[str, M]]:
        return await self._read(consumer, ">", block_ms=block_ms, count=count)

    async def read_pending(self, consumer: str) -> list[tuple[str, M]]:
        """Entries delivered to ``consumer`` and never acknowledged (its own pending list)."""
        return await self._read(consumer, "0", block_ms=0, count=None)

    async def ack(self, *entry_ids: str) -> int:
        return await self._redis.xack(self.key, self.group, *entry_ids) if entry_ids else 0

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except ResponseError as e:
            _raise_unless_busygroup(e)

    async def _read(
        self, consumer: str, start: str, *, block_ms: int, count: int | None
    ) -> list[tuple[str, M]]:
        streams = {self.key: start}
        block = block_ms if block_ms > 0 else None
        try:
            reply = await self._redis.xreadgroup(self.group, consumer, streams, count=count, block=block)
        except ResponseError as e:
            if "NOGROUP" not in str(e):
                raise
            await self.ensure_group()  # first read, or the stream was deleted since
            reply = await self._redis.xreadgroup(self.group, consumer, streams, count=count, block=block)
        entries = reply[0][1] if reply else []
        return await self._decode_entries(entries)

    async def _decode_entries(self, entries: list[tuple[str, dict[str, str] | None]]) -> list[tuple[str, M]]:
        good: list[tuple[str, M]] = []
        bad: list[str] = []
        for entry_id, fields in entries:
            try:
                good.append((entry_id, self._decode(json.loads((fields or {})["data"]))))
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                logger.warning("skipping malformed entry %s in %s: %r", entry_id, self.key, e)
                bad.append(entry_id)
        await self.ack(*bad)
        return good


def _raise_unless_busygroup(result: Any) -> None:
    if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
        raise result


class WorkStreams:
    """Subtasks to robots and results back to the master, each read through a consumer group."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, maxlen: int = DEFAULT_STREAM_MAXLEN) -> None:
        self._redis = redis
        self._keys = keys
        self.maxlen = maxlen
        self._results = _GroupStream(redis, keys.results, MASTER_GROUP, SubtaskResult.from_dict, maxlen)
        self._report = redis.register_script(_REPORT)

    def _subtasks(self, robot: str) -> _GroupStream[SubtaskMessage]:
        return _GroupStream(redis=self._redis, key=self._keys.subtasks(robot), group=SLAVER_GROUP,
                            decode=SubtaskMessage.from_dict, maxlen=self.maxlen)  # fmt: skip

    # -- subtasks (master -> slaver) ---------------------------------------------------------

    async def dispatch(self, msg: SubtaskMessage) -> str:
        """Append a subtask to its robot's stream; returns the entry id."""
        entry_id = await self._subtasks(msg.robot).add(msg.to_dict())
        logger.debug("dispatched %s/%s to %s as %s", msg.task_id, msg.subtask_id, msg.robot, entry_id)
        return entry_id

    async def read_subtasks(
        self, robot: str, consumer: str, block_ms: int, count: int = 1
    ) -> list[tuple[str, SubtaskMessage]]:
        """New subtasks for ``robot``, waiting up to ``block_ms`` (0: no wait)."""
        return await self._subtasks(robot).read_new(consumer, block_ms, count)

    async def pending_subtasks(self, robot: str, consumer: str) -> list[tuple[str, SubtaskMessage]]:
        """Subtasks delivered to ``consumer`` and never acknowledged (e.g. before a crash)."""
        return await self._subtasks(robot).read_pending(consumer)

    async def ack_subtask(self, robot: str, msg_id: str) -> None:
        await self._subtasks(robot).ack(msg_id)

    # -- results (slaver -> master) ----------------------------------------------------------

    async def post_result(self, result: SubtaskResult) -> str:
        return await self._results.add(result.to_dict())

    async def report(
        self, result: SubtaskResult, *, ack_id: str | None = None, status: str | None = None,
        current_subtask: str | None = None,
    ) -> str:
        """Post ``result``, then ack ``ack_id`` on the robot's subtask stream, then set the robot's
        ``status`` (and ``current_subtask``): in this order, in one round trip. Returns the entry id.

        An error stops it before the ack, so the subtask stays pending. ``SharedMemoryError`` (after
        posting) when a status is given and the robot is not registered.
        """
        if status is not None and status not in ROBOT_STATUSES:
            raise SharedMemoryError(f"unknown robot status {status!r}: expected one of {sorted(ROBOT_STATUSES)}")
        robot = result.robot
        keys = [self._keys.results, self._keys.subtasks(robot), self._keys.robot(robot)]
        args: list[Any] = [MASTER_GROUP, self.maxlen, json.dumps(result.to_dict()), SLAVER_GROUP, ack_id or ""]
        if status is not None:
            args += ["status", status, "current_subtask", current_subtask or ""]
        entry_id, registered = await self._report(keys=keys, args=args)
        if not registered:
            raise SharedMemoryError(f"unknown robot {robot!r}: register it first")
        return entry_id

    async def read_results(
        self, consumer: str, block_ms: int, count: int = 100
    ) -> list[tuple[str, SubtaskResult]]:
        return await self._results.read_new(consumer, block_ms, count)

    async def pending_results(self, consumer: str) -> list[tuple[str, SubtaskResult]]:
        return await self._results.read_pending(consumer)

    async def ack_result(self, msg_id: str) -> None:
        await self._results.ack(msg_id)
