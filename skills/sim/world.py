"""One simulated robot's calls checked by the world model's rules (``memory.world``).

The rules read only the robot, the nodes named in the call, their ancestors and the robot's
children, so a ``SceneGraph.neighbourhood`` of those is as good as a full snapshot; a route through
passages, or the sides of a door, needs every place and door too (the nodes with no parent, its
``roots``), so ``needs_roots`` says when to read them.

Each action returns the :class:`SkillResult` it would produce (a message and the effects the
slaver applies), or raises :class:`SkillFailure` saying what is wrong and what would fix it.
Nothing here writes the scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memory.profiles import SceneSnapshot
from memory.world import Body, Outcome, RuleViolation, WorldState, act, bodies_needed
from skills.errors import SkillFailure
from skills.sdk import SkillResult

__all__ = ["SimRules"]


@dataclass
class SimRules:
    """What one robot may do in the world, given its body (with its zones)."""

    robot: str
    body: Body

    @property
    def zones(self) -> list[str]:
        return list(self.body.zones)

    def needs_roots(self, kind: str, scene: SceneSnapshot, names: Sequence[str]) -> bool:
        """Whether the call reads routes or a door's sides, which need every place and door: a
        navigation, or any call naming a door, in a scene with passages (``scene`` holds at least
        ``names`` and their places)."""
        about_doors = any(scene.nodes[n].kind == "door" for n in names if n in scene.nodes)
        return (kind == "navigate" or about_doors) and self.has_passages(scene)

    @staticmethod
    def has_passages(scene: SceneSnapshot) -> bool:
        """Whether the places in ``scene`` have passages (a scene's places all have or all lack them)."""
        return any("passages" in n.props for n in scene.nodes.values() if n.kind == "place")

    def state(self, scene: SceneSnapshot) -> WorldState:
        """The world the rules read: ``scene`` and this robot's body."""
        return WorldState.from_nodes(scene.nodes.values(), {self.robot: self.body})

    def others(self, state: WorldState, kind: str, roles: dict[str, Any]) -> list[str]:
        """The other robots whose bodies the rule of this call reads (this process has only its own):
        add them to ``state.bodies`` before ``act``."""
        return bodies_needed(state, self.robot, kind, roles)

    def act(self, state: WorldState, kind: str, roles: dict[str, Any]) -> tuple[SkillResult, Outcome]:
        """Check ``kind`` with ``roles`` against ``state``: the skill's result and the rules' outcome."""
        try:
            outcome = act(state, self.robot, kind, roles)
        except RuleViolation as e:
            raise SkillFailure(str(e)) from e
        return SkillResult(message=outcome.message, effects=outcome.effects), outcome
