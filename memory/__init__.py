"""Real-time shared memory on Redis: robots, scene graph, event history, tasks and work streams."""

from __future__ import annotations

from memory.errors import SceneConflict, SharedMemoryError
from memory.events import Event, EventLog
from memory.keys import Keys
from memory.messages import (
    TERMINAL_TASK_STATES,
    Effect,
    SubtaskMessage,
    SubtaskResult,
    SubtaskState,
    TaskState,
    ToolCall,
    ToolOutcome,
)
from memory.profiles import (
    ActionSemantics,
    RobotProfile,
    RobotRecord,
    SceneNode,
    SceneSnapshot,
    SkillSpec,
    SubtaskRecord,
    TaskRecord,
)
from memory.robots import RobotRegistry
from memory.scene_graph import SceneGraph
from memory.shared_memory import SharedMemory
from memory.streams import WorkStreams
from memory.tasks import TaskStore

__all__ = [
    "TERMINAL_TASK_STATES",
    "ActionSemantics",
    "Effect",
    "Event",
    "EventLog",
    "Keys",
    "RobotProfile",
    "RobotRecord",
    "RobotRegistry",
    "SceneConflict",
    "SceneGraph",
    "SceneNode",
    "SceneSnapshot",
    "SharedMemory",
    "SharedMemoryError",
    "SkillSpec",
    "SubtaskMessage",
    "SubtaskRecord",
    "SubtaskResult",
    "SubtaskState",
    "TaskRecord",
    "TaskState",
    "TaskStore",
    "ToolCall",
    "ToolOutcome",
    "WorkStreams",
]
