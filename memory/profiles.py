"""Profiles and records kept in shared memory: robots, skills, scene nodes, tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memory.messages import SubtaskState, TaskState, ToolCall
from memory.world import ACTION_KINDS

__all__ = [
    "SKILL_KINDS",
    "ActionSemantics",
    "RobotProfile",
    "RobotRecord",
    "SceneNode",
    "SceneSnapshot",
    "SkillSpec",
    "SubtaskRecord",
    "TaskRecord",
]


SKILL_KINDS = frozenset({*ACTION_KINDS, "generate_actions", "other"})  # the world's actions, and the rest


@dataclass
class ActionSemantics:
    """What a skill does, machine-readable, so planning and memory need no guessing.

    ``kind``: ``navigate``, ``pick``, ``place``, ``open``, ``close``, ``generate_actions``
    or ``other``. ``roles`` maps a role (``object``, ``target``) to the argument that fills it.
    """

    kind: str = "other"
    roles: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "roles": dict(self.roles)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ActionSemantics:
        data = data or {}
        return cls(kind=data.get("kind", "other"), roles=dict(data.get("roles") or {}))

    @classmethod
    def from_annotation(cls, data: dict[str, Any]) -> ActionSemantics:
        """From the flat form a fleet config gives a tool of a server without semantics metadata:
        ``{"kind": "place", "object": "object", "target": "affordance"}`` (role -> argument).

        ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a mapping with 'kind' and roles, got {data!r}")
        roles = {role: arg for role, arg in data.items() if role != "kind"}
        kind = data.get("kind")
        if kind not in SKILL_KINDS:
            raise ValueError(f"kind must be one of: {', '.join(sorted(SKILL_KINDS))}; got {kind!r}")
        bad = [role for role, arg in roles.items() if not isinstance(arg, str) or not arg]
        if bad:
            raise ValueError(f"role {bad[0]!r} must name an argument of the tool, got {roles[bad[0]]!r}")
        return cls(kind=kind, roles=roles)


@dataclass
class SkillSpec:
    """One skill of a robot: an MCP tool with its full JSON schema."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)
    semantics: ActionSemantics = field(default_factory=ActionSemantics)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "semantics": self.semantics.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SkillSpec:
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            input_schema=dict(data.get("input_schema") or {}),
            semantics=ActionSemantics.from_dict(data.get("semantics")),
        )


@dataclass
class RobotProfile:
    """What a robot is: registered by its slaver."""

    name: str
    embodiment: str
    skills: list[SkillSpec] = field(default_factory=list)
    skill_endpoint: str = ""  # "stdio:<command>" or an http(s) URL, for display
    # What the skill server says the body can do: {"mobile": bool, "arms": int,
    # "payload_kg": float, "zones": [places it may go; empty means anywhere]}
    capabilities: dict[str, Any] = field(default_factory=dict)

    def skill(self, name: str) -> SkillSpec | None:
        return next((s for s in self.skills if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "embodiment": self.embodiment,
            "skills": [s.to_dict() for s in self.skills],
            "skill_endpoint": self.skill_endpoint,
            "capabilities": dict(self.capabilities),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobotProfile:
        return cls(
            name=data["name"],
            embodiment=data["embodiment"],
            skills=[SkillSpec.from_dict(s) for s in data.get("skills") or []],
            skill_endpoint=data.get("skill_endpoint", ""),
            capabilities=dict(data.get("capabilities") or {}),
        )


@dataclass
class RobotRecord:
    """A robot as seen now: profile, state and liveness.

    ``position`` and ``holding`` are derived from the scene graph (the robot's node and the
    nodes ``held_by`` it), so they can never disagree with it. ``degraded`` says why a robot that
    is alive cannot take work (its skill server is unreachable); empty when it can.
    """

    profile: RobotProfile
    status: str = "idle"  # idle | busy | offline
    online: bool = False
    position: str | None = None
    holding: list[str] = field(default_factory=list)
    current_subtask: str | None = None
    last_heartbeat: float = 0.0
    degraded: str = ""

    @property
    def name(self) -> str:
        return self.profile.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.to_dict(),
            "status": self.status,
            "online": self.online,
            "position": self.position,
            "holding": list(self.holding),
            "current_subtask": self.current_subtask,
            "last_heartbeat": self.last_heartbeat,
            "degraded": self.degraded,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RobotRecord:
        return cls(
            profile=RobotProfile.from_dict(data["profile"]),
            status=data.get("status", "idle"),
            online=bool(data.get("online", False)),
            position=data.get("position"),
            holding=list(data.get("holding") or []),
            current_subtask=data.get("current_subtask"),
            last_heartbeat=float(data.get("last_heartbeat", 0.0)),
            degraded=data.get("degraded") or "",
        )


@dataclass
class SceneNode:
    """A node of the scene graph: one parent, one relation, free-form properties.

    ``kind``: ``place``, ``furniture``, ``container``, ``object`` or ``robot``.
    ``relation`` to ``parent``: ``on``, ``in``, ``at`` or ``held_by`` (None for places).
    """

    name: str
    kind: str
    parent: str | None = None
    relation: str | None = None
    props: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "parent": self.parent, "relation": self.relation,
                "props": dict(self.props)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneNode:
        return cls(
            name=data["name"],
            kind=data["kind"],
            parent=data.get("parent"),
            relation=data.get("relation"),
            props=dict(data.get("props") or {}),
        )


@dataclass
class SceneSnapshot:
    """One consistent view of the scene graph at ``version``."""

    version: int
    nodes: dict[str, SceneNode] = field(default_factory=dict)

    def place_of(self, name: str) -> str | None:
        """The place a node is in, walking up parents (a place is its own place)."""
        seen: set[str] = set()
        node = self.nodes.get(name)
        while node is not None and node.name not in seen:
            if node.kind == "place":
                return node.name
            seen.add(node.name)
            node = self.nodes.get(node.parent) if node.parent else None
        return None

    def children(self, name: str, relation: str | None = None) -> list[SceneNode]:
        return [
            n
            for n in self.nodes.values()
            if n.parent == name and (relation is None or n.relation == relation)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "nodes": [n.to_dict() for n in self.nodes.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSnapshot:
        nodes = [SceneNode.from_dict(n) for n in data.get("nodes") or []]
        return cls(version=int(data.get("version", 0)), nodes={n.name: n for n in nodes})


@dataclass
class SubtaskRecord:
    """One subtask of a task as the master tracks it."""

    subtask_id: str
    robot: str
    text: str
    order: int = 1
    depends_on: list[str] = field(default_factory=list)
    actions: list[ToolCall] = field(default_factory=list)
    state: SubtaskState = SubtaskState.WAITING
    reason: str = ""
    attempt: int = 0
    dispatched_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "subtask_id": self.subtask_id,
            "robot": self.robot,
            "text": self.text,
            "order": self.order,
            "depends_on": list(self.depends_on),
            "actions": [a.to_dict() for a in self.actions],
            "state": str(self.state),
            "reason": self.reason,
            "attempt": self.attempt,
            "dispatched_at": self.dispatched_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubtaskRecord:
        return cls(
            subtask_id=data["subtask_id"],
            robot=data["robot"],
            text=data["text"],
            order=int(data.get("order", 1)),
            depends_on=list(data.get("depends_on") or []),
            actions=[ToolCall.from_dict(a) for a in data.get("actions") or []],
            state=SubtaskState(data.get("state", SubtaskState.WAITING)),
            reason=data.get("reason", ""),
            attempt=int(data.get("attempt", 0)),
            dispatched_at=data.get("dispatched_at"),
            started_at=data.get("started_at"),
            finished_at=data.get("finished_at"),
        )


@dataclass
class TaskRecord:
    """A task: its text, its plan, the state of every subtask, and how it ended."""

    task_id: str
    text: str
    state: TaskState = TaskState.PENDING
    reasoning: str = ""
    subtasks: dict[str, SubtaskRecord] = field(default_factory=dict)
    created_at: float = 0.0
    finished_at: float | None = None
    reason: str = ""
    replans: int = 0
    plan_info: dict[str, Any] = field(default_factory=dict)  # planner, model, tokens, latency...

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "text": self.text,
            "state": str(self.state),
            "reasoning": self.reasoning,
            "subtasks": [s.to_dict() for s in self.subtasks.values()],
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "reason": self.reason,
            "replans": self.replans,
            "plan_info": self.plan_info,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRecord:
        subtasks = [SubtaskRecord.from_dict(s) for s in data.get("subtasks") or []]
        return cls(
            task_id=data["task_id"],
            text=data["text"],
            state=TaskState(data.get("state", TaskState.PENDING)),
            reasoning=data.get("reasoning", ""),
            subtasks={s.subtask_id: s for s in subtasks},
            created_at=float(data.get("created_at", 0.0)),
            finished_at=data.get("finished_at"),
            reason=data.get("reason", ""),
            replans=int(data.get("replans", 0)),
            plan_info=dict(data.get("plan_info") or {}),
        )
