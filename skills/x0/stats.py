"""Action statistics: the per-dimension affine map from the model's [-1, 1] to robot units.

The checkpoint's stats JSON holds, per key (``action.eepose``, ``action.eepose.delta``),
``scale_`` and ``offset_`` written by a 1%-99% quantile normaliser:
``scale_ = 2 / (q99 - q01 + 1e-8)``, ``offset_ = -1 - q01 * scale_``; so
``x = (x_norm - offset_) / scale_``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ActionStats"]


@dataclass(frozen=True)
class ActionStats:
    scale: np.ndarray
    offset: np.ndarray
    key: str = ""

    @classmethod
    def from_quantiles(cls, q01: np.ndarray, q99: np.ndarray, key: str = "") -> ActionStats:
        q01, q99 = np.asarray(q01, dtype=np.float64), np.asarray(q99, dtype=np.float64)
        scale = 2.0 / (q99 - q01 + 1e-8)
        return cls(scale=scale, offset=-1.0 - q01 * scale, key=key)

    @classmethod
    def load(cls, path: str | Path, key: str, action_dim: int) -> ActionStats:
        """Read ``key`` from a stats JSON file and check it has ``action_dim`` dimensions."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"cannot read action stats {path}: {e}") from e
        if key not in data:
            raise ValueError(f"action stats {path} have no key {key!r} (keys: {', '.join(data) or 'none'})")
        entry = data[key]
        stats = cls(scale=np.asarray(entry["scale_"], dtype=np.float64),
                    offset=np.asarray(entry["offset_"], dtype=np.float64), key=key)
        if stats.scale.shape != (action_dim,) or stats.offset.shape != (action_dim,):
            raise ValueError(f"action stats {path}[{key!r}] have {stats.scale.size} dimensions, "
                             f"the embodiment needs {action_dim}")
        return stats

    def to_dict(self) -> dict[str, list[float]]:
        return {"scale_": self.scale.tolist(), "offset_": self.offset.tolist()}

    def denormalise(self, normalised: np.ndarray) -> np.ndarray:
        return (np.asarray(normalised, dtype=np.float64) - self.offset) / self.scale

    def normalise(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64) * self.scale + self.offset
