"""`roboos brain serve`: an OpenAI-compatible server for local transformers models.

Importing this package loads no model and no torch; `LocalModel.load` does.
"""

from brain.server.app import create_app
from brain.server.errors import APIError, ModelLoadError, ServerError
from brain.server.model import DEFAULT_MODEL_NAME, LocalModel
from brain.server.process import ServerProcess

__all__ = [
    "APIError", "DEFAULT_MODEL_NAME", "LocalModel", "ModelLoadError", "ServerError", "ServerProcess", "create_app",
]
