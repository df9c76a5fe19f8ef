"""Errors raised by the shared memory."""

from __future__ import annotations

__all__ = ["SceneConflict", "SharedMemoryError"]


class SharedMemoryError(Exception):
    """Shared memory is unreachable, or a record it was asked about does not exist."""


class SceneConflict(SharedMemoryError):
    """A scene change was refused because a guard failed; nothing was applied."""
