"""The one world model: kinds of things, robot bodies, and the rules of every action.

Pure data and functions (no Redis): the simulated robots (``skills.sim``), the plan check and the
symbolic planner (``brain``) all call these rules, so they cannot disagree::

    from memory.world import WorldState, act, body_for
    state = WorldState.from_nodes(snapshot.nodes.values(), {"chef": body_for("wheeled_dual_arm")})
    outcome = act(state, "chef", "pick", {"object": "apple"})   # or raises RuleViolation(why)
    state.apply(outcome.effects)
"""

from memory.world.bodies import (
    DEFAULT_HEIGHT,
    DEFAULT_TRAVEL_S,
    DEFAULT_WEIGHT_KG,
    EMBODIMENT_BODIES,
    HEIGHTS,
    Body,
    body_for,
)
from memory.world.rules import (
    ACTION_KINDS,
    Outcome,
    RuleViolation,
    act,
    bodies_needed,
    body_limit,
    effects_of,
    handover_limit,
    reach_problem,
)
from memory.world.state import Route, WorldState

__all__ = [
    "ACTION_KINDS",
    "DEFAULT_HEIGHT",
    "DEFAULT_TRAVEL_S",
    "DEFAULT_WEIGHT_KG",
    "EMBODIMENT_BODIES",
    "HEIGHTS",
    "Body",
    "Outcome",
    "Route",
    "RuleViolation",
    "WorldState",
    "act",
    "bodies_needed",
    "body_for",
    "body_limit",
    "effects_of",
    "handover_limit",
    "reach_problem",
]
