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
from memory.events import DEFAULT_EVENT_MAXLEN
from memory.keys import Keys
from memory.messages import SubtaskMessage, SubtaskResult
from memory.profiles import SubtaskRecord
from memory.robots import ROBOT_STATUSES
from memory.tasks import META, subtask_field, terminal_states_arg
from memory.writes import Write, Writes

__all__ = ["DEFAULT_STREAM_MAXLEN", "MASTER_GROUP", "SLAVER_GROUP", "STREAM_WRITES", "WorkStreams"]

logger = logging.getLogger(__name__)

DEFAULT_STREAM_MAXLEN = 100_000
SLAVER_GROUP = "slavers"
MASTER_GROUP = "master"

M = TypeVar("M")

# Creates a stream's consumer group unless it exists (used by the scripts below).
_ENSURE_GROUP = """
local function ensure_group(key, group)
  local created = redis.pcall('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
  if type(created) == 'table' and created['err'] and not string.find(created['err'], 'BUSYGROUP') then
    error(created['err'])
  end
end
"""

# keys: results stream, the robot's subtask stream, robot hash.
# args: results group, maxlen, result JSON, subtasks group, entry id to ack ("" = none), then robot
#       hash field/value pairs (none = leave the robot alone).
# Posts, then acks, then sets the fields: a failing command stops the script, so an entry is never
# acked before its result is in. Replies {result entry id, 0 if the robot is not registered else 1}.
_REPORT = """
local function report(keys, args)
  ensure_group(keys[1], args[1])
  local id = redis.call('XADD', keys[1], 'MAXLEN', '~', args[2], '*', 'data', args[3])
  if args[5] ~= '' then
    redis.call('XACK', keys[2], args[4], args[5])
  end
  local registered = 1
  if #args > 5 then
    if redis.call('EXISTS', keys[3]) == 1 then
      redis.call('HSET', keys[3], unpack(args, 6))
    else
      registered = 0
    end
  end
  return true, {id, registered}
end
"""


# keys: task hash, the robot's subtask stream, event stream.
# args: subtask field, subtask record JSON, subtasks group, maxlen, message JSON, event JSON, event maxlen.
# The record, the stream entry and the event are written together, so a master that dies here
# leaves either nothing or a subtask that is both recorded dispatched and on its robot's stream.
# Idempotent: a subtask already recorded past waiting (an earlier dispatch whose reply was lost) is
# not queued again. Replies the entry id, "" when it was already dispatched, false when the task
# does not exist (see ``memory.writes``).
_DISPATCH = """
local function dispatch(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return false, false end
  local stored = redis.call('HGET', keys[1], args[1])
  if stored and cjson.decode(stored)['state'] ~= 'waiting' then return true, '' end
  ensure_group(keys[2], args[3])
  local id = redis.call('XADD', keys[2], 'MAXLEN', '~', args[4], '*', 'data', args[5])
  redis.call('HSET', keys[1], args[1], args[2])
  redis.call('XADD', keys[3], 'MAXLEN', '~', args[7], '*', 'data', args[6])
  return true, id
end
"""

# keys: a stream. args: its group, then the entry ids to acknowledge. Replies how many were pending.
_ACK = """
local function ack(keys, args)
  return true, redis.call('XACK', keys[1], unpack(args))
end
"""

# The write functions of the work streams, for ``memory.writes.Writes``.
STREAM_WRITES = {"dispatch": _ENSURE_GROUP + _DISPATCH, "report": _ENSURE_GROUP + _REPORT, "ack": _ACK}

# KEYS: task hash, the robot's subtask stream, results stream, robot hash, the robot's lease (liveness key),
#       the task's claims hash.
# ARGV: meta field, subtask field, subtask id, robot, attempt, lease token, entry id, subtasks
#       group, results group, maxlen, RUNNING result JSON, terminal task states (",a,b,"), subtask id.
# A slaver starts a subtask only through this script: its lease must be current, the task live,
# the subtask the one the master recorded (same robot and attempt), still dispatched and claimed
# by nobody. Then it records the claim, posts the RUNNING result and marks the robot busy.
# Returns {1, ''} or {0, why}; an entry refused for a reason other than its lease or an earlier
# claim is acknowledged here (stale or forged: it must never run).
_CLAIM = _ENSURE_GROUP + """
if redis.call('GET', KEYS[5]) ~= ARGV[6] then return {0, 'lease'} end
local meta = redis.call('HGET', KEYS[1], ARGV[1])
local raw = redis.call('HGET', KEYS[1], ARGV[2])
local why = nil
if not meta or not raw then
  why = 'unknown'
else
  local task = cjson.decode(meta)
  local sub = cjson.decode(raw)
  if sub['robot'] ~= ARGV[4] or tonumber(sub['attempt']) ~= tonumber(ARGV[5]) then
    why = 'unknown'
  elseif string.find(ARGV[12], ',' .. task['state'] .. ',', 1, true) then
    why = 'task ' .. task['state']
  elseif sub['state'] ~= 'dispatched' and sub['state'] ~= 'running' then
    why = 'subtask ' .. sub['state']
  elseif redis.call('HEXISTS', KEYS[6], ARGV[3]) == 1 then
    return {0, 'claimed'}
  elseif sub['state'] ~= 'dispatched' then
    why = 'subtask ' .. sub['state']
  end
end
if why then
  redis.call('XACK', KEYS[2], ARGV[8], ARGV[7])
  return {0, why}
end
redis.call('HSET', KEYS[6], ARGV[3], ARGV[6])
ensure_group(KEYS[3], ARGV[9])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], '*', 'data', ARGV[11])
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('HSET', KEYS[4], 'status', 'busy', 'current_subtask', ARGV[13])
end
return {1, ''}
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

    def __init__(
        self, redis: aioredis.Redis, keys: Keys, writes: Writes, maxlen: int = DEFAULT_STREAM_MAXLEN,
        event_maxlen: int = DEFAULT_EVENT_MAXLEN,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._writes = writes
        self.maxlen = maxlen
        self._event_maxlen = event_maxlen
        self._results = _GroupStream(redis, keys.results, MASTER_GROUP, SubtaskResult.from_dict, maxlen)
        self._claim = redis.register_script(_CLAIM)

    def _subtasks(self, robot: str) -> _GroupStream[SubtaskMessage]:
        return _GroupStream(redis=self._redis, key=self._keys.subtasks(robot), group=SLAVER_GROUP,
                            decode=SubtaskMessage.from_dict, maxlen=self.maxlen)  # fmt: skip

    # -- subtasks (master -> slaver) ---------------------------------------------------------

    async def dispatch(self, msg: SubtaskMessage, record: SubtaskRecord, event: str) -> str:
        """Append a subtask to its robot's stream, record it (``record``, state dispatched) in its
        task and append ``event``, all in one step; returns the entry id ("" when an earlier call
        already dispatched it: nothing is queued twice).

        ``SharedMemoryError`` if the task does not exist (nothing is written then).
        """
        (entry_id,) = await self._writes.run([self.dispatch_write(msg, record, event)])
        return entry_id

    def dispatch_write(self, msg: SubtaskMessage, record: SubtaskRecord, event: str) -> Write:
        """``dispatch`` as a write, to be made with others (``memory.writes``)."""
        keys = [self._keys.task(msg.task_id), self._keys.subtasks(msg.robot), self._keys.events]
        args = [subtask_field(record.subtask_id), json.dumps(record.to_dict()), SLAVER_GROUP, self.maxlen,
                json.dumps(msg.to_dict()), event, self._event_maxlen]

        def check(entry_id: str | None) -> str:
            if entry_id is None:
                raise SharedMemoryError(f"unknown task {msg.task_id!r}: create it before dispatching its subtasks")
            logger.debug("dispatched %s/%s to %s as %s", msg.task_id, msg.subtask_id, msg.robot, entry_id)
            return entry_id

        return Write("dispatch", keys, args, check)

    async def claim(self, entry_id: str, msg: SubtaskMessage, lease: str, running: SubtaskResult) -> str | None:
        """Start the subtask ``msg`` (entry ``entry_id``) for the slaver holding ``lease``; None when it
        may run (the claim is recorded, ``running`` posted and the robot marked busy), else why not:

        - ``"lease"``: this slaver no longer holds its robot (another one took over): leave the entry;
        - ``"claimed"``: a slaver started it before (the one before a crash): report it interrupted;
        - anything else (``"unknown"``, ``"task failed"``, ``"subtask timed_out"`` ...): a stale or
          forged entry, already acknowledged; it must not run.
        """
        task = self._keys.task(msg.task_id)
        keys = [task, self._keys.subtasks(msg.robot), self._keys.results, self._keys.robot(msg.robot),
                self._keys.alive(msg.robot), self._keys.task_claims(msg.task_id)]
        args = [META, subtask_field(msg.subtask_id), msg.subtask_id, msg.robot, msg.attempt, lease,
                entry_id, SLAVER_GROUP, MASTER_GROUP, self.maxlen, json.dumps(running.to_dict()),
                terminal_states_arg(), msg.subtask_id]
        claimed, why = await self._claim(keys=keys, args=args)
        return None if int(claimed) else str(why)

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
        (entry_id,) = await self._writes.run([self.report_write(result, ack_id=ack_id, status=status,
                                                                current_subtask=current_subtask)])
        return entry_id

    def report_write(
        self, result: SubtaskResult, *, ack_id: str | None = None, status: str | None = None,
        current_subtask: str | None = None,
    ) -> Write:
        """``report`` as a write, to be made with others (``memory.writes``): e.g. after the scene
        commit of the subtask's last effects (``SceneGraph.apply(then=...)``)."""
        if status is not None and status not in ROBOT_STATUSES:
            raise SharedMemoryError(f"unknown robot status {status!r}: expected one of {sorted(ROBOT_STATUSES)}")
        robot = result.robot
        keys = [self._keys.results, self._keys.subtasks(robot), self._keys.robot(robot)]
        args: list[Any] = [MASTER_GROUP, self.maxlen, json.dumps(result.to_dict()), SLAVER_GROUP, ack_id or ""]
        if status is not None:
            args += ["status", status, "current_subtask", current_subtask or ""]

        def check(reply: list[Any]) -> str:
            entry_id, registered = reply
            if not int(registered):
                raise SharedMemoryError(f"unknown robot {robot!r}: register it first")
            return entry_id

        return Write("report", keys, args, check)

    async def read_results(
        self, consumer: str, block_ms: int, count: int = 100
    ) -> list[tuple[str, SubtaskResult]]:
        return await self._results.read_new(consumer, block_ms, count)

    async def pending_results(self, consumer: str) -> list[tuple[str, SubtaskResult]]:
        return await self._results.read_pending(consumer)

    async def ack_results(self, *msg_ids: str) -> None:
        """Acknowledge results read (any number, in one command)."""
        if msg_ids:
            await self._writes.run([self.ack_results_write(*msg_ids)])

    def ack_results_write(self, *msg_ids: str) -> Write:
        """``ack_results`` as a write, to be made last in a list (``memory.writes``): e.g. at the end
        of the master's writes for the results it acknowledges, so that a refusal leaves them pending."""
        if not msg_ids:
            raise SharedMemoryError("no result entries to acknowledge")
        return Write("ack", [self._keys.results], [MASTER_GROUP, *msg_ids], int)
