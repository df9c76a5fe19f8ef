"""Server-side browser sessions: a random id in a cookie, the master's token and the CSRF token here.

The cookie holds only the session id (unguessable, so it needs no signature); the token a user
typed at login never leaves this process. The store is bounded: idle sessions expire, and the
oldest goes when it is full.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["COOKIE", "Session", "SessionStore"]

COOKIE = "roboos_ui_session"


@dataclass
class Session:
    sid: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token: str | None = None  # the master's token once this browser logged in
    seen: float = field(default_factory=time.monotonic)

    def csrf_matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf.encode())


class SessionStore:
    def __init__(self, max_sessions: int, idle_s: float) -> None:
        self.max_sessions = max_sessions
        self.idle_s = idle_s
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sid: str | None) -> Session | None:
        """The live session ``sid``, marked as used now; None when unknown or expired."""
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(sid or "")
            if session is None or now - session.seen > self.idle_s:
                self._sessions.pop(sid or "", None)
                return None
            session.seen = now
            self._sessions.move_to_end(session.sid)
            return session

    def new(self, token: str | None = None) -> Session:
        session = Session(secrets.token_urlsafe(32), token=token)
        with self._lock:
            self._sessions[session.sid] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return session

    def drop(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def __len__(self) -> int:
        return len(self._sessions)
