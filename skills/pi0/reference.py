"""A reference pi0-protocol server: FlagScale's ``POST /infer`` with a small scripted policy inside.

For tests, demos and benchmarks where no GPU and no pi0 checkpoint are at hand. It speaks the
protocol of ``skills.pi0.protocol`` as FlagScale's server does: JSON 400 for a bad request (no
JSON, no state, no instruction, an image that does not decode, none of the configured cameras),
JSON 503 while no policy is loaded, an exception inside the policy as an HTML 500 page, no health
route, and the policy warmed up before the port opens. It adds one response header,
``X-Model-Time`` (seconds in the policy), which clients may ignore.

The policy (:class:`ScriptedPolicy`) is deterministic and smooth: from the current joint state it
approaches a target set by the instruction, nudged by the base camera's brightness, closing the
same fraction of the distance every step (95 % over the chunk). That makes it consistent over time
like a well-trained policy: asked again from a state its last chunk led to, it continues that
chunk. A state with a value that is not finite makes it raise (the way to get the HTML 500).
``model_time_s`` makes each inference take at least that long, to stand in for a real model.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import Flask, Response, jsonify, request

from skills.images import decode_image_file
from skills.pi0.client import INFER_PATH, MODEL_TIME_HEADER
from skills.pi0.protocol import DEFAULT_HORIZON, Pi0Embodiment, camera_key

__all__ = ["ScriptedPolicy", "create_reference_app"]

logger = logging.getLogger(__name__)

TARGET_RANGE = 0.8  # joint targets lie in [-0.8, 0.8]
BRIGHTNESS_GAIN = 0.2  # how far the base camera's mean brightness moves the target
CLOSED_OVER_CHUNK = 0.95  # the share of the distance to the target a chunk covers


@dataclass
class ScriptedPolicy:
    """A smooth, deterministic stand-in for pi0: (instruction, images, state) -> horizon x action_dim."""

    embodiment: Pi0Embodiment
    horizon: int = DEFAULT_HORIZON
    model_time_s: float = 0.0

    def act(self, instruction: str, images: dict[str, Any], state: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        dim = self.embodiment.action_dim
        state = np.asarray(state, dtype=np.float64).reshape(-1)
        if not np.isfinite(state).all():
            raise ValueError("the state holds a value that is not finite")
        start = np.zeros(dim)
        start[:min(dim, state.size)] = state[:dim]
        target = self.target(instruction) + BRIGHTNESS_GAIN * (_brightness(images.get("base")) - 0.5)
        keep = (1.0 - CLOSED_OVER_CHUNK) ** (1.0 / self.horizon)  # the share of the distance left after a step
        left = keep ** np.arange(1, self.horizon + 1)[:, None]
        chunk = target + (start - target) * left
        remaining_s = self.model_time_s - (time.perf_counter() - started)
        if remaining_s > 0:
            time.sleep(remaining_s)
        return chunk

    def target(self, instruction: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(instruction.strip().lower().encode()).digest()[:8], "little")
        return np.random.default_rng(seed).uniform(-TARGET_RANGE, TARGET_RANGE, self.embodiment.action_dim)


def _brightness(image: Any) -> float:
    if image is None:
        return 0.5
    return float(np.asarray(image, dtype=np.float32).mean() / 255.0)


def create_reference_app(policy: ScriptedPolicy | None, *, variant: str = "flagscale",
                         cameras: tuple[str, ...] | None = None) -> Flask:
    """The Flask app; ``policy`` None answers 503 as a server whose model is not loaded does.

    ``cameras``: the camera roles the policy reads (default: the embodiment's).
    """
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # an exception in the policy is Flask's HTML 500, as in FlagScale
    roles = cameras or (policy.embodiment.cameras if policy else ())
    keys = {camera_key(variant, role): role for role in roles}
    state_field = "state" if variant == "flagscale" else "qpos"

    @app.post(INFER_PATH)
    def infer() -> Any:
        if policy is None:
            return _refuse(503, "Model not loaded")
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not data:
            return _refuse(400, "Request format error")
        if state_field not in data:
            return _refuse(400, f"Request requires: {state_field}")
        try:
            state = np.asarray(data[state_field], dtype=np.float64)
        except (TypeError, ValueError) as e:
            return _refuse(400, f"State parameters processing error: {e}")
        instruction = data.get("instruction")
        if not isinstance(instruction, str):
            return _refuse(400, "Request requires instruction")
        sample = _first_sample(data.get("images"), variant)
        if sample is None:
            return _refuse(400, "Request requires images")
        images = {}
        for key, value in sample.items():
            if key not in keys:
                continue  # FlagScale reads only its configured keys
            try:
                images[keys[key]] = decode_image_file(value)
            except ValueError as e:
                return _refuse(400, f"image process failed: {key}: {e}")
        if not images:
            return _refuse(400, f"No images provided. At least one image is required from: {sorted(keys)}")
        started = time.perf_counter()
        chunk = policy.act(instruction, images, state)  # raises on a non-finite state: HTML 500
        model_s = time.perf_counter() - started
        field = {"flagscale": "actions", "legacy": "qpos"}[variant]
        rows = chunk.tolist()
        body = {"success": True, field: [rows] if variant == "flagscale" else rows}
        response = jsonify(body)
        response.headers[MODEL_TIME_HEADER] = f"{model_s:.6f}"
        return response

    return app


def _first_sample(images: Any, variant: str) -> dict[str, Any] | None:
    if variant == "flagscale":
        if not isinstance(images, list) or not images or not isinstance(images[0], dict):
            return None
        return images[0]  # only the first sample is used
    return images if isinstance(images, dict) and images else None


def _refuse(status: int, error: str) -> tuple[Response, int]:
    return jsonify({"success": False, "error": error}), status
