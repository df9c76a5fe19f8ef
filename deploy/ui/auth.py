"""Login with the master's token (once per browser session) and logout."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from deploy.ui.app import new_session, ui

__all__ = ["bp"]

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

MAX_TOKEN_CHARS = 4096


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", error="")
    token = request.form.get("token", "").strip()
    if not token or len(token) > MAX_TOKEN_CHARS or not _token_ok(token):
        logger.info("login refused from %s", request.remote_addr)
        return render_template("login.html", error="The master does not accept this token."), 401
    ui().sessions.drop(g.session.sid)  # a new id after login: a planted session id gains nothing
    g.session = new_session(token)
    logger.info("login from %s", request.remote_addr)
    return redirect(url_for("dashboard.index"), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    ui().sessions.drop(g.session.sid)
    g.session = new_session()
    return redirect(url_for("auth.login"), code=303)


def _token_ok(token: str) -> bool:
    """The UI's own token when it has one (the master's); else the master is asked."""
    expected = ui().settings.token
    if expected:
        return hmac.compare_digest(token.encode(), expected.encode())
    return ui().proxy.token_accepted(token)
