"""The world as it will be once the steps planned so far have run.

The planner starts from the current ``WorldView`` and applies each planned action here, so later
goals see earlier ones' results (the cup is on the pass counter, the fridge is open). It also keeps
who last changed each node, which becomes the dependencies between steps.
"""

from __future__ import annotations

from brain.world import WorldView

__all__ = ["SimState"]


class SimState:
    """Mutable copy of where things are, which containers are open, where robots stand."""

    def __init__(self, world: WorldView) -> None:
        self.world = world
        self.parent: dict[str, str | None] = {n.name: n.parent for n in world.nodes.values()}
        self.relation: dict[str, str | None] = {n.name: n.relation for n in world.nodes.values()}
        self.opened: dict[str, bool] = {n.name: world.is_open(n.name) for n in world.nodes_of_kind("container")}
        self.location: dict[str, str | None] = {r.name: r.position for r in world.robots.values()}
        for robot in world.robots.values():
            for item in robot.holding:
                self.move(item, robot.name, "held_by")

    def place_of(self, name: str | None) -> str | None:
        """The place a node or robot is in, walking up parents."""
        seen: set[str] = set()
        while name is not None and name not in seen:
            seen.add(name)
            if name in self.location:
                name = self.location[name]
                continue
            node = self.world.nodes.get(name)
            if node is not None and node.kind == "place":
                return name
            name = self.parent.get(name)
        return None

    def holder(self, item: str) -> str | None:
        """The robot holding ``item``, if any."""
        return self.parent.get(item) if self.relation.get(item) == "held_by" else None

    def holding(self, robot: str) -> list[str]:
        return sorted(n for n, p in self.parent.items() if p == robot and self.relation.get(n) == "held_by")

    def is_open(self, name: str) -> bool:
        return self.opened.get(name, True)

    def is_closed_container(self, name: str | None) -> bool:
        return name is not None and not self.is_open(name)

    def move(self, item: str, parent: str, relation: str) -> None:
        self.parent[item] = parent
        self.relation[item] = relation
