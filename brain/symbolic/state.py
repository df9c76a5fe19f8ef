"""The world as it will be once the steps planned so far have run: the world model's state.

The planner starts from a copy of the ``WorldView``'s state and applies each planned action with
the world model's rules, so later goals see earlier ones' results (the cup is on the pass counter,
the fridge is open).
"""

from __future__ import annotations

from brain.world import WorldView
from memory.world import WorldState

__all__ = ["SimState"]

SimState = WorldState


def simulated(world: WorldView) -> WorldState:
    """A fresh copy of ``world``'s state to plan or check on."""
    return world.state.copy()
