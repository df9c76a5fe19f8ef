"""Simulated bodies: what each embodiment can do, and how long it takes.

A registry from an embodiment type string to its :class:`EmbodimentSpec`; add a body with
:func:`register_embodiment`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from skills.errors import SkillError

__all__ = ["EMBODIMENTS", "EmbodimentSpec", "SimSkill", "embodiment_spec", "register_embodiment"]


@dataclass(frozen=True)
class SimSkill:
    """One skill of a body: its tool name, action kind and base duration in seconds."""

    name: str
    kind: str  # navigate | pick | place | open | close
    duration_s: float


@dataclass(frozen=True)
class EmbodimentSpec:
    """A kind of robot body."""

    type: str
    description: str
    mobile: bool
    arms: int
    payload_kg: float
    hand: str = "arm"  # what one manipulator is called in messages: arm, hand, gripper
    skills: tuple[SimSkill, ...] = field(default_factory=tuple)

    def skill(self, kind: str) -> SimSkill | None:
        return next((s for s in self.skills if s.kind == kind), None)

    def capabilities(self, zones: list[str]) -> dict[str, Any]:
        return {
            "embodiment": self.type,
            "mobile": self.mobile,
            "arms": self.arms,
            "payload_kg": self.payload_kg,
            "zones": list(zones),
        }


EMBODIMENTS: dict[str, EmbodimentSpec] = {}


def register_embodiment(spec: EmbodimentSpec) -> EmbodimentSpec:
    if spec.type in EMBODIMENTS:
        raise SkillError(f"embodiment {spec.type!r} is already registered")
    EMBODIMENTS[spec.type] = spec
    return spec


def embodiment_spec(type_: str) -> EmbodimentSpec:
    """The spec of a registered embodiment; the error lists the known ones."""
    try:
        return EMBODIMENTS[type_]
    except KeyError:
        known = ", ".join(sorted(EMBODIMENTS))
        raise SkillError(f"unknown embodiment {type_!r}, should be one of: {known}") from None


def _manipulation(pick: float, place: float, open_: float | None) -> tuple[SimSkill, ...]:
    skills = [SimSkill("pick", "pick", pick), SimSkill("place", "place", place)]
    if open_ is not None:
        skills += [SimSkill("open", "open", open_), SimSkill("close", "close", open_)]
    return tuple(skills)


register_embodiment(EmbodimentSpec(
    type="wheeled_dual_arm",
    description="a wheeled base with two arms",
    mobile=True, arms=2, payload_kg=5.0,
    skills=(SimSkill("navigate", "navigate", 2.0), *_manipulation(1.5, 1.5, 2.0)),
))
register_embodiment(EmbodimentSpec(
    type="fixed_single_arm",
    description="one arm on a fixed base",
    mobile=False, arms=1, payload_kg=2.0,
    skills=_manipulation(1.0, 1.0, 1.5),
))
register_embodiment(EmbodimentSpec(
    type="humanoid",
    description="a walking humanoid with two hands",
    mobile=True, arms=2, payload_kg=3.0, hand="hand",
    skills=(SimSkill("navigate", "navigate", 3.0), *_manipulation(2.0, 2.0, 2.5)),
))
register_embodiment(EmbodimentSpec(
    type="quadruped",
    description="a four-legged robot with one arm on its back",
    mobile=True, arms=1, payload_kg=1.5,
    skills=(SimSkill("navigate", "navigate", 1.5), *_manipulation(2.0, 2.0, 2.5)),
))
register_embodiment(EmbodimentSpec(
    type="drone",
    description="a small drone with one gripper; it cannot open containers",
    mobile=True, arms=1, payload_kg=0.5, hand="gripper",
    skills=(SimSkill("fly_to", "navigate", 1.0), *_manipulation(1.0, 1.0, None)),
))
