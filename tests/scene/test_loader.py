"""Scene profiles: the bundled scenes load and make sense; bad files fail naming file and key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from memory import SharedMemory
from scene import SceneError, list_scenes, load_scene
from skills.sim import EMBODIMENTS

BASE: dict[str, Any] = {
    "name": "tiny",
    "nodes": {
        "kitchen": {"kind": "place"},
        "hall": {"kind": "place"},
        "table": {"kind": "furniture", "at": "kitchen"},
        "fridge": {"kind": "container", "at": "kitchen", "props": {"open": False}},
        "apple": {"kind": "object", "on": "table", "props": {"weight_kg": 0.2}},
    },
    "fleet": [
        {"name": "arm", "embodiment": "fixed_single_arm", "start": "kitchen", "transport": "stdio"},
        {"name": "bot", "embodiment": "humanoid", "start": "hall", "zones": ["hall", "kitchen"],
         "transport": "http", "port": 18999, "speed": 0},
    ],
    "demo_tasks": [{"name": "stock", "task": "put the apple in the fridge",
                    "expect": [{"node": "apple", "in": "fridge"}]}],
}


def write(tmp_path: Path, data: dict[str, Any] | str) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def broken(tmp_path: Path, change: Any) -> Path:
    data = copy.deepcopy(BASE)
    change(data)
    return write(tmp_path, data)


@pytest.mark.parametrize("name", list_scenes())
def test_bundled_scene_is_a_usable_demo(name: str) -> None:
    profile = load_scene(name)
    embodiments = {r.embodiment for r in profile.fleet}
    assert len(profile.fleet) >= 3 and len(embodiments) >= 3
    assert embodiments <= set(EMBODIMENTS)
    assert {r.transport for r in profile.fleet} == {"stdio", "http"}
    assert len(profile.demo_tasks) >= 4 and all(t.expect for t in profile.demo_tasks)
    nodes = {n.name: n for n in profile.nodes}
    for task in profile.demo_tasks:
        assert not all(e.met(nodes) for e in task.expect), f"{name}: {task.name} is done before it starts"
    assert profile.demo_task() is profile.demo_tasks[0]
    assert len(profile.demo_task().expect) >= 2


def test_bundled_names() -> None:
    assert {"restaurant", "household", "supermarket", "apartment", "warehouse"} <= set(list_scenes())


@pytest.mark.anyio
@pytest.mark.parametrize("name", list_scenes())
async def test_bundled_scene_loads_into_shared_memory(name: str, shared_memory: SharedMemory) -> None:
    profile = load_scene(name)
    nodes = profile.world_nodes()
    await shared_memory.scene.load(nodes)
    snapshot = await shared_memory.scene.snapshot()
    assert set(snapshot.nodes) == {n.name for n in nodes}
    placed = [n.name for n in nodes if n.kind != "door"]  # a door is in the two places it joins
    assert all(snapshot.place_of(n) in profile.places for n in placed)


def test_restaurant_needs_a_handoff() -> None:
    profile = load_scene("restaurant")
    chef, waiter = profile.robot("chef"), profile.robot("waiter")
    assert "dining_room" not in chef.zones and "kitchen" not in waiter.zones
    assert set(chef.zones) & set(waiter.zones) == {"pass"}


def test_a_path_loads_and_values_are_typed(tmp_path: Path) -> None:
    profile = load_scene(write(tmp_path, BASE))
    assert profile.name == "tiny" and profile.path == tmp_path / "tiny.yaml"
    bot = profile.robot("bot")
    assert (bot.port, bot.zones, bot.speed, bot.skill) == (18999, ["hall", "kitchen"], 0.0, "sim")
    assert isinstance(bot.speed, float)
    fridge = next(n for n in profile.nodes if n.name == "fridge")
    assert (fridge.parent, fridge.relation, fridge.props) == ("kitchen", "at", {"open": False})
    assert profile.demo_task("stock").expect[0].relation == "in"


def test_on_is_a_key_not_a_boolean(tmp_path: Path) -> None:
    text = yaml.safe_dump(BASE).replace("'on'", "on")
    assert "  on: table" in text
    profile = load_scene(write(tmp_path, text))
    apple = next(n for n in profile.nodes if n.name == "apple")
    assert (apple.relation, apple.parent) == ("on", "table")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(robots=[]), "robots: unknown key"),
    (lambda d: d["nodes"]["apple"].update(colour="red"), "nodes.apple.colour: unknown key"),
    (lambda d: d["nodes"]["apple"].update(kind="fruit"), "nodes.apple.kind: expected one of"),
    (lambda d: d["fleet"][1].update(speed="fast"), "fleet[1] (bot).speed: Input should be a valid number, got str 'fast'"),
    (lambda d: d["fleet"][1].update(port="18999"), "fleet[1] (bot).port: Input should be a valid integer, got str '18999'"),
    (lambda d: d["fleet"][1].update(zones="hall"), "fleet[1] (bot).zones: Input should be a valid list, got str 'hall'"),
    (lambda d: d["fleet"][0].update(spead=1), "fleet[0] (arm).spead: unknown key"),
    (lambda d: d["fleet"][0].pop("start"), "fleet[0] (arm).start: missing required key"),
    (lambda d: d.update(fleet={"arm": {}}), "fleet: expected list"),
    (lambda d: d["demo_tasks"][0].update(goal="x"), "demo_tasks[0] (stock).goal: unknown key"),
])
def test_unknown_or_wrong_typed_keys_name_key_and_file(tmp_path: Path, change: Any, message: str) -> None:
    path = broken(tmp_path, change)
    with pytest.raises(SceneError) as error:
        load_scene(path)
    assert str(path) in str(error.value) and message in str(error.value)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["nodes"]["apple"].update(on="shelf"), "nodes.apple.on: unknown node 'shelf'"),
    (lambda d: d["nodes"]["apple"].update({"in": "table", "on": None}) or d["nodes"]["apple"].pop("on"),
     "nodes.apple.in: table is a furniture; 'in' needs a container"),
    (lambda d: d["nodes"]["table"].pop("at"), "nodes.table: a furniture needs exactly one of on, in, at"),
    (lambda d: d["nodes"]["kitchen"].update(at="hall"), "nodes.kitchen.at: a place has no parent"),
    (lambda d: d["fleet"][0].update(start="table"), "fleet[0] (arm).start: 'table' is not a place"),
    (lambda d: d["fleet"][1].update(zones=["hall", "garden"]), "fleet[1] (bot).zones: 'garden' is not a place"),
    (lambda d: d["fleet"][1].update(zones=["kitchen"]), "fleet[1] (bot).start: hall is outside the robot's zones"),
    (lambda d: d["fleet"][1].pop("port"), "fleet[1] (bot).port: transport http needs a port"),
    (lambda d: d["fleet"][0].update(port=18000), "fleet[0] (arm).port: a port is only for transport http"),
    (lambda d: d["fleet"][0].update(transport="grpc"), "fleet[0] (arm).transport: expected one of stdio, http"),
    (lambda d: d["fleet"][0].update(name="bot"), "fleet[1] (bot).name: 'bot' is already the name"),
    (lambda d: d["fleet"][0].update(failure_probability=1.5), "fleet[0] (arm).failure_probability: must be in"),
    (lambda d: d["demo_tasks"][0]["expect"].append({"node": "pear", "on": "table"}),
     "demo_tasks[0] (stock).expect[1].node: unknown node 'pear'"),
    (lambda d: d["demo_tasks"][0]["expect"].append({"node": "apple", "under": "table"}),
     "demo_tasks[0] (stock).expect[1].under: unknown key"),
])
def test_bad_references_name_key_and_file(tmp_path: Path, change: Any, message: str) -> None:
    path = broken(tmp_path, change)
    with pytest.raises(SceneError) as error:
        load_scene(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_duplicate_keys_and_broken_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "nodes:\n  kitchen: {kind: place}\n  kitchen: {kind: place}\n")
    with pytest.raises(SceneError, match=r"key 'kitchen' is given twice"):
        load_scene(path)
    write(tmp_path, "nodes: [unclosed\n")
    with pytest.raises(SceneError, match="not valid YAML"):
        load_scene(path)


def test_unknown_scene_name_and_task() -> None:
    with pytest.raises(SceneError, match="no bundled scene 'castle', should be one of: apartment, household"):
        load_scene("castle")
    with pytest.raises(SceneError, match="cannot read scene file"):
        load_scene("/nonexistent/scene.yaml")
    with pytest.raises(SceneError, match="has no demo task 'dance', should be one of: serve_and_stock"):
        load_scene("restaurant").demo_task("dance")
