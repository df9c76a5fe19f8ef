"""Errors raised by the shared memory."""

from __future__ import annotations

from redis.exceptions import ClusterDownError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["REDIS_UNREACHABLE", "UNREACHABLE", "SceneConflict", "SharedMemoryError"]

# What a Redis call raises while Redis cannot answer: down, restarting or loading its data, or on a
# cluster the node that serves the deployment's slot not serving it yet ("CLUSTERDOWN", "TRYAGAIN",
# answered as errors, not as lost connections). Worth waiting for and trying again.
REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ClusterDownError, TryAgainError)
UNREACHABLE = (*REDIS_UNREACHABLE, OSError)  # and the socket under it


class SharedMemoryError(Exception):
    """Shared memory is unreachable, or a record it was asked about does not exist."""


class SceneConflict(SharedMemoryError):
    """A scene change was refused because a guard failed; nothing was applied."""
