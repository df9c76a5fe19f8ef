"""Redis key names, all under one deployment prefix (the only place they are spelled).

Every key starts with the prefix as a Redis Cluster hash tag, ``{roboos:}robots``, so a deployment's
keys share one hash slot. That is what lets each Lua script and MULTI/EXEC run unchanged on a cluster:
nearly every state change also appends to the deployment's one event stream, in the same script,
so a task's, a robot's and the scene's keys cannot live in different slots without giving up that
atomicity. A cluster spreads deployments over its masters (and fails over with replicas), not the
keys of one deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Keys"]

_GLOB_SPECIALS = "\\*?[]"


@dataclass(frozen=True)
class Keys:
    """The key of every structure kept in shared memory, for one prefix (e.g. ``roboos:``)."""

    prefix: str = "roboos:"

    def __post_init__(self) -> None:
        if not self.prefix or "{" in self.prefix or "}" in self.prefix:
            raise ValueError(f"a key prefix must be non-empty and hold no braces, got {self.prefix!r}")

    @property
    def root(self) -> str:
        """What every key starts with: the prefix as a hash tag, ``{roboos:}``."""
        return "{" + self.prefix + "}"

    def key(self, name: str) -> str:
        """A key of this deployment for a structure that lives outside this module (benchmarks)."""
        return f"{self.root}{name}"

    @property
    def robots(self) -> str:
        """Set of registered robot names."""
        return f"{self.root}robots"

    def robot(self, name: str) -> str:
        """Hash: profile JSON, status, current subtask, last heartbeat."""
        return f"{self.root}robot:{name}"

    def robot_counters(self, name: str) -> str:
        """Hash: one robot's slaver counters (field layout in ``memory.counters``), for the master's /metrics."""
        return f"{self.root}robot:{name}:counters"

    @property
    def counted_robots(self) -> str:
        """Set of robot names that have a counters hash (kept when a robot goes offline)."""
        return f"{self.root}robots:counted"

    def alive(self, name: str) -> str:
        """Liveness of one robot: exists while its heartbeat TTL has not run out."""
        return f"{self.root}alive:{name}"

    @property
    def leases(self) -> str:
        """Sorted set, the index of the liveness keys: registered robot -> when its lease runs out
        (ms since the epoch by Redis's clock; 0 once released). ``memory.robots`` keeps it."""
        return f"{self.root}robots:leases"

    @property
    def scene_nodes(self) -> str:
        """Hash: node name -> node JSON."""
        return f"{self.root}scene:nodes"

    @property
    def scene_version(self) -> str:
        return f"{self.root}scene:version"

    @property
    def scene_children_prefix(self) -> str:
        """Prefix of the children index: ``<prefix><parent>`` is the set of that parent's children."""
        return f"{self.root}scene:children:"

    def scene_children(self, parent: str) -> str:
        return f"{self.scene_children_prefix}{parent}"

    @property
    def scene_roots(self) -> str:
        """Set of the nodes with no parent (places and doors), part of the children index."""
        return f"{self.root}scene:roots"

    @property
    def scene_roots_stamp(self) -> str:
        """A token set anew by every write that changes a node with no parent (a load, a door
        opened, a place added): while it holds, a reader may keep the roots it read with it."""
        return f"{self.root}scene:roots:stamp"

    @property
    def scene_indexed(self) -> str:
        """Exists once the children index (with the roots) matches the nodes hash; rebuilt from it
        when missing. Named anew when the index gained the roots, so older stores rebuild theirs."""
        return f"{self.root}scene:indexed:roots"

    @property
    def events(self) -> str:
        return f"{self.root}events"

    def task(self, task_id: str) -> str:
        """Hash: ``meta`` (task JSON without subtasks) and ``sub:<subtask_id>`` per subtask."""
        return f"{self.root}task:{task_id}"

    def task_claims(self, task_id: str) -> str:
        """Hash: subtask id -> lease token of the slaver that started it (see ``WorkStreams.claim``)."""
        return f"{self.root}task:{task_id}:claims"

    @property
    def task_index(self) -> str:
        """Sorted set: task id scored by creation time."""
        return f"{self.root}tasks:by_time"

    @property
    def active_tasks(self) -> str:
        return f"{self.root}tasks:active"

    def subtasks(self, robot: str) -> str:
        """Stream of subtasks for one robot (consumer group ``slavers``)."""
        return f"{self.root}stream:subtasks:{robot}"

    @property
    def results(self) -> str:
        """Stream of subtask results (consumer group ``master``)."""
        return f"{self.root}stream:results"

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key under the prefix, and nothing else."""
        escaped = "".join(f"\\{c}" if c in _GLOB_SPECIALS else c for c in self.root)
        return f"{escaped}*"
