"""A restaurant world for brain tests, built through the real wire types' ``to_dict()``.

Places kitchen, pass, dining. Robots: ``runner`` (wheeled dual-arm, zones kitchen+pass, opens
containers), ``waiter`` (humanoid, zones pass+dining, its own skill and argument names),
``pass_arm`` (fixed single arm at the pass, no navigation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from brain.world import WorldView
from memory.profiles import ActionSemantics, RobotProfile, RobotRecord, SceneNode, SceneSnapshot, SkillSpec

WorldFactory = Callable[..., WorldView]


def _skill(name: str, kind: str, description: str, **params: str) -> SkillSpec:
    """A skill whose string parameters are named by role: ``_skill("grasp", "pick", ..., object="item")``."""
    properties = {arg: {"type": "string", "description": f"the {role}"} for role, arg in params.items()}
    schema = {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    return SkillSpec(name, description, schema, ActionSemantics(kind, dict(params)))


def _speed_skill() -> SkillSpec:
    schema = {
        "type": "object",
        "properties": {"speed": {"type": "number"}, "mode": {"type": "string", "enum": ["slow", "fast"]},
                       "repeat": {"type": "integer"}, "loud": {"type": "boolean"}},
        "required": ["speed"],
        "additionalProperties": False,
    }
    return SkillSpec("set_speed", "Set the driving speed.", schema, ActionSemantics("other", {}))


def _profiles() -> list[RobotProfile]:
    runner = RobotProfile(
        "runner",
        "wheeled_dual_arm",
        [
            _skill("navigate", "navigate", "Drive to a place or piece of furniture.", target="target"),
            _skill("pick", "pick", "Pick up an object within reach.", object="object"),
            _skill("place", "place", "Place the held object on or in a target.", object="object", target="target"),
            _skill("open", "open", "Open a container.", target="target"),
            _skill("close", "close", "Close a container.", target="target"),
            _speed_skill(),
        ],
        "stdio:python -m skills.sim wheeled_dual_arm",
        {"embodiment": "wheeled_dual_arm", "mobile": True, "arms": 2, "payload_kg": 10.0, "zones": ["kitchen", "pass"]},
    )
    waiter = RobotProfile(
        "waiter",
        "humanoid",
        [
            _skill("walk_to", "navigate", "Walk to a place.", target="destination"),
            _skill("grasp", "pick", "Grasp an item.", object="item"),
            _skill("put_down", "place", "Put the held item down.", object="item", target="surface"),
        ],
        "http://127.0.0.1:8102/mcp",
        {"embodiment": "humanoid", "mobile": True, "arms": 2, "payload_kg": 3.0, "zones": ["pass", "dining"]},
    )
    pass_arm = RobotProfile(
        "pass_arm",
        "fixed_single_arm",
        [
            _skill("pick", "pick", "Pick up an object within reach.", object="object"),
            _skill("place", "place", "Place the held object.", object="object", target="target"),
        ],
        "stdio:python -m skills.sim fixed_single_arm",
        {"embodiment": "fixed_single_arm", "mobile": False, "arms": 1, "payload_kg": 2.0, "zones": ["pass"]},
    )
    return [runner, waiter, pass_arm]


def _nodes() -> list[SceneNode]:
    def at(name: str, kind: str, parent: str | None, relation: str | None, **props: Any) -> SceneNode:
        return SceneNode(name, kind, parent, relation, props)

    return [
        at("kitchen", "place", None, None),
        at("pass", "place", None, None),
        at("dining", "place", None, None),
        at("kitchen_table", "furniture", "kitchen", "at"),
        at("fridge", "container", "kitchen", "at", open=False),
        at("pass_counter", "furniture", "pass", "at", handoff=True),
        at("serving_table", "furniture", "pass", "at"),
        at("table_1", "furniture", "dining", "at"),
        at("table_2", "furniture", "dining", "at"),
        at("apple", "object", "kitchen_table", "on", weight_kg=0.2),
        at("cup", "object", "kitchen_table", "on", weight_kg=0.3),
        at("soup_pot", "object", "kitchen_table", "on", weight_kg=6.0),
        at("milk", "object", "fridge", "in", weight_kg=1.0),
        at("plate", "object", "pass_counter", "on", weight_kg=0.5),
        at("bowl", "object", "pass_counter", "on", weight_kg=0.4),
        at("runner", "robot", "kitchen", "at"),
        at("waiter", "robot", "dining", "at"),
        at("pass_arm", "robot", "pass", "at"),
    ]


def build_world(
    *,
    moves: dict[str, tuple[str, str]] | None = None,
    props: dict[str, dict[str, Any]] | None = None,
    offline: set[str] | frozenset[str] = frozenset(),
    busy: set[str] | frozenset[str] = frozenset(),
    degraded: set[str] | frozenset[str] = frozenset(),
    version: int = 7,
) -> WorldView:
    """The restaurant, with ``moves`` (node -> (parent, relation)) and ``props`` merged in."""
    nodes = {n.name: n for n in _nodes()}
    for name, (parent, relation) in (moves or {}).items():
        nodes[name].parent, nodes[name].relation = parent, relation
    for name, extra in (props or {}).items():
        nodes[name].props.update(extra)
    records = [
        RobotRecord(
            profile=p,
            status="offline" if p.name in offline else "busy" if p.name in busy else "idle",
            online=p.name not in offline,
            position=nodes[p.name].parent,
            holding=sorted(n.name for n in nodes.values() if n.relation == "held_by" and n.parent == p.name),
            last_heartbeat=1_700_000_000.0,
            degraded="its skill server is unreachable" if p.name in degraded else "",
        )
        for p in _profiles()
    ]
    snapshot = SceneSnapshot(version=version, nodes=nodes)
    return WorldView.from_dicts([r.to_dict() for r in records], snapshot.to_dict())


@pytest.fixture
def make_world() -> WorldFactory:
    return build_world


@pytest.fixture
def world() -> WorldView:
    return build_world()
