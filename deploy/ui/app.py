"""``create_ui_app(settings)``: the UI's Flask app, with sessions, login, CSRF and security headers.

Every request gets a server-side session (``sessions.py``); every state-changing request must
carry that session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``), else 403.
When the master has a token (or the UI was given one), a session must log in with it first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from flask import Flask, current_app, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from deploy.ui.master_proxy import MasterProxy, MasterUnavailable
from deploy.ui.sessions import COOKIE, Session, SessionStore
from deploy.ui.settings import UISettings

__all__ = ["UIContext", "create_ui_app", "ui"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_ENDPOINTS = frozenset({"static", "health", "auth.login"})  # reachable before logging in
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass
class UIContext:
    settings: UISettings
    proxy: MasterProxy
    sessions: SessionStore

    def login_required(self) -> bool:
        """With a token in play, browsers log in. A master we cannot reach yet: the UI holds no token to guard."""
        if self.settings.token:
            return True
        try:
            return self.proxy.requires_token()
        except MasterUnavailable:
            return False


def ui() -> UIContext:
    return current_app.extensions["roboos_ui"]


def create_ui_app(settings: UISettings, *, transport: httpx.BaseTransport | None = None) -> Flask:
    """The UI for ``settings``; ``transport`` replaces the HTTP transport to the master (tests)."""
    from deploy.ui import auth, dashboard, launch, relay, setup

    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.json.sort_keys = False
    app.extensions["roboos_ui"] = UIContext(settings, MasterProxy(settings, transport),
                                            SessionStore(settings.max_sessions, settings.session_idle_s))
    for blueprint in (auth.bp, dashboard.bp, launch.bp, relay.bp, setup.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/health", "health", lambda: {"status": "ok"})
    app.before_request(_guard)
    app.after_request(_finish)
    _register_error_handlers(app)
    return app


def _guard() -> ResponseReturnValue | None:
    """Host check, session, CSRF, login: in that order."""
    context = ui()
    if context.settings.loopback and _hostname(request.host) not in LOOPBACK_NAMES:
        return _refuse(403, f"this UI answers only to loopback host names, not {request.host!r}")
    if request.endpoint in ("static", "health"):
        return None
    g.session = context.sessions.get(request.cookies.get(COOKIE)) or new_session()
    if request.method not in SAFE_METHODS and not g.session.csrf_matches(_csrf_given()):
        return _refuse(403, "missing or wrong CSRF token; reload the page and try again")
    if request.endpoint not in OPEN_ENDPOINTS and g.session.token is None and context.login_required():
        if request.path.startswith("/api/"):
            return _refuse(401, "log in first: the master needs its token")
        return redirect(url_for("auth.login"))
    return None


def new_session(token: str | None = None) -> Session:
    """A fresh session for this browser (its cookie is set when the response leaves)."""
    session = ui().sessions.new(token)
    g.session_cookie = session.sid
    return session


def _csrf_given() -> str | None:
    return request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")


def _finish(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    sid = g.pop("session_cookie", None)
    if sid is not None:
        response.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", secure=request.is_secure, path="/")
    return response


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _refuse(status: int, message: str) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        return jsonify(status="error", message=message), status
    return render_template("error.html", status=status, message=message), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(MasterUnavailable)
    def master_unavailable(e: MasterUnavailable) -> ResponseReturnValue:
        logger.warning("%s", e)
        return _refuse(502, str(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> ResponseReturnValue:
        return _refuse(e.code or 500, e.description or e.name)
