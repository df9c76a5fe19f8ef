"""Writes to task records and work streams, several in one round trip.

Each write is a call of a Lua function (``save_subtask``, ``write_task``, ``dispatch``: defined
beside the structure they write, in ``memory.tasks`` and ``memory.streams``) with its keys and
arguments, and a ``check`` that turns the function's reply into the Python result or raises. One
script holds every such function and runs a list of writes in order, in one EVALSHA: one write
alone, or the writes a master step makes (a subtask's result saved and the next subtask
dispatched), which then cost one round trip instead of one each.

Each function returns ``ok, reply``; the first write that is not ok (e.g. its task does not exist)
stops the list there: the writes before it were made, none after it. The script is not a
transaction: Redis does not roll back what ran before the refusal.

    writes = Writes(redis, {**TASK_WRITES, **STREAM_WRITES})
    saved, entry_id = await writes.run([tasks.subtask_write(...), streams.dispatch_write(...)])

Every key of a deployment shares one hash slot (``memory.keys``), so a list of writes runs on a
Redis Cluster unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from memory.errors import SharedMemoryError

__all__ = ["Write", "WriteRefused", "Writes"]

# ARGV: the number of writes, then per write: its function's name, its key count, its argument
# count, its arguments; KEYS: every write's keys in order. Returns {writes made, reply 1, ...}: a
# refused write's reply comes last.
_RUN = """
local out = {0}
local k, a = 1, 2
for i = 1, tonumber(ARGV[1]) do
  local name, nk, na = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local keys, args = {}, {}
  for j = 1, nk do keys[j] = KEYS[k + j - 1] end
  for j = 1, na do args[j] = ARGV[a + 2 + j] end
  k, a = k + nk, a + 3 + na
  local ok, reply = writes[name](keys, args)
  out[i + 1] = reply
  if not ok then return out end
  out[1] = i
end
return out
"""


@dataclass(frozen=True)
class Write:
    """One call of a write function: ``check(reply)`` is its result, or raises."""

    function: str
    keys: list[str]
    args: list[Any]
    check: Callable[[Any], Any] = field(compare=False)


class WriteRefused(SharedMemoryError):
    """A write was refused and its ``check`` returned ``result`` rather than raise; the writes
    after it were not made."""

    def __init__(self, write: Write, result: Any, not_made: int) -> None:
        super().__init__(f"{write.function} was refused ({result!r}); {not_made} writes after it were not made")
        self.write = write
        self.result = result


class Writes:
    """Runs lists of writes, each list in one script call."""

    def __init__(self, redis: aioredis.Redis, functions: Mapping[str, str]) -> None:
        """``functions``: name -> the Lua source defining ``local function <name>(keys, args)``."""
        table = ", ".join(f"{name} = {name}" for name in functions)
        source = "".join(functions.values()) + f"local writes = {{{table}}}\n" + _RUN
        self._script = redis.register_script(source)
        self._functions = frozenset(functions)

    async def run(self, writes: Sequence[Write]) -> list[Any]:
        """Make ``writes`` in order, in one round trip; their results, in order.

        A refused write raises its ``check``'s error (the writes before it were made); one whose
        check returns instead raises ``WriteRefused`` with that result, for the writes after it were not made.
        """
        if not writes:
            return []
        keys: list[str] = []
        args: list[Any] = [len(writes)]
        for write in writes:
            if write.function not in self._functions:
                raise SharedMemoryError(f"no write function {write.function!r}")
            keys += write.keys
            args += [write.function, len(write.keys), len(write.args), *write.args]
        made, *replies = await self._script(keys=keys, args=args)
        results = [write.check(reply) for write, reply in zip(writes, replies, strict=False)]
        if int(made) < len(writes):
            raise WriteRefused(writes[int(made)], results[-1], len(writes) - int(made) - 1)
        return results
