"""What every view shares: the error type, the JSON envelopes, body and query parsing, the service."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from master.service import MasterService

__all__ = [
    "APIError", "EXTENSION", "error_response", "json_object", "json_type", "query_int", "reject_unknown_keys",
    "service", "success",
]

EXTENSION = "roboos_master"
ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


class APIError(Exception):
    """An HTTP error with a message for the client; ``extra`` keys join the envelope."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None,
                   **extra: Any) -> ResponseReturnValue:
    body = jsonify({"status": "error", "message": message, **extra})
    body.headers.update(headers or {})
    return body, status


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
    except RecursionError:
        raise APIError(400, "request body is nested too deeply to be a task request") from None
    if not isinstance(data, dict):
        raise APIError(400, f"request body must be a JSON object, got {json_type(data)}")
    return data


def query_int(name: str, default: int, low: int, high: int) -> int:
    """The query parameter ``name`` as an integer from ``low`` to ``high``; 400 otherwise.

    Only ASCII digits count: Python's ``int()`` also takes other scripts' digits and ``str.isdigit``
    takes superscripts it cannot parse.
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    significant = raw.lstrip("0") or "0"
    if not ASCII_DIGITS.fullmatch(raw) or len(significant) > len(str(high)) or not low <= int(significant) <= high:
        raise APIError(400, f"'{name}' must be an integer from {low} to {high} in ASCII digits, got {raw!r}")
    return int(significant)


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

