"""What every view shares: the error type, the JSON envelopes, body parsing, the service."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from master.service import MasterService

__all__ = ["APIError", "EXTENSION", "error_response", "json_object", "json_type", "reject_unknown_keys", "service", "success"]

EXTENSION = "roboos_master"


class APIError(Exception):
    """An HTTP error with a message for the client; ``extra`` keys join the envelope."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_response(status: int, message: str, **extra: Any) -> ResponseReturnValue:
    return jsonify({"status": "error", "message": message, **extra}), status


def success(message: str = "ok", status: int = 200, **fields: Any) -> ResponseReturnValue:
    return jsonify({"status": "success", "message": message, **fields}), status


def service() -> MasterService:
    return current_app.extensions[EXTENSION]


def json_object(*, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; 400 naming the problem otherwise.

    ``optional``: an empty body reads as ``{}``. A body over the configured limit is refused
    with 413 before it is read (Flask's ``MAX_CONTENT_LENGTH``).
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise APIError(400, "request body must be a JSON object, got an empty body")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise APIError(400, f"request body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise APIError(400, f"request body must be a JSON object, got {json_type(data)}")
    return data


def reject_unknown_keys(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise APIError(400, f"unknown keys: {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)

