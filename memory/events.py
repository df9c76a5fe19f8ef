"""The event history: a capped stream of timestamped events, the spatiotemporal record.

Each stream entry holds the event as JSON under the field ``data`` (``{"ts", "kind", "robot",
"task_id", "data"}``); scene changes add the scene ``version`` they produced as a second field.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import redis.asyncio as aioredis

from memory.keys import Keys

__all__ = ["DEFAULT_EVENT_MAXLEN", "SINCE_FUNCTION", "Event", "EventLog", "Since", "encode_event", "since_of",
           "stream_id_key"]

logger = logging.getLogger(__name__)

DEFAULT_EVENT_MAXLEN = 10_000
# Events are kept in stream order; one second of slack covers clock skew between a writer's ts
# and the Redis server's clock (stream ids) when replaying up to a time.
_CLOCK_SLACK_MS = 1_000

# KEYS: the event stream, the scene version. ARGV: the id read up to, the most entries to return.
# Returns {the scene version now, 1 when the entry with that id is still there ("0-0", the start,
# always is) else 0, the entries after it}. The history is trimmed oldest first, so while that entry
# is there nothing after it is lost. (Asking for the oldest entry instead would send it whole: often
# the scene_loaded event with every node.) The version is read in the same step as the entries: every
# scene change up to it is in the history.
SINCE_FUNCTION = """
local function since(events, version_key, last_id, count)
  local version = redis.call('GET', version_key) or '0'
  local there = last_id == '0-0' or #redis.call('XRANGE', events, last_id, last_id) > 0
  local reply = redis.call('XREAD', 'COUNT', count, 'STREAMS', events, last_id)
  return {version, there and 1 or 0, reply and reply[1][2] or {}}
end
"""
_SINCE = SINCE_FUNCTION + "return since(KEYS[1], KEYS[2], ARGV[1], ARGV[2])"

# KEYS: the event stream. Returns the newest entry's id ("0-0" when empty), and only the id.
_NEWEST_ID = """
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return newest[1] and newest[1][1] or '0-0'
"""


def encode_event(
    kind: str, *, robot: str | None = None, task_id: str | None = None, ts: float | None = None, **data: Any
) -> str:
    """The JSON stored under ``data`` in a stream entry (also used by Lua scripts that append events)."""
    ts = time.time() if ts is None else ts
    return json.dumps({"ts": ts, "kind": kind, "robot": robot, "task_id": task_id, "data": data})


@dataclass
class Event:
    """One entry of the event history."""

    id: str
    ts: float
    kind: str
    robot: str | None = None
    task_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts,
            "kind": self.kind,
            "robot": self.robot,
            "task_id": self.task_id,
            "data": dict(self.data),
        }

    @classmethod
    def from_entry(cls, entry_id: str, fields: dict[str, str] | None) -> Event | None:
        """Parse a stream entry; None (and a warning) when it is not an event."""
        try:
            raw = json.loads((fields or {})["data"])
            data = dict(raw.get("data") or {})
            if "version" in (fields or {}):
                data["version"] = int(fields["version"])
            return cls(
                id=entry_id,
                ts=float(raw["ts"]),
                kind=str(raw["kind"]),
                robot=raw.get("robot"),
                task_id=raw.get("task_id"),
                data=data,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            logger.warning("skipping malformed event %s: %r", entry_id, e)
            return None


class Since(NamedTuple):
    """What ``EventLog.since`` read: the events, the id to read on from, whether the history was
    trimmed past the id read from (events were lost to the reader), and the scene version at the
    time of the read (a reader that applied every scene change read so far is at least there)."""

    events: list[Event]
    next_id: str
    trimmed: bool
    scene_version: int


class EventLog:
    """Append, read back and follow the event history; answer where a node was at a time."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, maxlen: int = DEFAULT_EVENT_MAXLEN) -> None:
        self._redis = redis
        self._keys = keys
        self.maxlen = maxlen
        self._since = redis.register_script(_SINCE)
        self._newest_id = redis.register_script(_NEWEST_ID)

    @property
    def key(self) -> str:
        return self._keys.events

    async def append(
        self, kind: str, *, robot: str | None = None, task_id: str | None = None, **data: Any
    ) -> str:
        """Append one event; returns its stream id."""
        payload = encode_event(kind, robot=robot, task_id=task_id, **data)
        return await self._redis.xadd(self.key, {"data": payload}, maxlen=self.maxlen, approximate=True)

    async def recent(self, count: int = 100) -> list[Event]:
        """The last ``count`` events, oldest first."""
        entries = await self._redis.xrevrange(self.key, count=count)
        return _parse(reversed(entries))

    async def after(self, last_id: str, block_ms: int, count: int = 100) -> list[Event]:
        """Events after ``last_id`` (``"$"``: only new ones), waiting up to ``block_ms`` (0: no wait)."""
        block = block_ms if block_ms > 0 else None
        reply = await self._redis.xread({self.key: last_id}, count=count, block=block)
        if not reply:
            return []
        return _parse(reply[0][1])

    async def since(self, last_id: str, count: int) -> Since:
        """Up to ``count`` events after ``last_id`` without waiting, in one step (see ``Since``); the
        entry ``last_id`` gone means trimmed; ``"0-0"``, the start of the history, never is."""
        return since_of(await self._since(keys=[self.key, self._keys.scene_version], args=[last_id, count]), last_id)

    async def newest_id(self) -> str:
        """The id of the newest event, ``"0-0"`` when there is none (to read on from with ``since``).
        Only the id comes back: the newest entry may be a scene_loaded event holding every node, and
        the idle event feed asks ten times a second."""
        return await self._newest_id(keys=[self.key])

    async def location_at(self, node: str, ts: float) -> str | None:
        """The parent ``node`` had at time ``ts``, replayed from the history (None: unknown/absent)."""
        end = str(int(ts * 1000) + _CLOCK_SLACK_MS)
        parent: str | None = None
        for event in _parse(await self._redis.xrange(self.key, min="-", max=end)):
            if event.ts <= ts:
                parent = _parent_after(event, node, parent)
        return parent


def since_of(reply: list[Any], last_id: str) -> Since:
    """``Since`` from the reply of the ``since`` Lua function (``SINCE_FUNCTION``) read after ``last_id``."""
    version, there, raw = reply
    entries = [(entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in raw]
    return Since(_parse(entries), entries[-1][0] if entries else last_id, not there, int(version))


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """A Redis stream id (``ms-seq`` or ``ms``) as a sortable pair."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _parse(entries: Any) -> list[Event]:
    events = (Event.from_entry(entry_id, fields) for entry_id, fields in entries)
    return [e for e in events if e is not None]


def _parent_after(event: Event, node: str, parent: str | None) -> str | None:
    """The node's parent once ``event`` has happened, given its parent before."""
    if event.kind == "scene_loaded":
        found = [n for n in event.data.get("nodes") or [] if n.get("name") == node]
        return found[0].get("parent") if found else None
    if event.kind == "effects":
        for effect in event.data.get("effects") or []:
            if effect.get("op") == "move" and effect.get("node") == node:
                parent = effect.get("parent")
        return parent
    created = event.data.get("node")
    if event.kind == "robot_registered" and isinstance(created, dict) and created.get("name") == node:
        return created.get("parent")
    return parent
