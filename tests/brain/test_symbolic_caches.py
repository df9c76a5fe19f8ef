"""What the symbolic planner keeps between plans: the lexicon of names and the robots' abilities.

A cached answer must equal a fresh one, and a change to what it depends on must be seen.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import pytest

from brain.errors import PlanningError
from brain.symbolic import fleet as fleet_module
from brain.symbolic import lexicon as lexicon_module
from brain.symbolic.actions import MANIPULATION_S
from brain.symbolic.fleet import Fleet
from brain.symbolic.lexicon import Lexicon
from brain.symbolic.planner import SymbolicPlanner
from brain.symbolic.state import simulated
from brain.symbolic.vocabulary import Vocabulary
from brain.world import NodeMap, NodeView, RobotView, SkillView, WorldView, changed_nodes
from tests.brain.conftest import WorldFactory


def _with(world: WorldView, *nodes: NodeView) -> WorldView:
    """``world`` with some nodes replaced, the others the very same views (as the master's view does)."""
    return WorldView(robots=world.robots, nodes={**world.nodes, **{n.name: n for n in nodes}}, version=world.version + 1)


def _moved(world: WorldView, name: str, parent: str) -> NodeView:
    return replace(world.nodes[name], parent=parent)


def _props(world: WorldView, name: str, **props: Any) -> NodeView:
    node = world.nodes[name]
    return replace(node, props={**node.props, **props})


def test_changed_nodes_compares_identities_and_names() -> None:
    a, b = NodeView("a", "place"), NodeView("b", "place")
    assert changed_nodes({"a": a, "b": b}, {"a": a, "b": b}) == []
    assert changed_nodes({"a": a, "b": b}, {"a": a, "b": NodeView("b", "place")}) == ["b"]
    assert changed_nodes({"a": a, "b": b}, {"b": b, "a": a}) is None
    assert changed_nodes({"a": a}, {"a": a, "b": b}) is None


def test_a_node_map_tells_its_changes_from_its_base() -> None:
    a, b = NodeView("a", "place"), NodeView("b", "place")
    first = NodeMap({"a": a, "b": b})
    second = NodeMap({"a": a, "b": replace(b, props={"x": 1})}, first, ["b"])
    assert second.base is first and changed_nodes(first, second) == ["b"]
    other = NodeMap({"a": a, "b": b})
    assert changed_nodes(other, second) == ["b"]  # not its base: compared view by view
    assert NodeMap({"a": a}, first, None).changed is None  # changes not known: none claimed
    del first
    gc.collect()
    assert second.base is None  # held weakly: a chain of worlds keeps no old one alive


# -- the lexicon ------------------------------------------------------------------------------------


def test_lexicon_is_reused_while_only_positions_change(world: WorldView) -> None:
    first = Lexicon.of(world)
    moved = _with(world, _moved(world, "cup", "pass_counter"), _moved(world, "runner", "pass"))
    again = Lexicon.of(moved)
    assert again.by_text is first.by_text and again.nodes is moved.nodes
    fresh = Lexicon.build(moved)
    assert (again.keys, again.by_text, again.by_single, again.robots) == (
        fresh.keys, fresh.by_text, fresh.by_single, fresh.robots)
    assert Vocabulary(moved).node("the cup", ("object",), "object") == "cup"


def test_a_world_built_from_dicts_again_reuses_the_lexicon(make_world: WorldFactory) -> None:
    first = Lexicon.of(make_world())
    assert Lexicon.of(make_world(moves={"cup": ("table_1", "on")})).by_text is first.by_text


def test_lexicon_sees_a_new_alias(world: WorldView) -> None:
    with pytest.raises(PlanningError):
        Vocabulary(world).node("the mug", ("object",), "object")
    aliased = _with(world, _props(world, "cup", aliases=["mug"]))
    assert Vocabulary(aliased).node("the mug", ("object",), "object") == "cup"
    assert Lexicon.of(aliased).by_text is not Lexicon.of(world).by_text


def test_lexicon_sees_new_and_renamed_nodes(world: WorldView) -> None:
    Lexicon.of(world)
    added = _with(world, NodeView("teapot", "object", "kitchen_table", "on"))
    assert Vocabulary(added).node("the teapot", ("object",), "object") == "teapot"
    renamed = WorldView(robots=world.robots, nodes={("mug" if n == "cup" else n): replace(v, name="mug") if n == "cup"
                                                    else v for n, v in world.nodes.items()})
    assert Vocabulary(renamed).node("the mug", ("object",), "object") == "mug"
    with pytest.raises(PlanningError):
        Vocabulary(renamed).node("the cup", ("object",), "object")


def test_lexicon_sees_a_change_of_kind_and_of_robots(world: WorldView) -> None:
    Lexicon.of(world)
    as_container = _with(world, replace(world.nodes["cup"], kind="container"))
    assert Vocabulary(as_container).nodes("the cup", ("container",), "container") == ["cup"]
    renamed = {("busboy" if n == "waiter" else n): replace(r, name="busboy") if n == "waiter" else r
               for n, r in world.robots.items()}
    fewer = WorldView(robots=renamed, nodes=world.nodes)
    assert Vocabulary(fewer).robot("busboy") == "busboy"


# -- the robots' abilities ---------------------------------------------------------------------------


def _skill(name: str, kind: str, **roles: str) -> SkillView:
    properties = {arg: {"type": "string"} for arg in roles.values()}
    return SkillView(name, parameters={"properties": properties, "required": list(properties)}, kind=kind, roles=roles)


SKILLS = {s.name: s for s in (_skill("go", "navigate", target="target"), _skill("pick", "pick", object="object"),
                              _skill("place", "place", object="object", target="target"),
                              _skill("open", "open", target="target"))}


def _ring() -> WorldView:
    """Places a - b - c - d - a; the door d1 between a and b."""
    ring = ("a", "b", "c", "d")

    def passages(i: int) -> list[dict[str, Any]]:
        near = (ring[(i - 1) % 4], ring[(i + 1) % 4])
        return [{"to": p, "travel_s": 1.0, "door": "d1" if {ring[i], p} == {"a", "b"} else None} for p in near]

    nodes = [NodeView(p, "place", props={"passages": passages(i)}) for i, p in enumerate(ring)]
    nodes += [NodeView("d1", "door", props={"open": False}), NodeView("robo", "robot", "a", "at")]
    robot = RobotView("robo", "wheeled_dual_arm", position="a", skills=dict(SKILLS),
                      capabilities={"arms": 2, "zones": ["a", "b", "c"]})
    return WorldView(robots={"robo": robot}, nodes={n.name: n for n in nodes})


def _ability(world: WorldView) -> tuple[frozenset[str], bool, bool]:
    ability = Fleet(world, simulated(world)).abilities["robo"]
    return ability.places, ability.handles, ability.opens


def test_abilities_follow_doors_positions_and_skills() -> None:
    world = _ring()
    assert _ability(world) == (frozenset("abc"), True, True)
    assert _ability(world) == (frozenset("abc"), True, True)  # the cached answer is the same
    locked = _with(world, _props(world, "d1", locked=True))
    assert _ability(locked) == (frozenset("a"), True, True)
    opened = _with(locked, _props(locked, "d1", open=True))  # still locked
    assert _ability(opened)[0] == frozenset("a")
    moved = _with(locked, _moved(locked, "robo", "b"))
    assert _ability(moved)[0] == frozenset("bc")
    robot = world.robots["robo"]
    no_open = {n: s for n, s in SKILLS.items() if n != "open"}
    fewer = WorldView(robots={"robo": replace(robot, skills=no_open)}, nodes=moved.nodes)
    assert _ability(fewer) == (frozenset("bc"), True, False)
    zoned = WorldView(robots={"robo": replace(robot, capabilities={"arms": 2, "zones": ["b"]})}, nodes=moved.nodes)
    assert _ability(zoned) == (frozenset("b"), True, True)
    armless = WorldView(robots={"robo": replace(robot, capabilities={"arms": 0})}, nodes=world.nodes)
    assert _ability(armless) == (frozenset("abcd"), False, False)


def test_the_next_fleet_works_out_only_the_robots_that_changed() -> None:
    world = _ring()
    robot = world.robots["robo"]
    two = WorldView(robots={"robo": robot, "robo2": replace(robot, name="robo2")},
                    nodes={**world.nodes, "robo2": NodeView("robo2", "robot", "c", "at")})
    first = Fleet(two, simulated(two))
    busy = WorldView(robots={**two.robots, "robo2": replace(two.robots["robo2"], status="busy")}, nodes=two.nodes)
    second = Fleet(busy, simulated(busy))
    assert second.abilities["robo"] is first.abilities["robo"]
    assert second.busy_s == {"robo": 0.0, "robo2": 2 * MANIPULATION_S}
    moved = _with(busy, _moved(busy, "robo", "b"))  # the same view, its node moved: worked out again
    third = Fleet(moved, simulated(moved))
    assert third.abilities["robo"] is not second.abilities["robo"] and third.state.place_of("robo") == "b"
    assert third.abilities["robo2"] is second.abilities["robo2"]
    avoided = Fleet(moved, simulated(moved), {"robo2"})
    assert "robo2" not in avoided.abilities and avoided.unusable == {"robo2": "it is to be avoided in this replan"}
    offline = WorldView(robots={**moved.robots, "robo": replace(moved.robots["robo"], online=False)}, nodes=moved.nodes)
    assert Fleet(offline, simulated(offline)).unusable == {"robo": "it is offline"}


def test_a_new_map_is_planned_on_afresh() -> None:
    world = _ring()
    _ability(world)
    cut = _with(world, replace(world.nodes["c"], props={"passages": [{"to": "b", "travel_s": 1.0, "door": None}]}),
                replace(world.nodes["b"], props={"passages": [{"to": "a", "travel_s": 1.0, "door": "d1"}]}))
    assert _ability(cut)[0] == frozenset("ab")


def test_warming_builds_what_the_first_plan_would(world: WorldView) -> None:
    assert "state" not in world.__dict__
    SymbolicPlanner().warm(world)
    assert "state" in world.__dict__  # the world's state, built once
    assert lexicon_module._recent[0].nodes is world.nodes  # the lexicon of its names, most recent
    assert fleet_module._known.fleet is not None and fleet_module._known.fleet.robots is world.robots
