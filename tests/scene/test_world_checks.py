"""The richer world of a scene: passages and doors, checked props, robot bodies and cargo."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from scene import SceneError, list_scenes, load_scene
from tests.scene.test_loader import write

WORLD: dict[str, Any] = {
    "name": "flat",
    "passages": [
        {"between": ["hall", "kitchen"], "travel_s": 3},
        {"between": ["hall", "bedroom"], "door": "bedroom_door"},
    ],
    "nodes": {
        "hall": {"kind": "place"},
        "kitchen": {"kind": "place"},
        "bedroom": {"kind": "place"},
        "bedroom_door": {"kind": "door", "props": {"open": False, "locked": False}},
        "high_table": {"kind": "furniture", "at": "kitchen", "props": {"height": "high", "capacity": 2}},
        "cabinet": {"kind": "container", "at": "kitchen", "props": {"open": False, "height": "low"}},
        "box": {"kind": "container", "in": "cabinet", "props": {"open": False}},
        "coin": {"kind": "object", "in": "box", "props": {"weight_kg": 0.01, "aliases": ["silver coin"]}},
        "mug": {"kind": "object", "on": "high_table", "props": {"weight_kg": 0.3}},
    },
    "fleet": [
        {"name": "arm", "embodiment": "fixed_single_arm", "start": "kitchen", "station": "high_table"},
        {"name": "drone", "embodiment": "drone", "start": "hall", "grippers": 0, "payload_kg": 1,
         "reach": ["floor", "low", "high"], "can_open": False, "cargo": {"name": "basket", "capacity": 3}},
        {"name": "dog", "embodiment": "quadruped", "start": "hall"},
    ],
    "demo_tasks": [{"name": "coin", "task": "put the coin in the basket",
                    "expect": [{"node": "coin", "in": "basket"}]}],
}


def prop(node: str, **values: Any) -> Any:
    return lambda d: d["nodes"][node].setdefault("props", {}).update(values)


def body(index: int, **values: Any) -> Any:
    return lambda d: d["fleet"][index].update(values)


def world(change: Any = None) -> dict[str, Any]:
    data = copy.deepcopy(WORLD)
    if change is not None:
        change(data)
    return data


def test_passages_become_place_props_both_ways(tmp_path: Path) -> None:
    profile = load_scene(write(tmp_path, world()))
    props = {n.name: n.props for n in profile.nodes if n.kind == "place"}
    assert props["hall"]["passages"] == [{"to": "kitchen", "travel_s": 3.0, "door": None},
                                         {"to": "bedroom", "travel_s": 1.0, "door": "bedroom_door"}]
    assert props["kitchen"]["passages"] == [{"to": "hall", "travel_s": 3.0, "door": None}]
    assert props["bedroom"]["passages"] == [{"to": "hall", "travel_s": 1.0, "door": "bedroom_door"}]
    assert [p.between for p in profile.passages or []] == [["hall", "kitchen"], ["hall", "bedroom"]]
    assert isinstance(props["hall"]["passages"][0]["travel_s"], float)


def test_an_isolated_place_gets_no_passages(tmp_path: Path) -> None:
    profile = load_scene(write(tmp_path, world(lambda d: d["nodes"].update(attic={"kind": "place"}))))
    assert next(n for n in profile.nodes if n.name == "attic").props == {"passages": []}


@pytest.mark.parametrize("name", ["restaurant", "household", "supermarket"])
def test_a_scene_without_passages_stays_fully_connected(name: str) -> None:
    profile = load_scene(name)
    assert profile.passages is None
    assert not any("passages" in n.props for n in profile.nodes)
    assert all(e.body_overrides() == {} for e in profile.fleet)


def test_world_nodes_add_robots_and_cargo(tmp_path: Path) -> None:
    profile = load_scene(write(tmp_path, world()))
    nodes = {n.name: n for n in profile.world_nodes()}
    assert set(nodes) == {n.name for n in profile.nodes} | {"arm", "drone", "dog", "basket"}
    assert (nodes["drone"].kind, nodes["drone"].relation, nodes["drone"].parent) == ("robot", "at", "hall")
    basket = nodes["basket"]
    assert (basket.kind, basket.relation, basket.parent) == ("container", "on", "drone")
    assert basket.props == {"capacity": 3, "open": True, "height": "low", "cargo_of": "drone"}
    assert "basket" not in {n.name for n in profile.nodes}
    nodes["mug"].props["weight_kg"] = 9
    assert next(n for n in profile.nodes if n.name == "mug").props["weight_kg"] == 0.3


def test_body_overrides_hold_only_what_the_scene_set(tmp_path: Path) -> None:
    profile = load_scene(write(tmp_path, world()))
    assert profile.robot("drone").body_overrides() == {
        "grippers": 0, "payload_kg": 1.0, "reach": ["floor", "low", "high"], "can_open": False, "cargo": "basket"}
    assert profile.robot("arm").body_overrides() == {"station": "high_table"}
    assert profile.robot("dog").body_overrides() == {}
    assert isinstance(profile.robot("drone").payload_kg, float)


@pytest.mark.parametrize(("change", "message"), [
    # passages
    (lambda d: d.update(passages={"hall": "kitchen"}), "passages: expected list"),
    (lambda d: d["passages"][0].update(via="x"), "passages[0].via: unknown key"),
    (lambda d: d["passages"][0].pop("between"), "passages[0].between: missing required key"),
    (lambda d: d["passages"][0].update(between=["hall"]), "passages[0].between: expected two places, got 1"),
    (lambda d: d["passages"][0].update(between=["hall", "garden"]), "passages[0].between: 'garden' is not a place"),
    (lambda d: d["passages"][0].update(between=["hall", "mug"]), "passages[0].between: 'mug' is not a place"),
    (lambda d: d["passages"][0].update(between=["hall", "hall"]), "passages[0].between: a passage joins two different"),
    (lambda d: d["passages"].append({"between": ["kitchen", "hall"]}),
     "passages[2].between: hall and kitchen are already connected by passages[0]"),
    (lambda d: d["passages"][0].update(travel_s=0), "passages[0].travel_s: must be > 0, got 0"),
    (lambda d: d["passages"][0].update(travel_s="slow"), "passages[0].travel_s: Input should be a valid number, got str 'slow'"),
    (lambda d: d["passages"][0].update(door="front_door"), "passages[0].door: unknown node 'front_door'"),
    (lambda d: d["passages"][0].update(door="cabinet"), "passages[0].door: cabinet is a container, not a door"),
    (lambda d: d["passages"][0].update(door="bedroom_door"),
     "passages[1].door: bedroom_door is already the door of passages[0]"),
    (lambda d: d["passages"][1].pop("door"), "nodes.bedroom_door: a door must be the door of a passage"),
    (lambda d: d.pop("passages"), "nodes.bedroom_door: a door must be the door of a passage"),
    # doors
    (lambda d: d["nodes"]["bedroom_door"].update(at="hall"), "nodes.bedroom_door.at: a door has no parent"),
    (lambda d: d["nodes"]["mug"].update(on="bedroom_door"),
     "nodes.mug.on: bedroom_door is a door; 'on' needs a container or a furniture"),
    (prop("bedroom_door", open=True, locked=True), "nodes.bedroom_door.props.open: a locked door is closed"),
    (prop("bedroom_door", locked="yes"), "nodes.bedroom_door.props.locked: expected true or false, got 'yes'"),
    (prop("cabinet", locked=True), "nodes.cabinet.props.locked: only for door"),
    # props
    (prop("high_table", height="tall"), "nodes.high_table.props.height: expected one of floor, low, high, got 'tall'"),
    (prop("mug", height="low"), "nodes.mug.props.height: only for container or furniture"),
    (prop("high_table", capacity=0), "nodes.high_table.props.capacity: expected an int >= 1"),
    (prop("high_table", capacity=2.5), "nodes.high_table.props.capacity: expected an int"),
    (lambda d: prop("high_table", capacity=1)(d) or d["nodes"].update(cup={"kind": "object", "on": "high_table"}),
     "nodes.high_table.props.capacity: 1, but 2 things start on or in it (cup, mug)"),
    (prop("cabinet", open="no"), "nodes.cabinet.props.open: expected true or false"),
    (prop("mug", open=True), "nodes.mug.props.open: only for container or door"),
    (prop("mug", weight_kg=-1), "nodes.mug.props.weight_kg: expected a number >= 0"),
    (prop("mug", weight_kg=True), "nodes.mug.props.weight_kg: expected a number"),
    (prop("cabinet", weight_kg=3), "nodes.cabinet.props.weight_kg: only for object"),
    (prop("mug", aliases="cup"), "nodes.mug.props.aliases: expected a list of names"),
    (prop("mug", aliases=["Silver coin"]), "nodes.mug.props.aliases: 'Silver coin' already names coin"),
    (prop("mug", aliases=["high table"]), "nodes.mug.props.aliases: 'high table' already names high_table"),
    (lambda d: d["nodes"]["hall"].update(props={"passages": []}),
     "nodes.hall.props.passages: the loader writes this prop: declare passages under the top-level passages key"),
    (prop("cabinet", cargo_of="drone"), "nodes.cabinet.props.cargo_of: the loader writes"),
    # bodies
    (body(1, grippers=-1), "fleet[1] (drone).grippers: must be >= 0, got -1"),
    (body(1, grippers=1.5), "fleet[1] (drone).grippers: Input should be a valid integer, got float 1.5"),
    (body(1, payload_kg=0), "fleet[1] (drone).payload_kg: must be > 0"),
    (body(1, reach=["low", "middle"]), "fleet[1] (drone).reach: expected heights among floor, low, high, got 'middle'"),
    (body(1, reach=["low", "low"]), "fleet[1] (drone).reach: a height is given twice"),
    (body(1, reach="low"), "fleet[1] (drone).reach: Input should be a valid list, got str 'low'"),
    (body(1, can_open="no"), "fleet[1] (drone).can_open: Input should be a valid boolean, got str 'no'"),
    (body(0, station="counter"), "fleet[0] (arm).station: unknown node 'counter'"),
    (body(0, station="mug"), "fleet[0] (arm).station: mug is an object; a station is furniture"),
    (body(0, start="hall"), "fleet[0] (arm).station: high_table is in the kitchen, but the robot starts in the hall"),
    (body(1, cargo="basket"), "fleet[1] (drone).cargo: expected a mapping"),
    (body(1, cargo={"name": "basket", "size": 2}), "fleet[1] (drone).cargo.size: unknown key"),
    (body(1, cargo={"capacity": 2}), "fleet[1] (drone).cargo.name: missing required key"),
    (body(1, cargo={"name": "basket", "capacity": 0}), "fleet[1] (drone).cargo.capacity: must be >= 1"),
    (lambda d: body(1, cargo={"name": "box"})(d) or d.pop("demo_tasks"),
     "fleet[1] (drone).cargo.name: 'box' is already the name of a node, robot or cargo"),
    (lambda d: body(1, cargo={"name": "dog"})(d) or d.pop("demo_tasks"),
     "fleet[1] (drone).cargo.name: 'dog' is already the name"),
    (body(2, cargo={"name": "basket"}), "fleet[2] (dog).cargo.name: 'basket' is already the name of a node, robot"),
    (lambda d: d["demo_tasks"][0]["expect"][0].update({"in": "bag"}),
     "demo_tasks[0] (coin).expect[0].in: unknown node, robot or cargo 'bag'"),
])
def test_bad_world_names_key_and_file(tmp_path: Path, change: Any, message: str) -> None:
    path = write(tmp_path, world(change))
    with pytest.raises(SceneError) as error:
        load_scene(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_other_props_stay_free_form(tmp_path: Path) -> None:
    profile = load_scene(write(tmp_path, world(prop("mug", colour="blue"))))
    assert next(n for n in profile.nodes if n.name == "mug").props["colour"] == "blue"


# -- the bundled scenes that use all of it ---------------------------------------------------------

RICH = ["apartment", "warehouse"]


@pytest.mark.parametrize("name", RICH)
def test_rich_scene_passages_are_symmetric(name: str) -> None:
    profile = load_scene(name)
    links = {(n.name, p["to"], p["travel_s"], p["door"]) for n in profile.nodes if n.kind == "place"
             for p in n.props["passages"]}
    assert links and all((to, here, travel, door) in links for here, to, travel, door in links)
    doors = [n.name for n in profile.nodes if n.kind == "door"]
    assert sorted(doors) == sorted(p.door for p in profile.passages or [] if p.door)
    states = {n.name: n.props for n in profile.nodes if n.kind == "door"}
    assert any(not s.get("open", True) and not s.get("locked") for s in states.values())
    assert any(s.get("locked") for s in states.values())


@pytest.mark.parametrize("name", RICH)
def test_rich_scene_world_nodes_hold_robots_and_cargo(name: str) -> None:
    profile = load_scene(name)
    nodes = {n.name: n for n in profile.world_nodes()}
    for entry in profile.fleet:
        assert (nodes[entry.name].kind, nodes[entry.name].parent) == ("robot", entry.start)
        if entry.cargo:
            cargo = nodes[entry.cargo.name]
            assert (cargo.kind, cargo.relation, cargo.parent) == ("container", "on", entry.name)
    carriers = [e for e in profile.fleet if e.cargo]
    assert carriers and all(e.body_overrides()["grippers"] == 0 for e in carriers)
    assert len([e for e in profile.fleet if e.station]) >= 2


def test_rich_scenes_are_bundled() -> None:
    assert set(RICH) <= set(list_scenes())
    assert len(load_scene("warehouse").fleet) >= 20
