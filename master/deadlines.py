"""Subtask deadlines: a heap the scheduler's loop consults between blocking reads."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

__all__ = ["Deadline", "Deadlines"]


@dataclass(order=True, frozen=True)
class Deadline:
    at: float
    task_id: str = field(compare=False)
    subtask_id: str = field(compare=False)
    dispatched_at: float = field(compare=False)


class Deadlines:
    """Deadlines by time. Entries are never removed early: a stale one is ignored when it expires
    (the scheduler checks that the subtask is still in flight from the same dispatch)."""

    def __init__(self) -> None:
        self._heap: list[Deadline] = []

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, at: float, task_id: str, subtask_id: str, dispatched_at: float) -> None:
        heapq.heappush(self._heap, Deadline(at, task_id, subtask_id, dispatched_at))

    def next_at(self) -> float | None:
        return self._heap[0].at if self._heap else None

    def pop_expired(self, now: float) -> list[Deadline]:
        expired = []
        while self._heap and self._heap[0].at <= now:
            expired.append(heapq.heappop(self._heap))
        return expired
