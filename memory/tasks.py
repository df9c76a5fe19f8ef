"""Task records: a hash per task (``meta`` JSON plus ``sub:<id>`` per subtask), an index by
creation time, and the set of tasks still running.

Subtasks are separate fields so that slavers' results for different subtasks of one task are
recorded without read-modify-write races.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from memory.errors import SharedMemoryError
from memory.events import DEFAULT_EVENT_MAXLEN
from memory.keys import Keys
from memory.messages import TERMINAL_TASK_STATES, SubtaskState, TaskState
from memory.profiles import SubtaskRecord, TaskRecord
from memory.writes import Write, Writes

__all__ = ["TASK_WRITES", "TaskStore", "subtask_field", "terminal_states_arg"]

logger = logging.getLogger(__name__)

META = "meta"
SUB_PREFIX = "sub:"

# keys: task hash, event stream, the task's claims hash. args: subtask field, subtask JSON, subtask
# id to check for a claim ("" = no check), event JSON ("" = none), event maxlen. The subtask and its
# event are written together or not at all. Replies 0 when the task does not exist, -1 when a
# slaver has claimed the subtask (started it: nothing written), else 1 (see ``memory.writes``).
_SAVE_SUBTASK = """
local function save_subtask(keys, args)
  if redis.call('EXISTS', keys[1]) == 0 then return false, 0 end
  if args[3] ~= '' and redis.call('HEXISTS', keys[3], args[3]) == 1 then return false, -1 end
  redis.call('HSET', keys[1], args[1], args[2])
  if args[4] ~= '' then
    redis.call('XADD', keys[2], 'MAXLEN', '~', args[5], '*', 'data', args[4])
  end
  return true, 1
end
"""

# keys: task hash, task index, active set, event stream. args: only if new (1/0), task id, created_at,
# active (1/0), event maxlen, number of events N, the N events, then the hash's field, value pairs.
# Replaces the whole record; replies 0 (nothing written) when only-if-new and the task exists, else 1.
_WRITE_TASK = """
local function write_task(keys, args)
  if args[1] == '1' and redis.call('EXISTS', keys[1]) == 1 then return false, 0 end
  redis.call('DEL', keys[1])
  local first = 7 + tonumber(args[6])
  for i = first, #args, 1000 do
    redis.call('HSET', keys[1], unpack(args, i, math.min(i + 999, #args)))
  end
  redis.call('ZADD', keys[2], args[3], args[2])
  if args[4] == '1' then redis.call('SADD', keys[3], args[2]) else redis.call('SREM', keys[3], args[2]) end
  for i = 7, first - 1 do
    redis.call('XADD', keys[4], 'MAXLEN', '~', args[5], '*', 'data', args[i])
  end
  return true, 1
end
"""

# The write functions of task records, for ``memory.writes.Writes``.
TASK_WRITES = {"save_subtask": _SAVE_SUBTASK, "write_task": _WRITE_TASK}

# KEYS: task hash, active set. ARGV: the meta JSON the caller read, the new meta JSON, task id,
# active (1/0), the meta field. Returns 0 when the task is gone, -1 when its meta changed since (read it again), else 1.
_SET_META = """
local meta = redis.call('HGET', KEYS[1], ARGV[5])
if not meta then return 0 end
if meta ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], ARGV[5], ARGV[2])
if ARGV[4] == '1' then redis.call('SADD', KEYS[2], ARGV[3]) else redis.call('SREM', KEYS[2], ARGV[3]) end
return 1
"""


class _Claimed(SharedMemoryError):
    """A slaver started the subtask: a write ``unless_claimed`` was not made."""


def subtask_field(subtask_id: str) -> str:
    """The task-hash field holding one subtask's record."""
    return SUB_PREFIX + subtask_id


def terminal_states_arg() -> str:
    """The terminal task states as ``,a,b,c,`` for Lua scripts (``string.find`` on ``,state,``)."""
    return "," + ",".join(sorted(TERMINAL_TASK_STATES)) + ","


class TaskStore:
    """Create, read and update task records."""

    def __init__(
        self, redis: aioredis.Redis, keys: Keys, writes: Writes, event_maxlen: int = DEFAULT_EVENT_MAXLEN
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._writes = writes
        self._event_maxlen = event_maxlen
        self._set_meta = redis.register_script(_SET_META)

    async def create(self, record: TaskRecord, events: Sequence[str] = ()) -> None:
        """Store a new task (``created_at`` 0 becomes now); ``SharedMemoryError`` if the id is taken.

        The existence check and the write are one script, so two creators of the same id cannot
        both succeed; ``events`` (``encode_event`` JSON) are appended in it.
        """
        await self._writes.run([self.create_write(record, events)])

    def create_write(self, record: TaskRecord, events: Sequence[str] = ()) -> Write:
        """``create`` as a write, to be made with others (``memory.writes``)."""
        if not record.created_at:
            record.created_at = time.time()
        return self._task_write(record, events, only_if_new=True)

    async def save(self, record: TaskRecord, events: Sequence[str] = ()) -> None:
        """Replace the whole record (e.g. after a replan) and append ``events``, atomically."""
        await self._writes.run([self.save_write(record, events)])

    def save_write(self, record: TaskRecord, events: Sequence[str] = ()) -> Write:
        """``save`` as a write, to be made with others (``memory.writes``)."""
        return self._task_write(record, events, only_if_new=False)

    def _task_write(self, record: TaskRecord, events: Sequence[str], *, only_if_new: bool) -> Write:
        fields = [META, _encode_meta(record)]
        for sub in record.subtasks.values():
            fields += [subtask_field(sub.subtask_id), json.dumps(sub.to_dict())]
        active = TaskState(record.state) not in TERMINAL_TASK_STATES
        keys = [self._keys.task(record.task_id), self._keys.task_index, self._keys.active_tasks, self._keys.events]
        args = [int(only_if_new), record.task_id, repr(float(record.created_at)), int(active), self._event_maxlen,
                len(events), *events, *fields]

        def check(reply: Any) -> None:
            if not reply:
                raise SharedMemoryError(f"task {record.task_id!r} already exists")

        return Write("write_task", keys, args, check)

    async def get(self, task_id: str) -> TaskRecord | None:
        return _decode(await self._redis.hgetall(self._keys.task(task_id)))

    async def state(self, task_id: str) -> TaskState | None:
        meta = await self._redis.hget(self._keys.task(task_id), META)
        return TaskState(json.loads(meta)["state"]) if meta else None

    async def save_subtask(
        self, task_id: str, sub: SubtaskRecord, event: str = "", *, unless_claimed: bool = False
    ) -> bool:
        """Record one subtask and append ``event`` (``encode_event`` JSON) in one step.

        ``unless_claimed``: write nothing and return False when a slaver has already started the
        subtask (it cannot time out in the queue any more). ``SharedMemoryError`` if the task does not exist.
        """
        write = self.subtask_write(task_id, sub, event, unless_claimed=unless_claimed)
        try:
            (written,) = await self._writes.run([write])
        except _Claimed:
            return False
        return bool(written)

    def subtask_write(
        self, task_id: str, sub: SubtaskRecord, event: str = "", *, unless_claimed: bool = False
    ) -> Write:
        """``save_subtask`` as a write, to be made with others (``memory.writes``); a claimed subtask
        (with ``unless_claimed``) refuses it."""
        claim = sub.subtask_id if unless_claimed else ""
        args = [subtask_field(sub.subtask_id), json.dumps(sub.to_dict()), claim, event, self._event_maxlen]
        keys = [self._keys.task(task_id), self._keys.events, self._keys.task_claims(task_id)]

        def check(reply: Any) -> bool:
            if reply == 0:
                raise SharedMemoryError(f"unknown task {task_id!r}: create it before saving subtasks")
            if reply == -1:
                raise _Claimed(f"task {task_id!r} subtask {sub.subtask_id!r} was claimed by a slaver")
            return True

        return Write("save_subtask", keys, args, check)

    async def fence(self, task_id: str, subtask_id: str, lease: str) -> str | None:
        """Why the slaver holding ``lease`` must not take the next step of this subtask (the task
        ended, the master gave the subtask up, another slaver holds it), or None: one round trip.

        A claim that is missing although the subtask is live was lost by Redis (a restart replays
        the append-only file only up to its last fsync): it is recorded again, unless another
        slaver claimed the subtask meanwhile.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._keys.task(task_id), [META, subtask_field(subtask_id)])
            pipe.hget(self._keys.task_claims(task_id), subtask_id)
            (meta, sub), claim = await pipe.execute()
        if meta is None or sub is None:
            return f"task {task_id} or its subtask {subtask_id} is gone from shared memory"
        state = TaskState(json.loads(meta)["state"])
        if state in TERMINAL_TASK_STATES:
            return "task cancelled" if state == TaskState.CANCELLED else f"task already {state}"
        sub_state = SubtaskState(json.loads(sub).get("state", SubtaskState.WAITING))
        if sub_state.terminal:
            return f"the master recorded this subtask as {sub_state}"
        if claim is None and await self._redis.hsetnx(self._keys.task_claims(task_id), subtask_id, lease):
            logger.warning("task %s subtask %s: its claim was lost (Redis restarted?); recorded again", task_id,
                           subtask_id)
            return None
        if claim != lease:
            return "another slaver holds this subtask now"
        return None

    async def set_state(self, task_id: str, state: TaskState, reason: str = "") -> None:
        """Set the task's state; a terminal state sets ``finished_at`` and leaves the active set.

        Optimistic: the meta read is written back only if nobody changed it meanwhile, else it is
        read again (a script compares and sets, which also runs on Redis Cluster, unlike WATCH).
        """
        state = TaskState(state)
        key = self._keys.task(task_id)
        while True:
            read = await self._redis.hget(key, META)
            if read is None:
                raise SharedMemoryError(f"unknown task {task_id!r}")
            meta = json.loads(read)
            meta["state"] = str(state)
            if reason:
                meta["reason"] = reason
            if state in TERMINAL_TASK_STATES:
                meta["finished_at"] = meta.get("finished_at") or time.time()
            outcome = await self._set_meta(
                keys=[key, self._keys.active_tasks],
                args=[read, json.dumps(meta), task_id, int(state not in TERMINAL_TASK_STATES), META],
            )
            if outcome == 0:
                raise SharedMemoryError(f"unknown task {task_id!r}")
            if outcome == 1:
                return
            logger.debug("task %s changed while setting its state; retrying", task_id)

    async def active_ids(self) -> list[str]:
        """Ids of the tasks not in a terminal state, oldest first."""
        ids = sorted(await self._redis.smembers(self._keys.active_tasks))
        if not ids:
            return []
        scores = await self._redis.zmscore(self._keys.task_index, ids)
        return [i for _, i in sorted(zip((s or 0.0 for s in scores), ids, strict=True))]

    async def list(self, limit: int = 50) -> list[TaskRecord]:
        """The ``limit`` most recent tasks, newest first."""
        ids = await self._redis.zrevrange(self._keys.task_index, 0, max(limit, 1) - 1)
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for task_id in ids:
                pipe.hgetall(self._keys.task(task_id))
            rows = await pipe.execute()
        return [r for r in map(_decode, rows) if r is not None]


def _encode_meta(record: TaskRecord) -> str:
    data = record.to_dict()
    del data["subtasks"]
    return json.dumps(data)


def _decode(fields: dict[str, str]) -> TaskRecord | None:
    if not fields or META not in fields:
        return None
    data = json.loads(fields[META])
    subs = [json.loads(v) for k, v in fields.items() if k.startswith(SUB_PREFIX)]
    data["subtasks"] = sorted(subs, key=lambda s: (int(s.get("order", 1)), s["subtask_id"]))
    return TaskRecord.from_dict(data)
