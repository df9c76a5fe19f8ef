"""The slaver's connection to its robot's skill server, reopened after the server goes away.

An MCP client is an async context manager whose task group must be entered and exited by the
same task, so one holder task owns each connection for its whole life: the slaver borrows the
connected ``SkillClient`` and asks the link to ``reset()`` it when a call finds the server gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from skills.client import SkillClient
from slaver.config import SlaverConfig
from slaver.errors import SkillServerUnreachable, SlaverConfigError

__all__ = ["SkillLink"]

logger = logging.getLogger(__name__)

Opener = Callable[[], AbstractAsyncContextManager[SkillClient]]


class SkillLink:
    """Opens the skill server on first use and again after ``reset()``."""

    def __init__(self, opener: Opener | None, endpoint: str, connect_timeout_s: float = 15.0) -> None:
        self.endpoint = endpoint
        self._opener = opener
        self._connect_timeout_s = connect_timeout_s
        self._client: SkillClient | None = None
        self._holder: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    @classmethod
    def from_config(cls, config: SlaverConfig) -> SkillLink:
        """A link to ``config.skill_url`` over HTTP, or to ``config.skill_command`` over stdio."""
        timeout_s = config.connect_timeout_s
        if not (config.skill_url or config.skill_command):
            raise SlaverConfigError(f"robot {config.robot!r} has no skill server: set skill_command or skill_url")
        if config.skill_url:
            url = config.skill_url
            opener: Opener = lambda: SkillClient.http(url, connect_timeout_s=timeout_s)  # noqa: E731
        else:
            # The spawned server inherits this environment (PYTHONPATH, ROBOOS_* settings).
            argv, env = list(config.skill_command), dict(os.environ)
            opener = lambda: SkillClient.stdio(argv, env, connect_timeout_s=timeout_s)  # noqa: E731
        return cls(opener, config.skill_endpoint, timeout_s)

    @classmethod
    def fixed(cls, client: SkillClient) -> SkillLink:
        """A link around a client the caller opened and will close; it is never reopened."""
        link = cls(None, client.endpoint)
        link._client = client
        return link

    async def client(self) -> SkillClient:
        """The connected client, connecting first when there is none."""
        if self._client is not None and (self._holder is None or not self._holder.done()):
            return self._client
        if self._opener is None:
            raise SkillServerUnreachable(f"the skill client for {self.endpoint} is closed")
        await self.reset()
        return await self._open()

    async def reset(self) -> None:
        """Close the current connection (after the server went away); the next use reopens it."""
        if self._opener is None or self._holder is None:
            return
        holder, connected = self._holder, self._client is not None
        self._holder, self._client = None, None
        self._closing.set()
        if not connected:
            holder.cancel()
        try:
            await asyncio.wait_for(holder, self._connect_timeout_s)
        except (Exception, asyncio.CancelledError) as exc:  # a dead connection may fail to close
            logger.debug("closed the skill connection to %s: %r", self.endpoint, exc)

    async def aclose(self) -> None:
        await self.reset()

    async def _open(self) -> SkillClient:
        assert self._opener is not None
        self._closing = asyncio.Event()
        ready: asyncio.Future[SkillClient] = asyncio.get_running_loop().create_future()
        self._holder = asyncio.create_task(self._hold(self._opener, ready, self._closing))
        try:
            client = await asyncio.wait_for(asyncio.shield(ready), self._connect_timeout_s)
        except Exception as exc:
            ready.cancel()
            await self.reset()
            raise SkillServerUnreachable(
                f"cannot reach the skill server at {self.endpoint} ({_why(exc, self._connect_timeout_s)}); "
                "check that it is running and that its address or command is right"
            ) from exc
        self._client = client
        logger.info("connected to skill server %s", self.endpoint)
        return client

    async def _hold(self, opener: Opener, ready: asyncio.Future[SkillClient], closing: asyncio.Event) -> None:
        try:
            async with opener() as client:
                if ready.done():  # the slaver stopped waiting for this connection
                    return
                ready.set_result(client)
                await closing.wait()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
            elif not closing.is_set():
                logger.warning("skill server connection %s ended: %r", self.endpoint, exc)


def _why(exc: Exception, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout_s} s"
    return f"{type(exc).__name__}: {exc}"
