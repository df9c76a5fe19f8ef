from __future__ import annotations

from dataclasses import replace

from brain.world import WorldView
from tests.brain.conftest import WorldFactory


def test_robots_carry_skills_semantics_and_capabilities(world: WorldView) -> None:
    waiter = world.robots["waiter"]
    assert waiter.online and waiter.status == "idle" and waiter.position == "dining"
    walk = waiter.skills["walk_to"]
    assert (walk.kind, walk.roles) == ("navigate", {"target": "destination"})
    assert walk.parameters["required"] == ["destination"]
    assert waiter.mobile and waiter.arms == 2 and waiter.payload_kg == 3.0
    assert waiter.zones == ("pass", "dining")
    assert [s.name for s in waiter.skills_of_kind("place")] == ["put_down"]
    assert not world.robots["pass_arm"].mobile
    assert world.version == 7


def test_place_of_walks_up_parents(world: WorldView) -> None:
    assert world.place_of("apple") == "kitchen"
    assert world.place_of("milk") == "kitchen"  # in the fridge, which is in the kitchen
    assert world.place_of("table_2") == "dining"
    assert world.place_of("dining") == "dining"
    assert world.place_of("runner") == "kitchen"
    assert world.place_of("nowhere") is None


def test_containers_are_open_unless_their_props_say_closed(make_world: WorldFactory) -> None:
    assert not make_world().is_open("fridge")
    assert make_world(props={"fridge": {"open": True}}).is_open("fridge")
    assert make_world().is_open("pass_counter")


def test_reachable_places_follow_zones_and_mobility(make_world: WorldFactory) -> None:
    world = make_world()
    assert world.reachable_places("runner") == {"kitchen", "pass"}
    assert world.reachable_places("waiter") == {"pass", "dining"}
    assert world.reachable_places("pass_arm") == {"pass"}


def test_empty_zones_mean_every_place() -> None:
    robot = {"name": "rover", "embodiment": "quadruped", "capabilities": {"mobile": True, "zones": []},
             "skills": [{"name": "go", "semantics": {"kind": "navigate", "roles": {"target": "to"}}}]}
    world = WorldView.from_dicts([robot], {"version": 1, "nodes": [
        {"name": "a", "kind": "place"}, {"name": "b", "kind": "place"}]})
    assert world.reachable_places("rover") == {"a", "b"}
    assert world.robots["rover"].online  # a bare profile reads as online


def test_robots_with_kind(world: WorldView) -> None:
    assert [r.name for r in world.robots_with_kind("navigate")] == ["runner", "waiter"]
    assert [r.name for r in world.robots_with_kind("open")] == ["runner"]
    assert [r.name for r in world.robots_with_kind("pick")] == ["pass_arm", "runner", "waiter"]


def test_holding_and_position_come_from_the_scene(make_world: WorldFactory) -> None:
    world = make_world(moves={"apple": ("runner", "held_by"), "runner": ("pass_counter", "at")})
    assert world.robots["runner"].holding == ("apple",)
    assert world.robots["runner"].position == "pass_counter"
    assert world.holder_of("apple") == "runner"
    assert world.place_of("apple") == "pass"


def test_offline_robot_reads_offline(make_world: WorldFactory) -> None:
    world = make_world(offline={"waiter"})
    assert not world.robots["waiter"].online
    assert [r.name for r in world.online_robots()] == ["pass_arm", "runner"]


def _after(world: WorldView, moves: dict[str, tuple[str | None, str | None]], **props: dict) -> WorldView:
    """``world`` with some nodes replaced (the others the very same views), as the fleet view builds it."""
    nodes = dict(world.nodes)
    for name, (parent, relation) in moves.items():
        nodes[name] = replace(nodes[name], parent=parent, relation=relation)
    for name, extra in props.items():
        nodes[name] = replace(nodes[name], props={**nodes[name].props, **extra})
    robots = {name: replace(robot, position=nodes[name].parent,
                            holding=tuple(sorted(n for n, v in nodes.items() if v.relation == "held_by" and v.parent == name)))
              for name, robot in world.robots.items()}
    return WorldView(robots=robots, nodes=nodes, version=world.version + 1)


def _after_some(world: WorldView, moves: dict[str, tuple[str | None, str | None]], **props: dict) -> WorldView:
    """Like ``_after``, but as the fleet view builds it: a robot whose place and holding stay is the very same view."""
    fresh = _after(world, moves, **props)
    robots = {name: world.robots[name] if (robot.position, robot.holding) == (world.robots[name].position,
                                                                              world.robots[name].holding) else robot
              for name, robot in fresh.robots.items()}
    return WorldView(robots=robots, nodes=fresh.nodes, version=fresh.version)


def _contents(world: WorldView) -> tuple:
    state = world.state
    return (list(state.kind.items()), list(state.parent.items()), list(state.relation.items()), state.props,
            state.bodies, {k: v for k, v in state.children.items() if v}, state.has_passages())


def test_a_state_patched_from_the_last_view_equals_a_fresh_build(world: WorldView) -> None:
    steps = [
        {"runner": ("pass", "at")},
        {"apple": ("runner", "held_by"), "runner": ("kitchen", "at")},
        {"apple": ("pass_counter", "on")},
        {"cup": ("waiter", "held_by"), "milk": ("table_1", "on")},
    ]
    world.state  # built once, as a plan would
    for moves in steps:
        after = _after(world, moves)
        patched = after.reuse_state(world)
        assert "state" in patched.__dict__
        assert _contents(patched) == _contents(_after(world, moves))
        world = patched


def test_a_state_patched_for_the_robots_that_changed_equals_a_fresh_build(world: WorldView) -> None:
    steps = [
        {"apple": ("runner", "held_by")},  # only the runner's view changes
        {"runner": ("pass", "at")},
        {"cup": ("waiter", "held_by")},
        {},  # the cup, held by a waiter whose view stays, gets new props
        {"apple": ("pass_counter", "on"), "cup": ("table_1", "on"), "runner": ("kitchen", "at")},
    ]
    world.state
    for number, moves in enumerate(steps):
        props = {"cup": {"hot": True}} if not moves else {}
        after = _after_some(world, moves, **props)
        assert number == 3 or any(after.robots[n] is world.robots[n] for n in after.robots)  # some views kept
        patched = after.reuse_state(world)
        assert "state" in patched.__dict__
        assert _contents(patched) == _contents(_after(world, moves, **props)), moves
        world = patched


def test_a_patched_state_sees_a_changed_map_and_leaves_the_last_one_alone(world: WorldView) -> None:
    before = _contents(world)
    after = _after(world, {}, kitchen={"passages": [{"to": "pass", "door": "fridge"}]}, fridge={"locked": True})
    patched = after.reuse_state(world)
    assert patched.state.has_passages() and patched.state.route("kitchen", "pass") is None
    assert _contents(patched) == _contents(_after(world, {}, kitchen={"passages": [{"to": "pass", "door": "fridge"}]},
                                                  fridge={"locked": True}))
    assert _contents(world) == before


def test_no_state_is_patched_when_the_names_differ_or_the_last_one_was_never_built(world: WorldView) -> None:
    assert "state" not in _after(world, {}).reuse_state(world).__dict__  # the last state was never built
    world.state
    fewer = WorldView(robots=world.robots, nodes={n: v for n, v in world.nodes.items() if n != "bowl"})
    assert "state" not in fewer.reuse_state(world).__dict__
