"""Robot bodies: what an embodiment can do in the world, and the world's defaults.

A :class:`Body` crosses the wire as ``RobotProfile.capabilities`` (``to_capabilities`` /
``from_capabilities``); a scene's fleet entry may override any field of its embodiment's body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_TRAVEL_S",
    "DEFAULT_WEIGHT_KG",
    "EMBODIMENT_BODIES",
    "HEIGHTS",
    "Body",
    "body_for",
]

HEIGHTS = ("floor", "low", "high")
DEFAULT_HEIGHT = "low"  # of furniture and containers that do not say
DEFAULT_WEIGHT_KG = 0.2  # of objects that do not say
DEFAULT_TRAVEL_S = 1.0  # between two places, when a passage (or the scene) does not say


@dataclass(frozen=True)
class Body:
    """What one robot's body can do.

    ``grippers``: hands to hold things with (0: it can neither pick nor open). ``payload_kg``: the
    heaviest object it may lift (``inf``: no limit declared). ``reach``: the heights it reaches.
    ``station``: a fixed arm reaches only this node and what is on or in it. ``cargo``: the
    container it carries, which others may load and unload. ``zones``: places it may go (empty: any).
    """

    mobile: bool = True
    grippers: int = 1
    payload_kg: float = math.inf
    reach: tuple[str, ...] = HEIGHTS
    can_open: bool = True
    station: str | None = None
    cargo: str | None = None
    zones: tuple[str, ...] = ()

    def to_capabilities(self, embodiment: str) -> dict[str, Any]:
        """The ``RobotProfile.capabilities`` of a robot with this body."""
        return {
            "embodiment": embodiment,
            "mobile": self.mobile,
            "grippers": self.grippers,
            "payload_kg": self.payload_kg if math.isfinite(self.payload_kg) else None,
            "reach": list(self.reach),
            "can_open": self.can_open,
            "station": self.station,
            "cargo": self.cargo,
            "zones": list(self.zones),
        }

    @classmethod
    def from_capabilities(cls, data: dict[str, Any]) -> Body:
        """From ``RobotProfile.capabilities``; missing keys take the defaults (``arms`` is read as
        ``grippers``, and a payload of 0 or none means no limit declared)."""
        grippers = data.get("grippers", data.get("arms"))
        payload = data.get("payload_kg")
        return cls(
            mobile=bool(data.get("mobile", True)),
            grippers=int(grippers) if grippers is not None else 1,
            payload_kg=float(payload) if payload else math.inf,
            reach=tuple(data.get("reach") or HEIGHTS),
            can_open=bool(data.get("can_open", True)),
            station=data.get("station") or None,
            cargo=data.get("cargo") or None,
            zones=tuple(data.get("zones") or ()),
        )

    def with_overrides(self, overrides: dict[str, Any]) -> Body:
        """This body with some fields replaced (a scene's fleet entry); unknown keys are errors."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown body field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        return replace(self, **values)


EMBODIMENT_BODIES: dict[str, Body] = {
    "wheeled_dual_arm": Body(mobile=True, grippers=2, payload_kg=5.0, reach=("low", "high")),
    "fixed_single_arm": Body(mobile=False, grippers=1, payload_kg=2.0, reach=("low", "high")),
    "humanoid": Body(mobile=True, grippers=2, payload_kg=3.0, reach=HEIGHTS),
    "quadruped": Body(mobile=True, grippers=1, payload_kg=1.5, reach=("floor", "low")),
    "drone": Body(mobile=True, grippers=1, payload_kg=0.5, reach=HEIGHTS, can_open=False),
}


def body_for(embodiment: str, overrides: dict[str, Any] | None = None, zones: list[str] | tuple[str, ...] = ()) -> Body:
    """The body of a known embodiment, with a fleet entry's overrides and zones."""
    try:
        body = EMBODIMENT_BODIES[embodiment]
    except KeyError:
        known = ", ".join(sorted(EMBODIMENT_BODIES))
        raise ValueError(f"unknown embodiment {embodiment!r}, should be one of: {known}") from None
    return body.with_overrides({**(overrides or {}), "zones": tuple(zones)})
