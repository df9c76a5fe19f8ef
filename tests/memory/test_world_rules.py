"""The world model's rules on a small apartment: doors, reach, stations, cargo, capacity, nesting."""

from __future__ import annotations

import pytest

from memory.profiles import SceneNode
from memory.world import RuleViolation, WorldState, act, body_for, effects_of
from memory.world.bodies import DEFAULT_TRAVEL_S, Body
from memory.world.state import Route


def _passages(*links: tuple[str, str, str | None]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for a, b, door in links:
        found.setdefault(a, []).append({"to": b, "travel_s": 2.0, "door": door})
        found.setdefault(b, []).append({"to": a, "travel_s": 2.0, "door": door})
    return found


def _state(**props: dict) -> WorldState:
    links = _passages(("hall", "kitchen", None), ("hall", "bedroom", "bedroom_door"), ("hall", "vault", "vault_door"))
    nodes = [SceneNode(p, "place", props={"passages": links[p]}) for p in links]
    nodes += [
        SceneNode("bedroom_door", "door", props={"open": False}),
        SceneNode("vault_door", "door", props={"open": False, "locked": True}),
        SceneNode("shelf", "furniture", "kitchen", "at", {"height": "high", "capacity": 1}),
        SceneNode("mat", "furniture", "hall", "at", {"height": "floor"}),
        SceneNode("cabinet", "container", "kitchen", "at", {"open": False}),
        SceneNode("box", "container", "cabinet", "in", {"open": True}),
        SceneNode("coin", "object", "box", "in", {"weight_kg": 0.01}),
        SceneNode("cup", "object", "shelf", "on", {"weight_kg": 0.3}),
        SceneNode("bone", "object", "mat", "on"),
        SceneNode("dog", "robot", "hall", "at"), SceneNode("drone", "robot", "hall", "at"),
        SceneNode("basket", "container", "drone", "on", {"cargo_of": "drone"}),
        SceneNode("arm", "robot", "kitchen", "at"), SceneNode("humanoid", "robot", "kitchen", "at"),
    ]
    for node in nodes:
        node.props.update(props.get(node.name, {}))
    bodies = {"dog": body_for("quadruped"), "drone": body_for("drone", {"grippers": 0, "cargo": "basket"}),
              "arm": body_for("fixed_single_arm", {"station": "shelf"}), "humanoid": body_for("humanoid")}
    return WorldState.from_nodes(nodes, bodies)


def _fails(state: WorldState, robot: str, kind: str, match: str, **roles: str) -> None:
    with pytest.raises(RuleViolation, match=match):
        act(state, robot, kind, roles)


def test_a_closed_door_blocks_travel_until_opened_and_a_locked_one_for_good() -> None:
    state = _state()
    _fails(state, "dog", "navigate", "the bedroom_door on the way from the hall to the bedroom is closed",
           target="bedroom")
    state.apply(act(state, "dog", "open", {"target": "bedroom_door"}).effects)
    outcome = act(state, "dog", "navigate", {"target": "bedroom"})
    assert outcome.travel_s == 2.0 and outcome.effects[0].parent == "bedroom"
    _fails(state, "humanoid", "open", "the vault_door is locked", target="vault_door")
    _fails(state, "humanoid", "navigate", "no way leads from the kitchen to the vault", target="vault")


def test_reach_heights_and_stations() -> None:
    state = _state()
    state.move("dog", "kitchen", "at")
    _fails(state, "dog", "pick", "cup is at high height, out of dog's reach", object="cup")
    state.apply(act(state, "arm", "pick", {"object": "cup"}).effects)  # its station
    _fails(state, "arm", "open", "arm is fixed at the shelf", target="cabinet")
    state.move("humanoid", "hall", "at")
    assert act(state, "humanoid", "pick", {"object": "bone"}).effects[0].parent == "humanoid"  # floor


def test_nested_containers_open_outermost_first_and_need_a_free_gripper() -> None:
    state = _state()
    _fails(state, "humanoid", "pick", "coin is in the cabinet, which is closed", object="coin")
    state.apply(act(state, "humanoid", "open", {"target": "cabinet"}).effects)
    state.apply(act(state, "humanoid", "pick", {"object": "coin"}).effects)
    state.move("cup", "humanoid", "held_by")
    _fails(state, "humanoid", "close", "humanoid's 2 grippers are full", target="cabinet")


def test_cargo_is_loaded_by_others_and_travels_with_its_carrier() -> None:
    state = _state()
    _fails(state, "drone", "pick", "drone has no gripper", object="bone")
    _fails(state, "drone", "open", "drone cannot open or close things", target="bedroom_door")
    state.apply(act(state, "dog", "pick", {"object": "bone"}).effects)
    state.apply(act(state, "dog", "place", {"object": "bone", "target": "basket"}).effects)
    state.apply(act(state, "drone", "navigate", {"target": "kitchen"}).effects)
    assert state.place_of("bone") == "kitchen" and state.height_of("bone") == "low"
    state.apply(act(state, "humanoid", "pick", {"object": "bone"}).effects)


def test_capacity_payload_and_a_broken_action_still_has_its_intended_effect() -> None:
    state = _state(cup={"weight_kg": 9.0})
    _fails(state, "humanoid", "pick", "cup weighs 9 kg, more than humanoid's payload of 3 kg", object="cup")
    state.move("coin", "humanoid", "held_by")
    _fails(state, "humanoid", "place", "the shelf is full", object="coin", target="shelf")
    [effect] = effects_of(state, "humanoid", "place", {"object": "coin", "target": "shelf"})
    assert (effect.node, effect.parent, effect.relation) == ("coin", "shelf", "on")


def test_a_carried_container_holds_no_more_than_its_carrier_can_lift() -> None:
    state = _state(bone={"weight_kg": 0.25})
    payload = state.bodies["drone"].payload_kg
    state.move("cup", "basket", "in")
    state.props["cup"] = {**state.props["cup"], "weight_kg": payload - 0.125}
    state.apply(act(state, "dog", "pick", {"object": "bone"}).effects)
    _fails(state, "dog", "place", f"load in the basket to {payload + 0.125:g} kg, more than drone's payload",
           object="bone", target="basket")
    state.move("cup", "shelf", "on")
    state.apply(act(state, "dog", "place", {"object": "bone", "target": "basket"}).effects)
    assert state.carrier_of("bone") == "drone" and state.load_kg("basket") == 0.25


def test_a_handover_needs_both_in_one_place_free_hands_and_no_station() -> None:
    state = _state()
    state.move("dog", "kitchen", "at")
    state.apply(act(state, "humanoid", "pick", {"object": "cup"}).effects)
    outcome = act(state, "humanoid", "handover", {"object": "cup", "target": "dog"})
    assert [(e.node, e.parent, e.relation) for e in outcome.effects] == [("cup", "dog", "held_by")]
    _fails(state, "humanoid", "handover", "arm is fixed at the shelf", object="cup", target="arm")
    state.move("dog", "hall", "at")
    _fails(state, "humanoid", "handover", "dog is in the hall, not in the kitchen", object="cup", target="dog")
    _fails(state, "dog", "handover", "dog is not holding cup", object="cup", target="humanoid")


def test_a_copy_shares_nothing_that_either_side_changes() -> None:
    original = WorldState.from_nodes([SceneNode("kitchen", "place"), SceneNode("pass", "place"),
                                      SceneNode("cup", "object", "kitchen", "at"),
                                      SceneNode("plate", "object", "kitchen", "at")], {})
    copy = original.copy()
    copy.move("cup", "pass", "at")
    original.move("plate", "pass", "at")
    assert copy.children == {"kitchen": {"plate"}, "pass": {"cup"}}
    assert original.children == {"kitchen": {"cup"}, "pass": {"plate"}}
    again = copy.copy()
    again.move("plate", "pass", "at")
    assert again.children == {"kitchen": set(), "pass": {"cup", "plate"}}
    assert copy.children == {"kitchen": {"plate"}, "pass": {"cup"}}
    # every table: parents, relations, kinds, props, bodies
    again.move("cup", "plate", "on")
    again.put(SceneNode("tray", "object", "pass", "at", {"colour": "red"}))
    again.set_props("kitchen", {"dark": True})
    again.set_body("dog", Body())
    assert (copy.parent["cup"], copy.relation["cup"]) == ("pass", "at") and "tray" not in copy.kind
    assert "dark" not in copy.props["kitchen"] and "dog" not in copy.bodies
    assert (again.parent["cup"], again.kind["tray"], again.props["kitchen"]) == ("plate", "object", {"dark": True})
    assert original.parent["cup"] == "kitchen" and "tray" not in original.props


def test_without_passages_every_place_in_the_zones_is_one_move_away() -> None:
    state = WorldState.from_nodes([SceneNode("kitchen", "place"), SceneNode("pass", "place"),
                                   SceneNode("dining", "place"), SceneNode("shelf", "furniture", "kitchen", "at")], {})
    assert set(state.routes("kitchen")) == {"kitchen", "pass", "dining"}
    # zones naming furniture, an unknown node or a place twice: only the places count
    zoned = state.routes("kitchen", ["pass", "shelf", "nowhere", "pass", "kitchen"])
    assert zoned == {"kitchen": Route(("kitchen",)), "pass": Route(("kitchen", "pass"), (), DEFAULT_TRAVEL_S)}
    assert state.route("kitchen", "dining", iter(["pass"])) is None and state.route("kitchen", "dining") is not None
