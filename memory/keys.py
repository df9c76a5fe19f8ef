"""Redis key names, all under one deployment prefix (the only place they are spelled)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Keys"]

_GLOB_SPECIALS = "\\*?[]"


@dataclass(frozen=True)
class Keys:
    """The key of every structure kept in shared memory, for one prefix (e.g. ``roboos:``)."""

    prefix: str = "roboos:"

    @property
    def robots(self) -> str:
        """Set of registered robot names."""
        return f"{self.prefix}robots"

    def robot(self, name: str) -> str:
        """Hash: profile JSON, status, current subtask, last heartbeat."""
        return f"{self.prefix}robot:{name}"

    def robot_counters(self, name: str) -> str:
        """Hash: one robot's slaver counters (field layout in ``memory.counters``), for the master's /metrics."""
        return f"{self.prefix}robot:{name}:counters"

    @property
    def counted_robots(self) -> str:
        """Set of robot names that have a counters hash (kept when a robot goes offline)."""
        return f"{self.prefix}robots:counted"

    def alive(self, name: str) -> str:
        """Liveness of one robot: exists while its heartbeat TTL has not run out."""
        return f"{self.prefix}alive:{name}"

    @property
    def scene_nodes(self) -> str:
        """Hash: node name -> node JSON."""
        return f"{self.prefix}scene:nodes"

    @property
    def scene_version(self) -> str:
        return f"{self.prefix}scene:version"

    @property
    def scene_children_prefix(self) -> str:
        """Prefix of the children index: ``<prefix><parent>`` is the set of that parent's children."""
        return f"{self.prefix}scene:children:"

    def scene_children(self, parent: str) -> str:
        return f"{self.scene_children_prefix}{parent}"

    @property
    def scene_indexed(self) -> str:
        """Exists once the children index matches the nodes hash (rebuilt from it when missing)."""
        return f"{self.prefix}scene:indexed"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    def task(self, task_id: str) -> str:
        """Hash: ``meta`` (task JSON without subtasks) and ``sub:<subtask_id>`` per subtask."""
        return f"{self.prefix}task:{task_id}"

    def task_claims(self, task_id: str) -> str:
        """Hash: subtask id -> lease token of the slaver that started it (see ``WorkStreams.claim``)."""
        return f"{self.prefix}task:{task_id}:claims"

    @property
    def task_index(self) -> str:
        """Sorted set: task id scored by creation time."""
        return f"{self.prefix}tasks:by_time"

    @property
    def active_tasks(self) -> str:
        return f"{self.prefix}tasks:active"

    def subtasks(self, robot: str) -> str:
        """Stream of subtasks for one robot (consumer group ``slavers``)."""
        return f"{self.prefix}stream:subtasks:{robot}"

    @property
    def results(self) -> str:
        """Stream of subtask results (consumer group ``master``)."""
        return f"{self.prefix}stream:results"

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key under the prefix, and nothing else."""
        escaped = "".join(f"\\{c}" if c in _GLOB_SPECIALS else c for c in self.prefix)
        return f"{escaped}*"
