"""Goals: what must hold when the task is done, checked against the simulated world.

Planning from goals (not from the words' steps) makes replanning the same call: whatever already
holds produces no step.
"""

from __future__ import annotations

from dataclasses import dataclass

from memory.world import WorldState as SimState

__all__ = ["Deliver", "Goal", "Hold", "Reach", "SetOpen"]


@dataclass(frozen=True)
class Deliver:
    """``obj`` ends on/in ``target``. ``source`` is where the words said it is (a hint only)."""

    obj: str
    target: str
    relation: str  # "on" | "in"
    robot: str | None = None
    source: str | None = None

    def satisfied(self, state: SimState) -> bool:
        return state.parent.get(self.obj) == self.target and state.relation.get(self.obj) == self.relation

    def describe(self) -> str:
        return f"{self.obj} {self.relation} {self.target}"

    def already(self, state: SimState) -> str:
        return f"{self.obj} is already {self.relation} {self.target}"


@dataclass(frozen=True)
class Hold:
    """Some robot (or ``robot``) holds ``obj``."""

    obj: str
    robot: str | None = None
    source: str | None = None

    def satisfied(self, state: SimState) -> bool:
        holder = state.holder(self.obj)
        return holder is not None and self.robot in (None, holder)

    def describe(self) -> str:
        return f"{self.obj} held by {self.robot or 'a robot'}"

    def already(self, state: SimState) -> str:
        return f"{self.obj} is already held by {state.holder(self.obj)}"


@dataclass(frozen=True)
class SetOpen:
    """Container ``container`` is open (``open``) or closed."""

    container: str
    open: bool
    robot: str | None = None

    def satisfied(self, state: SimState) -> bool:
        return state.is_open(self.container) == self.open

    def describe(self) -> str:
        return f"{self.container} {'open' if self.open else 'closed'}"

    def already(self, state: SimState) -> str:
        return f"{self.container} is already {'open' if self.open else 'closed'}"


@dataclass(frozen=True)
class Reach:
    """``robot`` (or any robot) is at ``target``: a place, or a node it navigates to."""

    target: str
    robot: str | None = None

    def satisfied(self, state: SimState) -> bool:
        robots = [self.robot] if self.robot else state.robots()
        return any(self.is_at(r, state) for r in robots)

    def is_at(self, robot: str, state: SimState) -> bool:
        """At the target's place (robots stand at places; furniture names where in it)."""
        return state.place_of(robot) is not None and state.place_of(robot) == state.place_of(self.target)

    def describe(self) -> str:
        return f"{self.robot or 'a robot'} at {self.target}"

    def already(self, state: SimState) -> str:
        return f"{self.robot or 'a robot'} is already at {self.target}"


Goal = Deliver | Hold | SetOpen | Reach
