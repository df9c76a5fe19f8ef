"""Load scene profiles from YAML, checking every key, type and reference.

Errors are :class:`SceneError` naming the file and the key, e.g.
``restaurant.yaml: fleet[1] (waiter).start: 'kitchn' is not a place; places: bar, kitchen, ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from memory.profiles import ActionSemantics, SceneNode
from memory.settings import explain
from scene.profile import Cargo, DemoTask, Expectation, FleetEntry, Passage, SceneError, SceneProfile
from scene.world_checks import check_world

__all__ = ["SCENE_DIR", "YamlLoader", "list_scenes", "load_scene"]

SCENE_DIR = Path(__file__).resolve().parent
NODE_KINDS = ("place", "door", "furniture", "container", "object")
PARENTLESS_KINDS = ("place", "door")
PARENT_KINDS = {"at": {"place"}, "on": {"furniture", "container"}, "in": {"container"}}
TRANSPORTS = ("stdio", "http")
SKILL_BACKENDS = ("sim", "x0", "pi0")
# The action models' embodiments, named here so that reading a scene does not import the skills
# package (mcp, a second): tests/scene/test_loader.py holds them to skills.x0.contract's and skills.pi0.protocol's.
X0_EMBODIMENTS = ("agilex", "franka", "r1lite", "a2d")
PI0_EMBODIMENTS = ("aloha", "franka")
SCENE_KEYS = {"name": str, "description": str, "nodes": dict, "passages": list, "fleet": list, "demo_tasks": list}


def list_scenes() -> list[str]:
    """The names of the bundled scenes."""
    return sorted(p.stem for p in SCENE_DIR.glob("*.yaml"))


def load_scene(name_or_path: str | Path) -> SceneProfile:
    """A bundled scene by name (``"restaurant"``) or a YAML file by path, validated."""
    path = _resolve(name_or_path)
    try:
        with path.open(encoding="utf-8") as stream:
            data = yaml.load(stream, Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass
    except OSError as e:
        raise SceneError(f"cannot read scene file {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise SceneError(f"{path}: not valid YAML: {e}") from e
    return _Reader(path).scene(data)


def _resolve(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    path = SCENE_DIR / f"{text}.yaml"
    if not path.is_file():
        raise SceneError(f"no bundled scene {text!r}, should be one of: {', '.join(list_scenes())} "
                         "(or give the path of a YAML file)")
    return path


class YamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true/false, so ``on:`` is a key, not True)
    that refuses a key given twice in one mapping (plain YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG = "tag:yaml.org,2002:bool"
YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class _Reader:
    """Turns the YAML of one file into a SceneProfile, failing with the file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: str, message: str) -> SceneError:
        return SceneError(f"{self.path}: {where}: {message}")

    def scene(self, data: Any) -> SceneProfile:
        data = self.mapping(data, "the top level")
        for key, value in data.items():
            if key not in SCENE_KEYS:
                raise self.error(key, f"unknown key; known keys: {', '.join(SCENE_KEYS)}")
            if not isinstance(value, SCENE_KEYS[key]):
                raise self.error(key, f"expected {SCENE_KEYS[key].__name__}, got {_show(value)}")
        nodes = [self.node(name, spec) for name, spec in (data.get("nodes") or {}).items()]
        fleet = [self.fleet_entry(i, e) for i, e in enumerate(data.get("fleet") or [])]
        tasks = [self.demo_task(i, t) for i, t in enumerate(data.get("demo_tasks") or [])]
        passages = [self.passage(i, p) for i, p in enumerate(data["passages"])] if "passages" in data else None
        profile = SceneProfile(name=data.get("name", self.path.stem), description=data.get("description", ""),
                               nodes=nodes, fleet=fleet, demo_tasks=tasks, passages=passages, path=self.path)
        _References(self, profile).check()
        check_world(self.error, profile)
        if passages is not None:
            _write_passages(profile.nodes, passages)
        return profile

    def mapping(self, data: Any, where: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.error(where, f"expected a mapping, got {_show(data)}")
        return data

    def node(self, name: Any, spec: Any) -> SceneNode:
        where = f"nodes.{name}"
        if not isinstance(name, str):
            raise self.error(where, f"a node name must be a string, got {_show(name)}")
        spec = self.mapping(spec, where)
        known = ("kind", "props", *PARENT_KINDS)
        for key in spec:
            if key not in known:
                raise self.error(f"{where}.{key}", f"unknown key; known keys: {', '.join(known)}")
        kind = spec.get("kind")
        if kind not in NODE_KINDS:
            raise self.error(f"{where}.kind", f"expected one of {', '.join(NODE_KINDS)}, got {_show(kind)}")
        props = spec.get("props") or {}
        if not isinstance(props, dict):
            raise self.error(f"{where}.props", f"expected a mapping, got {_show(props)}")
        relation, parent = self.relation(where, kind, spec)
        return SceneNode(name=name, kind=kind, parent=parent, relation=relation, props=dict(props))

    def relation(self, where: str, kind: str, spec: dict[str, Any]) -> tuple[str | None, str | None]:
        given = [r for r in PARENT_KINDS if r in spec]
        if kind in PARENTLESS_KINDS:
            if given:
                raise self.error(f"{where}.{given[0]}", f"a {kind} has no parent")
            return None, None
        if len(given) != 1:
            raise self.error(where, f"a {kind} needs exactly one of on, in, at (got {len(given)})")
        parent = spec[given[0]]
        if not isinstance(parent, str):
            raise self.error(f"{where}.{given[0]}", f"expected a node name, got {_show(parent)}")
        return given[0], parent

    def fleet_entry(self, index: int, data: Any) -> FleetEntry:
        name = data.get("name") if isinstance(data, dict) else None
        where = f"fleet[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        data = dict(self.mapping(data, where))
        cargo = data.pop("cargo", None)
        entry = self.typed(FleetEntry, data, where)
        if cargo is not None:
            entry.cargo = self.typed(Cargo, cargo, f"{where}.cargo")
        return entry

    def passage(self, index: int, data: Any) -> Passage:
        return self.typed(Passage, data, f"passages[{index}]")

    def demo_task(self, index: int, data: Any) -> DemoTask:
        name = data.get("name") if isinstance(data, dict) else None
        where = f"demo_tasks[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        data = dict(self.mapping(data, where))
        raw_expect = data.pop("expect", [])
        if not isinstance(raw_expect, list):
            raise self.error(f"{where}.expect", f"expected a list, got {_show(raw_expect)}")
        task = self.typed(DemoTask, data, where)
        task.expect = [self.expectation(f"{where}.expect[{i}]", e) for i, e in enumerate(raw_expect)]
        return task

    def expectation(self, where: str, data: Any) -> Expectation:
        try:
            return Expectation.read(self.mapping(data, where))
        except ValueError as e:
            message, key = e.args
            raise self.error(f"{where}.{key}" if key else where, message) from e

    def typed(self, cls: type[Any], data: Any, where: str) -> Any:
        """An instance of record ``cls`` (a pydantic dataclass) from a mapping, every key known and well typed."""
        try:
            return cls(**self.mapping(data, where))
        except ValidationError as e:
            raise SceneError(f"{self.path}: {explain(e, cls, where)}") from e


class _References:
    """Cross-checks of one profile: parents, places, zones, ports, expectations. Props, passages and
    robot bodies are checked in :mod:`scene.world_checks`."""

    def __init__(self, reader: _Reader, profile: SceneProfile) -> None:
        self.error = reader.error
        self.profile = profile
        self.nodes = {n.name: n for n in profile.nodes}
        self.places = sorted(n.name for n in profile.nodes if n.kind == "place")
        self.cargo = {e.cargo.name for e in profile.fleet if e.cargo is not None}

    def check(self) -> None:
        for node in self.profile.nodes:
            self.check_node(node)
        names: set[str] = set()
        for index, entry in enumerate(self.profile.fleet):
            self.check_robot(f"fleet[{index}] ({entry.name})", entry, names)
        tasks: set[str] = set()
        for index, task in enumerate(self.profile.demo_tasks):
            self.check_task(f"demo_tasks[{index}] ({task.name})", task, tasks, names)

    def check_node(self, node: SceneNode) -> None:
        if node.parent is None:
            return
        where = f"nodes.{node.name}.{node.relation}"
        parent = self.nodes.get(node.parent)
        if parent is None:
            raise self.error(where, f"unknown node {node.parent!r}")
        allowed = PARENT_KINDS[node.relation or ""]
        if parent.kind not in allowed:
            raise self.error(where, f"{node.parent} is a {parent.kind}; '{node.relation}' needs "
                             f"a {' or a '.join(sorted(allowed))}")
        seen = {node.name}
        while parent.parent is not None:
            if parent.name in seen:
                raise self.error(where, f"{node.name} is inside itself (a cycle through {parent.name})")
            seen.add(parent.name)
            grandparent = self.nodes.get(parent.parent)
            if grandparent is None:
                return  # reported when that node is checked
            parent = grandparent

    def check_robot(self, where: str, entry: FleetEntry, names: set[str]) -> None:
        if entry.name in names or entry.name in self.nodes:
            raise self.error(f"{where}.name", f"{entry.name!r} is already the name of a robot or a node")
        names.add(entry.name)
        self.check_place(f"{where}.start", entry.start)
        for zone in entry.zones:
            self.check_place(f"{where}.zones", zone)
        if entry.zones and entry.start not in entry.zones:
            raise self.error(f"{where}.start", f"{entry.start} is outside the robot's zones ({', '.join(entry.zones)})")
        self.check_choice(f"{where}.transport", entry.transport, TRANSPORTS)
        self.check_choice(f"{where}.skill", entry.skill, SKILL_BACKENDS)
        self.check_x0(where, entry)
        self.check_pi0(where, entry)
        self.check_own_server(where, entry)
        self.check_port(where, entry)
        self.check_faults(where, entry)

    def check_x0(self, where: str, entry: FleetEntry) -> None:
        if entry.x0_embodiment is None:
            return
        if entry.skill != "x0":
            raise self.error(f"{where}.x0_embodiment", f"only for skill x0, but skill is {entry.skill}")
        self.check_choice(f"{where}.x0_embodiment", entry.x0_embodiment, X0_EMBODIMENTS)

    def check_pi0(self, where: str, entry: FleetEntry) -> None:
        for key, value in (("pi0_embodiment", entry.pi0_embodiment), ("pi0_server", entry.pi0_server)):
            if value and entry.skill != "pi0":
                raise self.error(f"{where}.{key}", f"only for skill pi0, but skill is {entry.skill}")
        if entry.pi0_embodiment is not None:
            self.check_choice(f"{where}.pi0_embodiment", entry.pi0_embodiment, PI0_EMBODIMENTS)
        if entry.pi0_server and not entry.pi0_server.startswith(("http://", "https://")):
            raise self.error(f"{where}.pi0_server", f"expected an http:// or https:// URL, got {entry.pi0_server!r}")

    def check_own_server(self, where: str, entry: FleetEntry) -> None:
        """``skill_command`` (stdio) or ``skill_url`` (HTTP), not both, and annotations that parse."""
        if entry.skill_command and entry.skill_url:
            raise self.error(f"{where}.skill_url", "give skill_command (stdio) or skill_url (HTTP), not both")
        if entry.skill_url and not entry.skill_url.startswith(("http://", "https://")):
            raise self.error(f"{where}.skill_url", f"expected an http:// or https:// URL, got {entry.skill_url!r}")
        if entry.own_skill_server and entry.port is not None:
            raise self.error(f"{where}.port", "a port is only for the simulated skill server over http")
        for tool, annotation in entry.skills.items():
            try:
                ActionSemantics.from_annotation(annotation)
            except ValueError as e:
                raise self.error(f"{where}.skills.{tool}", str(e)) from e

    def check_port(self, where: str, entry: FleetEntry) -> None:
        if entry.own_skill_server:
            return
        if entry.transport == "stdio" and entry.port is not None:
            raise self.error(f"{where}.port", "a port is only for transport http")
        if entry.transport == "http":
            if entry.port is None or not 0 < entry.port < 65536:
                raise self.error(f"{where}.port", f"transport http needs a port in 1..65535, got {entry.port}")
            others = [e.name for e in self.profile.fleet if e.port == entry.port and e is not entry]
            if others:
                raise self.error(f"{where}.port", f"port {entry.port} is also used by {others[0]}")

    def check_faults(self, where: str, entry: FleetEntry) -> None:
        if entry.speed < 0:
            raise self.error(f"{where}.speed", f"must be >= 0 (0 is instant), got {entry.speed}")
        if not 0.0 <= entry.failure_probability <= 1.0:
            raise self.error(f"{where}.failure_probability", f"must be in 0..1, got {entry.failure_probability}")
        if entry.added_latency_s < 0:
            raise self.error(f"{where}.added_latency_s", f"must be >= 0, got {entry.added_latency_s}")

    def check_task(self, where: str, task: DemoTask, seen: set[str], robots: set[str]) -> None:
        if task.name in seen:
            raise self.error(f"{where}.name", f"demo task {task.name!r} is given twice")
        seen.add(task.name)
        if not task.task.strip():
            raise self.error(f"{where}.task", "the instruction is empty")
        for index, expectation in enumerate(task.expect):
            key = f"{where}.expect[{index}]"
            if expectation.node not in self.nodes:
                raise self.error(f"{key}.node", f"unknown node {expectation.node!r}")
            if expectation.parent not in self.nodes and expectation.parent not in robots | self.cargo:
                raise self.error(f"{key}.{expectation.relation}",
                                 f"unknown node, robot or cargo {expectation.parent!r}")

    def check_place(self, where: str, name: str) -> None:
        if name not in self.places:
            raise self.error(where, f"{name!r} is not a place; places: {', '.join(self.places)}")

    def check_choice(self, where: str, value: str, choices: tuple[str, ...]) -> None:
        if value not in choices:
            raise self.error(where, f"expected one of {', '.join(choices)}, got {value!r}")


def _write_passages(nodes: list[SceneNode], passages: list[Passage]) -> None:
    """Give every place its ``passages`` prop, both directions: [{"to", "travel_s", "door"}]."""
    links: dict[str, list[dict[str, Any]]] = {n.name: [] for n in nodes if n.kind == "place"}
    for passage in passages:
        one, other = passage.between
        links[one].append({"to": other, "travel_s": passage.travel_s, "door": passage.door})
        links[other].append({"to": one, "travel_s": passage.travel_s, "door": passage.door})
    for node in nodes:
        if node.kind == "place":
            node.props["passages"] = links[node.name]


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"
