"""Compute spent only where it changes the motion: when a robot asks its action model for a chunk.

After DeeR-VLA (a VLA stops computing once consecutive predictions agree), carried to the chunk
level without retraining. A :class:`ChunkRunner` keeps one robot's current chunk and, at every
control step, hands out the next action; it asks the model for a fresh chunk only when

- there is no chunk, or fewer than ``lead_steps`` actions are left (always);
- ``fresh``: at every step (the reference the others are measured against);
- ``fixed``: every ``period_steps`` steps;
- ``adaptive``: when the observation is not what the chunk predicted (the state further than
  ``state_tolerance`` from where the last action should have brought it, or a camera frame changed
  by more than ``image_tolerance``); a scheduled point (every ``period_steps``) where the
  observation turns out as predicted is skipped. A fresh chunk that disagrees with what was left of
  the old one by more than ``disagreement`` (mean absolute difference) means the model changed its
  mind: it is asked again ``recheck_steps`` later, and again, until two chunks agree (DeeR's exit
  test, per chunk). An observation bit-identical to the one of the last model call reuses that
  call's chunk (an exact cache hit: the actions the model would give, for a deterministic model),
  counted apart from the calls.

Checking an observation costs no model call. ``ChunkPolicy`` holds the policy and its thresholds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MODES", "ChunkPolicy", "ChunkRunner", "Observation", "mape"]

MODES = ("fresh", "fixed", "adaptive")


def mape(reference: np.ndarray, candidate: np.ndarray, epsilon: float) -> float:
    """Mean absolute percentage error of ``candidate`` against ``reference``, |reference| floored at ``epsilon``."""
    denominator = np.maximum(np.abs(reference), epsilon)
    return float(np.mean(np.abs(candidate - reference) / denominator) * 100.0)


@dataclass(frozen=True)
class ChunkPolicy:
    """When to ask the model (see the module's docstring)."""

    mode: str = "adaptive"
    period_steps: int = 10
    lead_steps: int = 10
    state_tolerance: float = 0.005
    image_tolerance: float = 2.0  # mean absolute difference of 0-255 pixel values
    disagreement: float = 0.02
    recheck_steps: int = 2

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}: expected one of {', '.join(MODES)}")
        if min(self.period_steps, self.recheck_steps) < 1 or self.lead_steps < 0:
            raise ValueError("period_steps and recheck_steps must be >= 1, lead_steps >= 0")
        if min(self.state_tolerance, self.image_tolerance, self.disagreement) < 0:
            raise ValueError("tolerances must be >= 0")


@dataclass(frozen=True)
class Observation:
    """What the model sees: the state (joints or end-effector pose, the actions' layout) and frames."""

    state: np.ndarray
    frames: tuple[np.ndarray, ...] = ()  # uint8 images
    step: int = 0  # where in an episode (bookkeeping only)

    def digest(self) -> bytes:
        hasher = hashlib.blake2b(np.ascontiguousarray(self.state).tobytes(), digest_size=16)
        for frame in self.frames:
            hasher.update(np.ascontiguousarray(frame).tobytes())
        return hasher.digest()


@dataclass
class ChunkRunner:
    """One robot's chunks: ``step(observation)`` returns the action to execute now."""

    policy: ChunkPolicy
    model: Callable[[Observation], np.ndarray]  # -> (horizon, action_dim)
    calls: int = 0
    skipped: int = 0  # scheduled re-checks skipped because the observation was as predicted
    cache_hits: int = 0
    early: int = 0  # re-checks brought forward by a disagreeing chunk
    _chunk: np.ndarray | None = field(default=None, repr=False)
    _origin: Observation | None = field(default=None, repr=False)
    _index: int = 0  # the next action of the chunk
    _step: int = 0
    _due: int = 0  # the step of the next scheduled (re-)check
    _recheck: bool = False  # the last fresh chunk disagreed with the old one: ask again when due
    _last: tuple[bytes, np.ndarray] | None = field(default=None, repr=False)

    def step(self, observation: Observation) -> np.ndarray:
        if self._needs_chunk(observation):
            self._refresh(observation)
        assert self._chunk is not None
        action = self._chunk[self._index]
        self._index += 1
        self._step += 1
        return action

    def _needs_chunk(self, observation: Observation) -> bool:
        policy = self.policy
        if self._chunk is None or len(self._chunk) - self._index <= policy.lead_steps:
            return True
        if policy.mode == "fresh":
            return True
        if policy.mode == "fixed":
            return self._step >= self._due
        if not self._as_predicted(observation):
            return True
        if self._step >= self._due:
            if self._recheck:
                return True
            self.skipped += 1
            self._due = self._step + policy.period_steps
        return False

    def _as_predicted(self, observation: Observation) -> bool:
        assert self._chunk is not None and self._origin is not None
        if self._index > 0:
            expected = self._chunk[self._index - 1][:observation.state.size]
            if np.abs(observation.state - expected).max() > self.policy.state_tolerance:
                return False
        for now, then in zip(observation.frames, self._origin.frames, strict=True):
            if np.abs(now.astype(np.int16) - then.astype(np.int16)).mean() > self.policy.image_tolerance:
                return False
        return True

    def _refresh(self, observation: Observation) -> None:
        policy = self.policy
        key = observation.digest() if policy.mode == "adaptive" else b""
        if self._last is not None and key and self._last[0] == key:
            chunk = self._last[1]
            self.cache_hits += 1
        else:
            chunk = np.asarray(self.model(observation), dtype=np.float64)
            self.calls += 1
            self._last = (key, chunk)
        self._recheck = False
        if policy.mode == "adaptive" and self._chunk is not None:
            left = self._chunk[self._index:]
            overlap = min(len(left), len(chunk))
            self._recheck = bool(overlap) and np.abs(chunk[:overlap] - left[:overlap]).mean() > policy.disagreement
            self.early += self._recheck
        self._chunk, self._origin, self._index = chunk, observation, 0
        self._due = self._step + (policy.recheck_steps if self._recheck else policy.period_steps)
