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
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from memory.errors import SharedMemoryError
from memory.events import DEFAULT_EVENT_MAXLEN
from memory.keys import Keys
from memory.messages import TERMINAL_TASK_STATES, SubtaskState, TaskState
from memory.profiles import SubtaskRecord, TaskRecord

__all__ = ["TaskStore", "subtask_field", "terminal_states_arg"]

logger = logging.getLogger(__name__)

META = "meta"
SUB_PREFIX = "sub:"

# KEYS: task hash, event stream, the task's claims hash. ARGV: subtask field, subtask JSON, subtask
# id to check for a claim ("" = no check), event JSON ("" = none), event maxlen. The subtask and its
# event are written together or not at all. Returns 0 when the task does not exist, -1 when a
# slaver has claimed the subtask (started it: nothing written), else 1.
_SAVE_SUBTASK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'data', ARGV[4])
end
return 1
"""


def subtask_field(subtask_id: str) -> str:
    """The task-hash field holding one subtask's record."""
    return SUB_PREFIX + subtask_id


def terminal_states_arg() -> str:
    """The terminal task states as ``,a,b,c,`` for Lua scripts (``string.find`` on ``,state,``)."""
    return "," + ",".join(sorted(TERMINAL_TASK_STATES)) + ","


class TaskStore:
    """Create, read and update task records."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, event_maxlen: int = DEFAULT_EVENT_MAXLEN) -> None:
        self._redis = redis
        self._keys = keys
        self._event_maxlen = event_maxlen
        self._save_subtask = redis.register_script(_SAVE_SUBTASK)

    async def create(self, record: TaskRecord, events: Sequence[str] = ()) -> None:
        """Store a new task (``created_at`` 0 becomes now); ``SharedMemoryError`` if the id is taken.

        The existence check and the write are one optimistic transaction (WATCH), so two creators
        of the same id cannot both succeed; ``events`` (``encode_event`` JSON) are appended in it.
        """
        key = self._keys.task(record.task_id)
        if not record.created_at:
            record.created_at = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(key)
            if await pipe.exists(key):
                raise SharedMemoryError(f"task {record.task_id!r} already exists")
            pipe.multi()
            self._write(pipe, record, events)
            try:
                await pipe.execute()
            except WatchError:
                raise SharedMemoryError(f"task {record.task_id!r} already exists") from None

    async def save(self, record: TaskRecord, events: Sequence[str] = ()) -> None:
        """Replace the whole record (e.g. after a replan) and append ``events``, atomically."""
        async with self._redis.pipeline(transaction=True) as pipe:
            self._write(pipe, record, events)
            await pipe.execute()

    def _write(self, pipe: Pipeline, record: TaskRecord, events: Sequence[str]) -> None:
        key = self._keys.task(record.task_id)
        fields = {META: _encode_meta(record)}
        fields.update({subtask_field(s.subtask_id): json.dumps(s.to_dict()) for s in record.subtasks.values()})
        pipe.delete(key)
        pipe.hset(key, mapping=fields)
        pipe.zadd(self._keys.task_index, {record.task_id: record.created_at})
        if TaskState(record.state) in TERMINAL_TASK_STATES:
            pipe.srem(self._keys.active_tasks, record.task_id)
        else:
            pipe.sadd(self._keys.active_tasks, record.task_id)
        for event in events:
            pipe.xadd(self._keys.events, {"data": event}, maxlen=self._event_maxlen, approximate=True)

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
        claim = sub.subtask_id if unless_claimed else ""
        args = [subtask_field(sub.subtask_id), json.dumps(sub.to_dict()), claim, event, self._event_maxlen]
        keys = [self._keys.task(task_id), self._keys.events, self._keys.task_claims(task_id)]
        written = await self._save_subtask(keys=keys, args=args)
        if written == 0:
            raise SharedMemoryError(f"unknown task {task_id!r}: create it before saving subtasks")
        return written == 1

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
        """Set the task's state; a terminal state sets ``finished_at`` and leaves the active set."""
        state = TaskState(state)
        key = self._keys.task(task_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    meta = await pipe.hget(key, META)
                    if meta is None:
                        raise SharedMemoryError(f"unknown task {task_id!r}")
                    pipe.multi()
                    self._queue_state(pipe, task_id, json.loads(meta), state, reason)
                    await pipe.execute()
                    return
                except WatchError:
                    logger.debug("task %s changed while setting its state; retrying", task_id)

    def _queue_state(
        self, pipe: Any, task_id: str, meta: dict[str, Any], state: TaskState, reason: str
    ) -> None:
        meta["state"] = str(state)
        if reason:
            meta["reason"] = reason
        if state in TERMINAL_TASK_STATES:
            meta["finished_at"] = meta.get("finished_at") or time.time()
            pipe.srem(self._keys.active_tasks, task_id)
        else:
            pipe.sadd(self._keys.active_tasks, task_id)
        pipe.hset(self._keys.task(task_id), META, json.dumps(meta))

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
