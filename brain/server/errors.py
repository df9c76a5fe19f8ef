"""Errors of `roboos brain serve`: loading a model, and requests answered with an OpenAI error."""

from __future__ import annotations

from brain.errors import BrainError

__all__ = ["APIError", "ModelLoadError", "ServerError"]


class ServerError(BrainError):
    """Root of the local model server's errors."""


class ModelLoadError(ServerError):
    """The model could not be found or loaded; the message says what to install or pass."""


class APIError(ServerError):
    """A request the server answers with an OpenAI-style error envelope and an HTTP status."""

    def __init__(self, message: str, *, status: int = 400, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind
        self.param = param
        self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
