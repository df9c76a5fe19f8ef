"""Skill servers written without RoboOS's extensions (a FlagOpen/RoboOS-style ``skill.py``).

Such a server's tools carry no action semantics, so the fleet config annotates them::

    skills:
      navigate_to_target: {kind: navigate, target: target}
      grasp_object: {kind: pick, object: object}
      place_to_affordance: {kind: place, object: object, target: affordance}

and they report what changed as a state dict (``{"position": "kitchenTable"}``, ``{"grasped": "cup"}``,
``{"grasped": "None"}``) instead of effects. ``annotate`` gives the registered skills those
semantics; ``reported_effects`` turns a reported state into the effects our own skills return, with
the world model's rules (``memory.world.effects_of``), so the slaver applies both the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from memory.messages import Effect, ToolCall
from memory.profiles import ActionSemantics, SceneSnapshot, SkillSpec
from memory.world import ACTION_KINDS, WorldState, effects_of
from slaver.errors import SlaverConfigError

__all__ = ["annotate", "parse_annotations", "reported_effects"]

logger = logging.getLogger(__name__)

POSITION_KEYS = ("position", "location")  # where the robot is now
HOLDING_KEYS = ("grasped", "holding", "held")  # what it holds now; "None" or empty: nothing
_NOTHING = {"", "none", "null", "nothing"}
_PLACE_TARGET_KINDS = frozenset({"furniture", "container", "place"})


def parse_annotations(data: Mapping[str, Any]) -> dict[str, ActionSemantics]:
    """Tool name -> semantics from the fleet config's ``skills`` mapping; ``SlaverConfigError`` naming
    the tool when one is malformed."""
    annotations: dict[str, ActionSemantics] = {}
    for tool, entry in data.items():
        try:
            annotations[tool] = ActionSemantics.from_annotation(entry)
        except ValueError as exc:
            raise SlaverConfigError(f"skill annotation for {tool!r}: {exc}") from exc
    return annotations


def annotate(skills: list[SkillSpec], annotations: Mapping[str, ActionSemantics]) -> list[SkillSpec]:
    """The listed skills with the annotated semantics in place of what the server declared.

    ``SlaverConfigError`` when an annotation names a tool the server lacks or an argument the tool
    does not take (a typo would otherwise leave the planner blind to the skill)."""
    by_name = {s.name: s for s in skills}
    for tool, semantics in annotations.items():
        skill = by_name.get(tool)
        if skill is None:
            raise SlaverConfigError(f"skill annotations name {tool!r}, which the skill server does not have; "
                                    f"its tools: {', '.join(sorted(by_name)) or 'none'}")
        params = set(skill.input_schema.get("properties") or {})
        missing = sorted(arg for arg in semantics.roles.values() if arg not in params)
        if missing:
            raise SlaverConfigError(f"skill annotation for {tool!r} names argument {missing[0]!r}, which the tool "
                                    f"does not take; its arguments: {', '.join(sorted(params)) or 'none'}")
    return [replace(s, semantics=annotations[s.name]) if s.name in annotations else s for s in skills]


def reported_effects(
    robot: str, call: ToolCall, semantics: ActionSemantics, state: Mapping[str, Any], scene: SceneSnapshot
) -> list[Effect]:
    """The effects a foreign tool's reported ``state`` stands for: the robot's position, what it now
    holds or let go of; when it reports neither, what its annotated kind does with the call's
    arguments. A name the scene lacks is a warning and changes nothing; unknown keys are logged at
    debug."""
    world = WorldState.from_nodes(scene.nodes.values(), {})
    if not any(key in state for key in (*POSITION_KEYS, *HOLDING_KEYS)):
        return _annotated(world, robot, call, semantics, state)
    effects: list[Effect] = []
    for key, value in state.items():
        if key in POSITION_KEYS:
            effects += _moved(world, robot, call, value)
        elif key in HOLDING_KEYS:
            effects += _held(world, robot, call, semantics, value)
        else:
            logger.debug("robot=%s %s reported %s=%r: not a scene change, kept in the result only",
                         robot, call.name, key, value)
    return effects


def _annotated(
    world: WorldState, robot: str, call: ToolCall, semantics: ActionSemantics, state: Mapping[str, Any]
) -> list[Effect]:
    for key, value in state.items():
        logger.debug("robot=%s %s reported %s=%r: not a scene change, kept in the result only",
                     robot, call.name, key, value)
    if semantics.kind not in ACTION_KINDS:
        return []
    roles = {role: call.arguments[arg] for role, arg in semantics.roles.items() if arg in call.arguments}
    named = [v for v in roles.values() if isinstance(v, str)]
    if not all(_known(world, robot, call, "argument", v) for v in named):
        return []
    return effects_of(world, robot, semantics.kind, roles)


def _moved(world: WorldState, robot: str, call: ToolCall, position: Any) -> list[Effect]:
    if not _known(world, robot, call, "position", position):
        return []
    return effects_of(world, robot, "navigate", {"target": position})


def _held(world: WorldState, robot: str, call: ToolCall, semantics: ActionSemantics, value: Any) -> list[Effect]:
    if isinstance(value, list):
        return [e for item in value for e in _held(world, robot, call, semantics, item)]
    if value is None or str(value).strip().lower() in _NOTHING:
        return _released(world, robot, call, semantics)
    if not _known(world, robot, call, "grasped object", value) or world.holder(value) == robot:
        return []
    return effects_of(world, robot, "pick", {"object": value})


def _released(world: WorldState, robot: str, call: ToolCall, semantics: ActionSemantics) -> list[Effect]:
    """Its hand is empty now: what it held went where the call put it (the place role, or the one
    argument naming furniture, a container or a place)."""
    held = world.holding(robot)
    if not held:
        return []
    target = _place_target(world, call, semantics)
    if target is None:
        logger.warning("robot=%s %s reported letting go of %s, but the call names no place in the scene to put "
                       "it; annotate the tool with a target role (kind: place)", robot, call.name, ", ".join(held))
        return []
    obj = call.arguments.get(semantics.roles.get("object", "object"))
    items = [obj] if obj in held else held
    return [e for item in items for e in effects_of(world, robot, "place", {"object": item, "target": target})]


def _place_target(world: WorldState, call: ToolCall, semantics: ActionSemantics) -> str | None:
    for role in ("target", "destination", "container", "place"):
        value = call.arguments.get(semantics.roles.get(role, ""))
        if isinstance(value, str) and world.kind.get(value) in _PLACE_TARGET_KINDS:
            return value
    named = [v for v in call.arguments.values() if isinstance(v, str) and world.kind.get(v) in _PLACE_TARGET_KINDS]
    return named[0] if len(named) == 1 else None


def _known(world: WorldState, robot: str, call: ToolCall, what: str, name: Any) -> bool:
    if isinstance(name, str) and name in world.kind:
        return True
    logger.warning("robot=%s %s reported %s %r, which is not in the scene; shared memory not changed "
                   "(use the scene's names in the skill server, or add the node to the scene)",
                   robot, call.name, what, name)
    return False
