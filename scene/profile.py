"""What a scene profile holds: the world's nodes, the robot fleet and the demo tasks.

The records read from a scene file (``Passage``, ``Cargo``, ``FleetEntry``, ``Expectation``,
``DemoTask``) are pydantic dataclasses: a wrong type or an unknown key is refused when one is
built, from a file or in code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic.dataclasses import dataclass as record

from memory.profiles import SceneNode
from memory.settings import STRICT

__all__ = ["EXPECT_RELATIONS", "Cargo", "DemoTask", "Expectation", "FleetEntry", "Passage", "SceneError", "SceneProfile"]

EXPECT_RELATIONS = ("on", "in", "at", "held_by")


class SceneError(Exception):
    """A scene profile is missing, malformed or inconsistent; the message names the file and key."""


@record(config=STRICT)
class Passage:
    """Two places connected both ways, ``travel_s`` seconds apart, maybe through a door node."""

    between: list[str]  # two places
    travel_s: float = 1.0
    door: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@record(config=STRICT)
class Cargo:
    """A container a robot carries; other robots load and unload it."""

    name: str
    capacity: int = 1

    def node(self, robot: str) -> SceneNode:
        """The container node, on the robot that carries it."""
        props = {"capacity": self.capacity, "open": True, "height": "low", "cargo_of": robot}
        return SceneNode(self.name, "container", parent=robot, relation="on", props=props)


@record(config=STRICT)
class FleetEntry:
    """One robot of the fleet: its body, where it starts, how its skills are reached.

    ``grippers`` to ``cargo`` override the embodiment's body when set (None keeps it). ``skill_command``
    or ``skill_url`` name a skill server of its own; the simulator's settings (``skill``, ``speed``,
    faults, body overrides) then do not apply.
    """

    name: str
    embodiment: str
    start: str  # a place
    transport: str = "stdio"  # stdio | http
    port: int | None = None  # http only
    zones: list[str] = field(default_factory=list)  # places it may go; empty means anywhere
    speed: float = 1.0  # time scale of skill durations; 0 is instant
    failure_probability: float = 0.0
    added_latency_s: float = 0.0
    seed: int | None = None
    skill: str = "sim"  # sim | x0 | pi0 (the simulated arm follows RoboBrain-X0 or pi0 trajectories)
    x0_embodiment: str | None = None  # x0 only: agilex | franka | r1lite | a2d; None picks by arms
    pi0_embodiment: str | None = None  # pi0 only: aloha | franka; None picks by grippers
    pi0_server: str = ""  # pi0 only: the pi0 server's URL (FlagScale's); empty: the stack starts a reference one
    grippers: int | None = None
    payload_kg: float | None = None
    reach: list[str] | None = None  # heights it reaches: floor, low, high
    can_open: bool | None = None  # containers and doors
    station: str | None = None  # furniture or a container at start: the only thing it reaches
    cargo: Cargo | None = None
    # A skill server of its own instead of the simulated one (e.g. a RoboOS skill.py): spawned over
    # stdio (skill_command, an argv list) or reached over HTTP (skill_url; a base URL finds /mcp).
    skill_command: list[str] = field(default_factory=list)
    skill_url: str = ""
    # Semantics for that server's tools: {tool: {kind: pick, object: <argument>, ...}} (scene/README.md)
    skills: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def own_skill_server(self) -> bool:
        """Whether its skill server is its own (``skill_command`` or ``skill_url``), not one the stack starts."""
        return bool(self.skill_command or self.skill_url)

    def body_overrides(self) -> dict[str, Any]:
        """The body fields the scene set, for ``memory.world.body_for`` (cargo by its name)."""
        values = {"grippers": self.grippers, "payload_kg": self.payload_kg,
                  "reach": list(self.reach) if self.reach is not None else None, "can_open": self.can_open,
                  "station": self.station, "cargo": self.cargo.name if self.cargo else None}
        return {key: value for key, value in values.items() if value is not None}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@record(config=STRICT)
class Expectation:
    """What must hold when a demo task succeeded: ``node`` is ``relation`` ``parent``."""

    node: str
    relation: str  # one of EXPECT_RELATIONS
    parent: str

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> Expectation:
        """From its YAML form ``{node: N, <relation>: P}``: a scene's demo task, a brain suite's case.

        ``ValueError`` whose ``args`` are ``(message, key)``: the key at fault, or None for the whole.
        """
        for key in data:
            if key != "node" and key not in EXPECT_RELATIONS:
                raise ValueError(f"unknown key; known keys: node, {', '.join(EXPECT_RELATIONS)}", key)
        relations = [r for r in EXPECT_RELATIONS if r in data]
        if "node" not in data or len(relations) != 1:
            raise ValueError(f"expected node and exactly one of {', '.join(EXPECT_RELATIONS)}", None)
        for key in ("node", relations[0]):
            if not isinstance(data[key], str):
                raise ValueError(f"expected a node name, got {data[key]!r} ({type(data[key]).__name__})", key)
        return cls(node=data["node"], relation=relations[0], parent=data[relations[0]])

    def met(self, nodes: Mapping[str, SceneNode]) -> bool:
        node = nodes.get(self.node)
        return node is not None and node.parent == self.parent and node.relation == self.relation

    def __str__(self) -> str:
        return f"{self.node} {self.relation} {self.parent}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@record(config=STRICT)
class DemoTask:
    """A task to publish in a demo, and what the world must look like afterwards."""

    name: str
    task: str
    description: str = ""
    expect: list[Expectation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "task": self.task, "description": self.description,
                "expect": [e.to_dict() for e in self.expect]}


@dataclass
class SceneProfile:
    """A loaded, validated scene."""

    name: str
    description: str = ""
    nodes: list[SceneNode] = field(default_factory=list)
    fleet: list[FleetEntry] = field(default_factory=list)
    demo_tasks: list[DemoTask] = field(default_factory=list)
    passages: list[Passage] | None = None  # None: every place connects to every other
    path: Path | None = None

    def demo_task(self, name: str | None = None) -> DemoTask:
        """The named demo task, or the first one."""
        if not self.demo_tasks:
            raise SceneError(f"scene {self.name!r} has no demo tasks")
        if name is None:
            return self.demo_tasks[0]
        for task in self.demo_tasks:
            if task.name == name:
                return task
        known = ", ".join(t.name for t in self.demo_tasks)
        raise SceneError(f"scene {self.name!r} has no demo task {name!r}, should be one of: {known}")

    def robot(self, name: str) -> FleetEntry:
        for entry in self.fleet:
            if entry.name == name:
                return entry
        raise SceneError(f"scene {self.name!r} has no robot {name!r}, should be one of: "
                         f"{', '.join(e.name for e in self.fleet)}")

    @property
    def places(self) -> list[str]:
        return [n.name for n in self.nodes if n.kind == "place"]

    def world_nodes(self) -> list[SceneNode]:
        """What the stack loads: copies of the declared nodes, a robot node per fleet entry at its
        start, and each robot's cargo container on it."""
        declared = [replace(n, props=copy.deepcopy(n.props)) for n in self.nodes]
        robots = [SceneNode(e.name, "robot", parent=e.start, relation="at") for e in self.fleet]
        cargo = [e.cargo.node(e.name) for e in self.fleet if e.cargo is not None]
        return [*declared, *robots, *cargo]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "nodes": [n.to_dict() for n in self.nodes],
            "fleet": [e.to_dict() for e in self.fleet],
            "demo_tasks": [t.to_dict() for t in self.demo_tasks],
            "passages": [p.to_dict() for p in self.passages] if self.passages is not None else None,
            "path": str(self.path) if self.path else None,
        }
