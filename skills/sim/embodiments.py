"""Simulated bodies: the skills each embodiment offers, and how long they take.

What a body can do in the world (grippers, payload, reach, opening things) is the world model's
(``memory.world.EMBODIMENT_BODIES``); this registry adds the tools and their durations. Add a body
with :func:`register_embodiment`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memory.world import EMBODIMENT_BODIES, Body
from skills.errors import SkillError

__all__ = ["EMBODIMENTS", "EmbodimentSpec", "SimSkill", "embodiment_spec", "register_embodiment"]


@dataclass(frozen=True)
class SimSkill:
    """One skill of a body: its tool name, action kind and base duration in seconds.

    A navigate skill's duration is per unit of travel time (``DEFAULT_TRAVEL_S``) of the route.
    """

    name: str
    kind: str  # one of memory.world.ACTION_KINDS
    duration_s: float


@dataclass(frozen=True)
class EmbodimentSpec:
    """A kind of robot body: its world body and its simulated skills."""

    type: str
    description: str
    body: Body
    hand: str = "gripper"  # what one manipulator is called in tool descriptions: arm, hand, gripper
    skills: tuple[SimSkill, ...] = field(default_factory=tuple)

    def skills_for(self, body: Body) -> tuple[SimSkill, ...]:
        """The skills a robot with ``body`` (this embodiment, maybe overridden) offers: no pick or
        place without a gripper, no open or close when it cannot open things."""
        return tuple(s for s in self.skills if _usable(s.kind, body))


EMBODIMENTS: dict[str, EmbodimentSpec] = {}


def _usable(kind: str, body: Body) -> bool:
    if kind in ("pick", "place", "handover"):
        return body.grippers > 0
    if kind in ("open", "close"):
        return body.grippers > 0 and body.can_open
    if kind == "navigate":
        return body.mobile
    return True


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


def _manipulation(pick: float, place: float, open_: float) -> tuple[SimSkill, ...]:
    return (SimSkill("pick", "pick", pick), SimSkill("place", "place", place),
            SimSkill("open", "open", open_), SimSkill("close", "close", open_), SimSkill("hand_over", "handover", place))


def _register(type_: str, description: str, hand: str, navigate: SimSkill | None, *manipulation: float) -> None:
    skills = ((navigate,) if navigate else ()) + _manipulation(*manipulation)
    register_embodiment(EmbodimentSpec(type_, description, EMBODIMENT_BODIES[type_], hand, skills))


_register("wheeled_dual_arm", "a wheeled base with two arms", "arm",
          SimSkill("navigate", "navigate", 2.0), 1.5, 1.5, 2.0)
_register("fixed_single_arm", "one arm on a fixed base", "arm", None, 1.0, 1.0, 1.5)
_register("humanoid", "a walking humanoid with two hands", "hand",
          SimSkill("navigate", "navigate", 3.0), 2.0, 2.0, 2.5)
_register("quadruped", "a four-legged robot with one arm on its back", "arm",
          SimSkill("navigate", "navigate", 1.5), 2.0, 2.0, 2.5)
_register("drone", "a small drone; it cannot open containers or doors", "gripper",
          SimSkill("fly_to", "navigate", 1.0), 1.0, 1.0, 1.0)
