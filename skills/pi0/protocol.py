"""pi0 over FlagScale's HTTP protocol: the request a robot sends and the action chunk it gets back.

FlagScale serves a pi0 policy (``python run.py --config-path ./examples/pi0/conf --config-name serve
action=run``) as a Flask app with one route, ``POST /infer`` (port 5000 by default). Two variants
of the body exist; both are here, and nothing else in RoboOS spells them out:

``flagscale`` (current)
    request ``{"instruction": str, "state": [[...]], "images": [{"observation.images.base_0_rgb": b64,
    "observation.images.left_wrist_0_rgb": b64, "observation.images.right_wrist_0_rgb": b64}]}``;
    only ``images[0]`` is read and a missing camera is padded by the model. Answer
    ``{"success": true, "actions": [[[...]]]}`` of shape [1, horizon, action_dim], unnormalised.
``legacy``
    request ``{"instruction": str, "qpos": [...], "eef_pose": [...], "images": {"cam_high": b64,
    "cam_left_wrist": b64, "cam_right_wrist": b64}}``; answer ``{"qpos": [[...]]}``
    ([horizon, action_dim], or with a batch of one in front).

Errors, in both: 400 and 503 are JSON ``{"success": false, "error": ...}`` (503: the model is not
loaded); an exception inside inference is Flask's HTML 500 page. There is no health route, the
model warms up before the port opens, and nothing serialises requests around the model, so a
client keeps one request in flight per server. ``b64`` is base64 of a JPEG or PNG file.

Cameras are named by role here (``base``, ``left_wrist``, ``right_wrist``); each variant maps a role
to its own key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CAMERA_ROLES",
    "DEFAULT_HORIZON",
    "EMBODIMENTS",
    "VARIANTS",
    "Pi0Embodiment",
    "Pi0ProtocolError",
    "Pi0RequestError",
    "build_request",
    "camera_key",
    "chunk_from_answer",
    "default_embodiment",
    "error_message",
    "images_by_role",
]

VARIANTS = ("flagscale", "legacy")
CAMERA_ROLES = ("base", "left_wrist", "right_wrist")
_CAMERA_KEYS = {
    "flagscale": {role: f"observation.images.{role}_0_rgb" for role in CAMERA_ROLES},
    "legacy": {"base": "cam_high", "left_wrist": "cam_left_wrist", "right_wrist": "cam_right_wrist"},
}
DEFAULT_HORIZON = 50  # pi0's action chunk: 50 steps


class Pi0RequestError(ValueError):
    """A request that cannot be sent as it is (the caller's input): the message says what to fix."""


class Pi0ProtocolError(ValueError):
    """An answer that does not follow the protocol or does not fit the embodiment."""


@dataclass(frozen=True)
class Pi0Embodiment:
    """What a pi0 checkpoint was trained on: joint state and action sizes, and its cameras."""

    name: str
    state_dim: int
    action_dim: int
    cameras: tuple[str, ...] = CAMERA_ROLES  # roles, in the order a robot lists them
    description: str = ""


EMBODIMENTS = {
    "aloha": Pi0Embodiment("aloha", 14, 14, CAMERA_ROLES,
                           "two 6-joint arms with a gripper each (joints, gripper per arm); three cameras"),
    "franka": Pi0Embodiment("franka", 8, 8, ("base", "right_wrist"),
                            "one 7-joint arm and its gripper; a third-person and a wrist camera"),
}


def default_embodiment(grippers: int) -> str:
    """The pi0 embodiment for a body with ``grippers``: aloha for two or more, franka for one."""
    return "aloha" if grippers >= 2 else "franka"


def camera_key(variant: str, role: str) -> str:
    """The wire key of a camera role in ``variant``."""
    return _CAMERA_KEYS[_variant(variant)][role]


def images_by_role(images: dict[str, str], variant: str) -> dict[str, str]:
    """``images`` keyed by role; a key may be a role or the variant's own key for it."""
    if not isinstance(images, dict):
        raise Pi0RequestError(f"images must be an object of camera -> base64 JPEG/PNG file, one or more of "
                              f"{', '.join(CAMERA_ROLES)}")
    keys = _CAMERA_KEYS[_variant(variant)]
    by_key = {key: role for role, key in keys.items()}
    chosen: dict[str, str] = {}
    for name, data in images.items():
        role = name if name in keys else by_key.get(name)
        if role is None:
            raise Pi0RequestError(f"unknown camera {name!r}: expected one of {', '.join(CAMERA_ROLES)} "
                                  f"(or {', '.join(keys.values())})")
        if not isinstance(data, str) or not data:
            raise Pi0RequestError(f"camera {name!r}: expected base64 of a JPEG or PNG file, got {type(data).__name__}")
        if role in chosen:
            raise Pi0RequestError(f"camera {role!r} given twice (as {role!r} and as {keys[role]!r})")
        chosen[role] = data
    if not chosen:
        raise Pi0RequestError("at least one camera image is needed (the model pads the missing ones)")
    return chosen


def build_request(variant: str, embodiment: Pi0Embodiment, instruction: str, images: dict[str, str],
                  state: list[float], eef_pose: list[float] | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /infer`` in ``variant``; ``Pi0RequestError`` for input that cannot be sent."""
    variant = _variant(variant)
    if not isinstance(instruction, str) or not instruction.strip():
        raise Pi0RequestError("instruction must be a non-empty string")
    joints = _vector("state", state, embodiment.state_dim, embodiment.name)
    cameras = images_by_role(images, variant)
    keys = _CAMERA_KEYS[variant]
    if variant == "flagscale":
        return {"instruction": instruction, "state": [joints],
                "images": [{keys[role]: data for role, data in cameras.items()}]}
    body: dict[str, Any] = {"instruction": instruction, "qpos": joints,
                            "images": {keys[role]: data for role, data in cameras.items()}}
    if eef_pose is not None:
        body["eef_pose"] = _vector("eef_pose", eef_pose, None, embodiment.name)
    return body


def chunk_from_answer(variant: str, embodiment: Pi0Embodiment, answer: Any,
                      horizon: int = DEFAULT_HORIZON) -> list[list[float]]:
    """The action chunk of a 200 answer, as ``horizon`` rows of ``action_dim`` finite floats.

    ``Pi0ProtocolError`` names what is wrong: not an object, ``success`` false, the field missing,
    a ragged or wrongly sized chunk, a value that is not a finite number.
    """
    variant = _variant(variant)
    field = "actions" if variant == "flagscale" else "qpos"
    if not isinstance(answer, dict):
        raise Pi0ProtocolError(f"expected a JSON object with {field!r}, got {type(answer).__name__}")
    if answer.get("success") is False:
        raise Pi0ProtocolError(f"the server answered success: false: {error_message(answer)}")
    if field not in answer:
        raise Pi0ProtocolError(f"the answer has no {field!r} (keys: {', '.join(sorted(answer)) or 'none'}); "
                               f"is the server speaking the {_other(variant)} variant?")
    rows = answer[field]
    if isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], list) and rows[0] \
            and isinstance(rows[0][0], list):
        rows = rows[0]  # a batch of one
    expected = f"[{horizon}, {embodiment.action_dim}] ({embodiment.name})"
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise Pi0ProtocolError(f"{field!r} is not a list of action rows; expected shape {expected}")
    widths = sorted({len(row) for row in rows})
    if len(rows) != horizon or widths != [embodiment.action_dim]:
        raise Pi0ProtocolError(f"{field!r} has shape [{len(rows)}, {'/'.join(map(str, widths)) or 0}], "
                               f"expected {expected}")
    chunk = []
    for t, row in enumerate(rows):
        if not all(_finite(v) for v in row):
            raise Pi0ProtocolError(f"{field!r} row {t} holds a value that is not a finite number")
        chunk.append([float(v) for v in row])
    return chunk


def error_message(answer: Any) -> str:
    """The ``error`` of a JSON error answer, or a short rendering of what came."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        return answer["error"]
    text = str(answer)
    return text if len(text) <= 200 else text[:200] + "..."


def _variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise Pi0RequestError(f"unknown protocol variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    return variant


def _other(variant: str) -> str:
    return next(v for v in VARIANTS if v != variant)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _vector(name: str, values: Any, size: int | None, embodiment: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise Pi0RequestError(f"{name} must be a non-empty list of numbers")
    if size is not None and len(values) != size:
        raise Pi0RequestError(f"{name} has {len(values)} values, the {embodiment} embodiment has {size}")
    if not all(_finite(v) for v in values):
        raise Pi0RequestError(f"{name} must hold finite numbers only")
    return [float(v) for v in values]
