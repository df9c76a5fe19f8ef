"""The rules of every action: preconditions, and the effects when they hold.

One function per action kind checks the preconditions against a :class:`WorldState` and returns
the :class:`Outcome` (effects, a message, the travel time), or raises :class:`RuleViolation` saying
what is wrong and what would fix it. Nothing here changes the state: ``state.apply(outcome.effects)``
does. ``effects_of`` gives the intended effects without checking, for a plan check that goes on
after a broken step so that one mistake is reported once.

The rules:
- navigate: a mobile robot goes to a place (or the place of furniture or a container) in its zones,
  along passages whose doors are open; the travel time is the route's.
- pick: with a free gripper, an object that nobody holds, that is not inside a closed container,
  that is within reach and no heavier than the payload.
- place: an object the robot holds, on furniture or in an open container within reach that is not
  inside a closed container and has room (``capacity``). A carried cargo container is such a
  container: loading and unloading are place and pick, and its load must stay within the carrier's
  payload.
- open / close: a container or a door, by a robot that can open things and has a free gripper,
  within reach; a locked door does not open.
- handover: an object the robot holds goes straight into a gripper of another robot (``target``) in
  the same place, which has a free gripper and can lift it (the taker must be there and waiting);
  neither is fixed at a station, and they reach a common height above the floor.
- reach: same place (a door is in both places it connects); a robot with a ``station`` reaches
  only it and what is on or in it; the node's height must be one the body reaches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memory.messages import Effect
from memory.world.bodies import Body
from memory.world.state import WorldState

__all__ = ["ACTION_KINDS", "Outcome", "RuleViolation", "act", "bodies_needed", "body_limit", "effects_of",
           "handover_limit", "reach_problem"]

ACTION_KINDS = ("navigate", "pick", "place", "open", "close", "handover")
GO_TO_KINDS = frozenset({"place", "furniture", "container"})
SURFACE_KINDS = frozenset({"furniture", "container"})
OPENABLE_KINDS = frozenset({"container", "door"})


class RuleViolation(Exception):
    """An action breaks a rule of the world; the message says why and what would fix it."""


@dataclass
class Outcome:
    """What an action does: the effects to apply, a sentence, and the travel time it takes."""

    effects: list[Effect] = field(default_factory=list)
    message: str = ""
    travel_s: float = 0.0


def act(state: WorldState, robot: str, kind: str, roles: dict[str, Any]) -> Outcome:
    """Check the action ``kind`` of ``robot`` with its ``roles`` (object, target) and return what it does."""
    rule = _RULES.get(kind)
    if rule is None:
        raise RuleViolation(f"unknown action kind {kind!r}, should be one of: {', '.join(ACTION_KINDS)}")
    return rule(_Actor(state, robot), roles)


def effects_of(state: WorldState, robot: str, kind: str, roles: dict[str, Any]) -> list[Effect]:
    """The effects the action would have, unchecked; [] when it names nothing that exists."""
    actor = _Actor(state, robot)
    target, obj = _target(roles), roles.get("object")
    if kind == "navigate" and state.place_of(target) is not None:
        return [Effect(op="move", node=robot, parent=state.place_of(target), relation="at")]
    if kind == "pick" and obj in state.kind:
        return [Effect(op="move", node=obj, parent=robot, relation="held_by")]
    if kind == "place":
        obj = obj or actor.only_held()
        if obj in state.kind and target in state.kind:
            return [Effect(op="move", node=obj, parent=target, relation=_relation(state, target))]
    if kind in ("open", "close") and target in state.kind:
        return [Effect(op="set", node=target, props={"open": kind == "open"})]
    if kind == "handover" and obj in state.kind and state.kind.get(target) == "robot":
        return [Effect(op="move", node=obj, parent=target, relation="held_by")]
    return []


def bodies_needed(state: WorldState, robot: str, kind: str, roles: dict[str, Any]) -> list[str]:
    """The other robots whose bodies the rule of this action reads: for a place into a carried
    container, its carrier (its payload); for a handover, the taker. A process that knows only its
    own robot reads these."""
    target = _target(roles)
    if not isinstance(target, str) or target not in state.kind:
        return []
    other = state.carrier_of(target) if kind == "place" else target if kind == "handover" else None
    return [other] if other is not None and other != robot and state.kind.get(other) == "robot" else []


def handover_limit(state: WorldState, giver: str, taker: str) -> str | None:
    """Why the bodies of ``giver`` and ``taker`` could not hand things over even side by side, or
    None: a robot fixed at a station reaches only it, and hands meet above the floor."""
    sides = [_Actor(state, giver), _Actor(state, taker)]
    fixed = next((side for side in sides if side.body.station), None)
    if fixed is not None:
        return (f"{fixed.name} is fixed at the {fixed.body.station} and reaches only what is on or in it, "
                "so it cannot hand things over")
    if not set(sides[0].body.reach) & set(sides[1].body.reach) - {"floor"}:
        return f"{giver} and {taker} reach no common height above the floor, so they cannot hand things over"
    return None


def reach_problem(state: WorldState, robot: str, name: str) -> str | None:
    """Why ``robot`` cannot reach ``name`` from where it stands, or None."""
    return _Actor(state, robot).reach_problem(name)


def body_limit(state: WorldState, robot: str, name: str) -> str | None:
    """Why ``robot`` could not reach ``name`` even beside it (its station, the height), or None."""
    return _Actor(state, robot).body_limit(name)


class _Actor:
    """One robot's view for the rules: its body, where it is, what it holds."""

    def __init__(self, state: WorldState, robot: str) -> None:
        if state.kind.get(robot) != "robot":
            raise RuleViolation(f"robot {robot} is not in the scene: register it (start its slaver) first")
        self.state = state
        self.name = robot
        self.body: Body = state.bodies.get(robot) or Body()

    @property
    def here(self) -> str | None:
        return self.state.place_of(self.name)

    def node(self, name: Any, kinds: frozenset[str], what: str) -> str:
        if not isinstance(name, str) or not name:
            raise RuleViolation(f"the call does not name {what}")
        kind = self.state.kind.get(name)
        if kind is None:
            raise RuleViolation(f"there is no {name!r} in the scene")
        if kind not in kinds:
            raise RuleViolation(f"{name} is {_a(kind)}, not {what}")
        return name

    def only_held(self) -> str | None:
        held = self.state.holding(self.name)
        return held[0] if len(held) == 1 else None

    def reach_problem(self, name: str) -> str | None:
        where = self.state.door_places(name) if self.state.kind.get(name) == "door" else (self.state.place_of(name),)
        if self.here not in where:
            return self._away(name, where[0] if where else None)
        return self.body_limit(name)

    def body_limit(self, name: str) -> str | None:
        """Why the body could not reach ``name`` even standing beside it (station, height), or None."""
        station = self.body.station
        if station and station not in self.state.station_of(name):
            return f"{self.name} is fixed at the {station} and reaches only what is on or in it, not {name}"
        if self.state.kind.get(name) == "door":
            return None
        height = self.state.height_of(name)
        if height not in self.body.reach:
            return (f"{name} is at {height} height, out of {self.name}'s reach ({', '.join(self.body.reach)}): "
                    f"ask a robot that reaches {height} things")
        return None

    def _away(self, name: str, there: str | None) -> str:
        if not self.body.mobile:
            return (f"{name} is in the {there}, out of reach of {self.name}, which cannot move from the {self.here}: "
                    f"ask a robot that can reach the {there}")
        return (f"{name} is in the {there} but {self.name} is in the {self.here}: "
                f"navigate to the {_landmark(self.state, name) or there} first")

    def check_reach(self, name: str) -> None:
        problem = self.reach_problem(name)
        if problem:
            raise RuleViolation(problem)

    def check_gripper(self, doing: str) -> None:
        if self.body.grippers <= 0:
            raise RuleViolation(f"{self.name} has no gripper, so it cannot {doing}: ask a robot with one")
        held = self.state.holding(self.name)
        if len(held) >= self.body.grippers:
            which = "gripper is" if self.body.grippers == 1 else f"{self.body.grippers} grippers are"
            raise RuleViolation(f"{self.name}'s {which} full (holding {', '.join(held)}): place something first")

    def check_not_enclosed(self, name: str) -> None:
        closed = self.state.closed_around(name)
        if closed is not None:
            raise RuleViolation(f"{name} is in the {closed}, which is closed: open the {closed} first")


def _navigate(actor: _Actor, roles: dict[str, Any]) -> Outcome:
    state = actor.state
    target = actor.node(_target(roles), GO_TO_KINDS, "a place, furniture or a container")
    if not actor.body.mobile:
        raise RuleViolation(f"{actor.name} cannot move: ask a mobile robot")
    destination = state.place_of(target)
    if destination is None:
        raise RuleViolation(f"{target} is not in any place, so {actor.name} cannot go there")
    zones = actor.body.zones
    if zones and destination not in zones:
        raise RuleViolation(f"{target} is in the {destination}, outside {actor.name}'s zones ({', '.join(zones)}): "
                            f"ask a robot that works in the {destination}")
    route = _route(actor, destination)
    effect = Effect(op="move", node=actor.name, parent=destination, relation="at", expect_parent=state.parent.get(actor.name))
    where = f"the {destination}" if target == destination else f"the {destination}, by the {target}"
    return Outcome([effect], f"{actor.name} is at {where}", route.travel_s)


def _route(actor: _Actor, destination: str) -> Any:
    state, here = actor.state, actor.here
    if here is None:
        raise RuleViolation(f"{actor.name} is not in any place")
    route = state.route(here, destination, actor.body.zones)
    if route is not None:
        return route
    blocked = state.route(here, destination, actor.body.zones, through_closed=True)
    if blocked is not None:
        closed = [d for d in blocked.doors if not state.is_open(d)]
        raise RuleViolation(f"the {closed[0]} on the way from the {here} to the {destination} is closed: "
                            f"open the {closed[0]} first")
    locked = sorted(d for d in state.kind if state.kind[d] == "door" and state.prop(d, "locked", False))
    hint = f" (locked: {', '.join(locked)})" if locked else ""
    raise RuleViolation(f"no way leads from the {here} to the {destination} for {actor.name}{hint}")


def _pick(actor: _Actor, roles: dict[str, Any]) -> Outcome:
    state = actor.state
    obj = actor.node(roles.get("object"), frozenset({"object"}), "an object")
    holder = state.holder(obj)
    if holder == actor.name:
        raise RuleViolation(f"{actor.name} is already holding {obj}")
    if holder is not None:
        raise RuleViolation(f"{obj} is held by {holder}: ask {holder} to place it somewhere first")
    actor.check_not_enclosed(obj)
    actor.check_reach(obj)
    actor.check_gripper(f"pick up {obj}")
    weight = state.weight_kg(obj)
    if weight > actor.body.payload_kg:
        raise RuleViolation(f"{obj} weighs {weight:g} kg, more than {actor.name}'s payload of "
                            f"{actor.body.payload_kg:g} kg: ask a stronger robot")
    source = state.parent.get(obj)
    effect = Effect(op="move", node=obj, parent=actor.name, relation="held_by", expect_parent=source)
    return Outcome([effect], f"{actor.name} picked up {obj} from {source}")


def _place(actor: _Actor, roles: dict[str, Any]) -> Outcome:
    state = actor.state
    obj = roles.get("object") or actor.only_held()
    obj = actor.node(obj, frozenset({"object"}), "an object held by the robot")
    if state.holder(obj) != actor.name:
        raise RuleViolation(f"{actor.name} is not holding {obj}: pick it up first")
    target = actor.node(_target(roles), SURFACE_KINDS, "furniture or a container")
    relation = _relation(state, target)
    if relation == "in" and not state.is_open(target):
        raise RuleViolation(f"the {target} is closed: open the {target} first")
    actor.check_not_enclosed(target)
    actor.check_reach(target)
    capacity = state.capacity(target)
    if capacity is not None and len(state.contents(target)) >= capacity:
        raise RuleViolation(f"the {target} is full ({capacity} things): take something off it first")
    _check_carrier_payload(state, obj, target)
    effect = Effect(op="move", node=obj, parent=target, relation=relation, expect_parent=actor.name)
    return Outcome([effect], f"{actor.name} placed {obj} {relation} the {target}")


def _check_carrier_payload(state: WorldState, obj: str, target: str) -> None:
    """A carried container's load, with ``obj`` added, must stay within its carrier's payload."""
    carrier = state.carrier_of(target)
    body = state.bodies.get(carrier) if carrier else None
    if body is None:
        return
    load = state.load_kg(target) + state.weight_kg(obj) + state.load_kg(obj)
    if load > body.payload_kg:
        raise RuleViolation(f"{obj} would bring the load in the {target} to {load:g} kg, more than {carrier}'s "
                            f"payload of {body.payload_kg:g} kg: unload something or use another carrier")


def _set_open(open_: bool) -> Callable[[_Actor, dict[str, Any]], Outcome]:
    verb = "open" if open_ else "close"

    def rule(actor: _Actor, roles: dict[str, Any]) -> Outcome:
        target = actor.node(_target(roles) or roles.get("object"), OPENABLE_KINDS, "a container or a door")
        if not actor.body.can_open:
            raise RuleViolation(f"{actor.name} cannot open or close things: ask a robot that can")
        if open_ and actor.state.prop(target, "locked", False):
            raise RuleViolation(f"the {target} is locked: nobody can open it")
        actor.check_not_enclosed(target)
        actor.check_reach(target)
        actor.check_gripper(f"{verb} the {target}")
        was = "already " if actor.state.is_open(target) == open_ else ""
        effect = Effect(op="set", node=target, props={"open": open_})
        return Outcome([effect], f"the {target} is {was}{'open' if open_ else 'closed'}")

    return rule


def _hand_over(actor: _Actor, roles: dict[str, Any]) -> Outcome:
    state = actor.state
    obj = actor.node(roles.get("object") or actor.only_held(), frozenset({"object"}), "an object held by the robot")
    if state.holder(obj) != actor.name:
        raise RuleViolation(f"{actor.name} is not holding {obj}: pick it up first")
    taker = actor.node(_target(roles) or roles.get("robot"), frozenset({"robot"}), "the robot to hand it to")
    if taker == actor.name:
        raise RuleViolation(f"{actor.name} cannot hand {obj} to itself")
    there = state.place_of(taker)
    if there != actor.here:
        raise RuleViolation(f"{taker} is in the {there}, not in the {actor.here} with {actor.name}: "
                            f"bring {taker} to the {actor.here} first")
    problem = handover_limit(state, actor.name, taker)
    if problem:
        raise RuleViolation(f"{problem}: put {obj} on a surface both reach instead")
    receiver = _Actor(state, taker)
    receiver.check_gripper(f"take {obj}")
    weight = state.weight_kg(obj)
    if weight > receiver.body.payload_kg:
        raise RuleViolation(f"{obj} weighs {weight:g} kg, more than {taker}'s payload of "
                            f"{receiver.body.payload_kg:g} kg: hand it to a stronger robot")
    effect = Effect(op="move", node=obj, parent=taker, relation="held_by", expect_parent=actor.name)
    return Outcome([effect], f"{actor.name} handed {obj} to {taker}")


def _landmark(state: WorldState, name: str) -> str | None:
    """What to navigate to for reaching ``name``: it, or the furniture or container it is on or in."""
    if state.kind.get(name) in GO_TO_KINDS:
        return name
    return next((p for p, _ in state.ancestors(name) if state.kind.get(p) in GO_TO_KINDS), None)


def _target(roles: dict[str, Any]) -> Any:
    for role in ("target", "destination", "place", "container"):
        if roles.get(role):
            return roles[role]
    return None


def _relation(state: WorldState, target: str) -> str:
    return "in" if state.kind.get(target) == "container" else "on"


def _a(kind: str) -> str:
    return {"furniture": "furniture", "object": "an object"}.get(kind, f"a {kind}")


_RULES: dict[str, Callable[[_Actor, dict[str, Any]], Outcome]] = {
    "navigate": _navigate,
    "pick": _pick,
    "place": _place,
    "open": _set_open(True),
    "close": _set_open(False),
    "handover": _hand_over,
}
