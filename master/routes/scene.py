"""The scene graph as one consistent snapshot."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from master.api import service, success

__all__ = ["bp"]

bp = Blueprint("scene", __name__)


@bp.get("/scene")
def scene() -> ResponseReturnValue:
    svc = service()
    snapshot = svc.call(svc.memory.scene.snapshot())
    return success(f"scene version {snapshot.version}", data=snapshot.to_dict())
