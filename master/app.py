"""The master's Flask app: ``create_app(service)`` wires blueprints, auth and error handlers.

Every error leaves as ``{"status": "error", "message": ...}`` with the right status code; a
malformed request is a 4xx, never a 500.
"""

from __future__ import annotations

import hmac
import logging

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from master.api import EXTENSION, APIError, error_response, service
from master.config import ANY_ORIGIN
from master.errors import (
    BridgeTimeout,
    InvalidPlan,
    MasterError,
    MemoryUnavailable,
    PlanTimeout,
    TaskConflict,
    TaskNotFound,
)
from master.routes import BLUEPRINTS
from master.service import BUSY_RETRY_AFTER_S, MasterService

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_RUNNING_RETRY_AFTER_S = 5
CORS_ALLOW = {  # what a preflight from an allowed origin is told
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Last-Event-ID",
    "Access-Control-Max-Age": "600",
}
CORS_EXPOSE = "Retry-After, WWW-Authenticate"  # headers a page's script may read beyond the safelisted ones


def create_app(service: MasterService) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = service.config.max_body_bytes
    app.json.sort_keys = False
    app.extensions[EXTENSION] = service
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.before_request(_require_token)
    app.after_request(_allow_origin)
    _register_error_handlers(app)
    return app


def _require_token() -> ResponseReturnValue | None:
    """With a configured token, state-changing requests need ``Authorization: Bearer <token>``.

    A request that matches no route keeps its 404 or 405: ``PUT /tasks`` is not allowed for anyone.
    """
    expected = service().config.auth_token
    if expected is None or request.method not in STATE_CHANGING or request.routing_exception is not None:
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        body, status = error_response(401, "this endpoint needs 'Authorization: Bearer <token>' with the master's token")
        body.headers["WWW-Authenticate"] = "Bearer"
        return body, status
    return None


def _allow_origin(response: Response) -> Response:
    """CORS: a request from a configured origin (``cors_origins``) may read the answer, errors too.

    Flask answers ``OPTIONS`` on every route (200 with ``Allow``); a preflight from an allowed
    origin also gets the methods and headers it may use. Other origins get no CORS headers, so the
    browser keeps their scripts from reading the answer.
    """
    allowed = service().config.cors_origins
    if allowed and ANY_ORIGIN not in allowed:
        response.vary.add("Origin")  # the answer differs by origin: caches must keep them apart
    origin = request.headers.get("Origin")
    if origin is None or not (ANY_ORIGIN in allowed or origin in allowed):
        return response
    response.headers["Access-Control-Allow-Origin"] = ANY_ORIGIN if ANY_ORIGIN in allowed else origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers.update(CORS_ALLOW)
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def api_error(e: APIError) -> ResponseReturnValue:
        return error_response(e.status, e.message, e.headers, **e.extra)

    @app.errorhandler(MasterError)
    def master_error(e: MasterError) -> ResponseReturnValue:
        return _master_error(e)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(e: RequestEntityTooLarge) -> ResponseReturnValue:
        limit = app.config["MAX_CONTENT_LENGTH"]
        return error_response(413, f"request body is larger than the limit of {limit} bytes")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> ResponseReturnValue:
        body, status = error_response(e.code or 500, _http_message(e))
        for name, value in e.get_headers():
            if name.lower() == "allow":
                body.headers[name] = value
        return body, status

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> ResponseReturnValue:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, f"internal error ({type(e).__name__}); the master's log has the details")


def _master_error(e: MasterError) -> ResponseReturnValue:
    if isinstance(e, TaskNotFound):
        return error_response(404, str(e))
    if isinstance(e, TaskConflict):
        return error_response(409, str(e))
    if isinstance(e, InvalidPlan):
        return error_response(422, str(e), task_id=e.task_id, errors=e.errors)
    if isinstance(e, PlanTimeout):
        return error_response(504, str(e), task_id=e.task_id)
    if isinstance(e, BridgeTimeout):  # the loop is overloaded: the same answer as a busy pool (and /health)
        return error_response(503, str(e), {"Retry-After": str(BUSY_RETRY_AFTER_S)}, redis="busy")
    if isinstance(e, MemoryUnavailable):
        return error_response(503, str(e), {"Retry-After": str(e.retry_after_s)}, redis=e.redis_state)
    return error_response(503, str(e), {"Retry-After": str(NOT_RUNNING_RETRY_AFTER_S)})


def _http_message(e: HTTPException) -> str:
    if e.code == 404:
        return f"no such endpoint: {request.method} {request.path}"
    if e.code == 405:
        return f"method {request.method} is not allowed on {request.path}"
    return e.description or e.name
