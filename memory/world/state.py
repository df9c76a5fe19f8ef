"""The state of the world the rules read and change: where every node is, what is open, who can go where.

Built from scene nodes (``SceneNode`` or anything with ``name``, ``kind``, ``parent``, ``relation``,
``props``) and the bodies of the robots. Places connect through passages (place prop ``passages``,
written by the scene loader: ``[{"to", "travel_s", "door"}]``); a scene whose places have no
``passages`` at all is fully connected, each move taking ``DEFAULT_TRAVEL_S``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from memory.messages import Effect
from memory.world.bodies import DEFAULT_HEIGHT, DEFAULT_TRAVEL_S, DEFAULT_WEIGHT_KG, Body

__all__ = ["Route", "WorldState"]

CONTAINED = frozenset({"on", "in"})
_TABLES = ("kind", "parent", "relation", "props", "bodies", "children")  # what copies share until written


class _NodeLike(Protocol):
    name: str
    kind: str
    parent: str | None
    relation: str | None
    props: dict[str, Any]


@dataclass(frozen=True)
class Route:
    """A way between two places: the places passed (start first), the doors on it, its travel time."""

    places: tuple[str, ...]
    doors: tuple[str, ...] = ()
    travel_s: float = 0.0


@dataclass
class WorldState:
    """A mutable copy of the world: kinds, parents and relations, props, and the robots' bodies."""

    kind: dict[str, str] = field(default_factory=dict)
    parent: dict[str, str | None] = field(default_factory=dict)
    relation: dict[str, str | None] = field(default_factory=dict)
    props: dict[str, dict[str, Any]] = field(default_factory=dict)
    bodies: dict[str, Body] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    _has_passages: bool | None = field(default=None, repr=False, compare=False)  # cached; set_props clears it
    _own: set[str] | None = field(default=None, repr=False, compare=False)  # children sets not shared; None: all
    _shared: set[str] = field(default_factory=set, repr=False, compare=False)  # the tables above shared with a copy

    @classmethod
    def from_nodes(cls, nodes: Iterable[_NodeLike], bodies: Mapping[str, Body]) -> WorldState:
        state = cls(bodies=dict(bodies))
        for node in nodes:
            state.put(node)
        return state

    def copy(self) -> WorldState:
        """An independent copy. Its tables are shared until either side changes one (then that
        side copies it first), and so are the children sets, one by one; whether places have
        passages is worked out once, here, for both. A plan changes a few nodes of thousands."""
        self._own = set()
        self._shared = set(_TABLES)
        return WorldState(self.kind, self.parent, self.relation, self.props, self.bodies, self.children,
                          self.has_passages(), set(), set(_TABLES))

    def _write(self, table: str) -> None:
        """Before changing ``table`` (one of ``_TABLES``): its own copy, if it is shared."""
        if table in self._shared:
            self._shared.discard(table)
            setattr(self, table, dict(getattr(self, table)))

    # -- where things are ---------------------------------------------------------------------

    def place_of(self, name: str | None) -> str | None:
        """The place a node is in, walking up parents (a place is its own place; a door has none)."""
        kind = self.kind
        if kind.get(name) == "place":  # type: ignore[arg-type]
            return name
        parent = self.parent.get(name)  # type: ignore[arg-type]
        if kind.get(parent) == "place":  # type: ignore[arg-type]
            return parent  # the usual case, settled without the walk below
        seen: set[str] = set()
        while name is not None and name not in seen:
            if self.kind.get(name) == "place":
                return name
            seen.add(name)
            name = self.parent.get(name)
        return None

    def ancestors(self, name: str) -> list[tuple[str, str | None]]:
        """(parent, relation of the link below it) from the node up to its place."""
        chain: list[tuple[str, str | None]] = []
        seen = {name}
        while (parent := self.parent.get(name)) is not None and parent not in seen:
            chain.append((parent, self.relation.get(name)))
            seen.add(parent)
            name = parent
        return chain

    def holder(self, item: str) -> str | None:
        return self.parent.get(item) if self.relation.get(item) == "held_by" else None

    def holding(self, robot: str) -> list[str]:
        return sorted(c for c in self.children.get(robot, ()) if self.relation.get(c) == "held_by")

    def contents(self, name: str) -> list[str]:
        """What is directly on or in ``name``."""
        return sorted(c for c in self.children.get(name, ()) if self.relation.get(c) in CONTAINED)

    def robots(self) -> list[str]:
        return sorted(n for n, k in self.kind.items() if k == "robot")

    # -- properties -----------------------------------------------------------------------------

    def prop(self, name: str, key: str, default: Any = None) -> Any:
        return self.props.get(name, {}).get(key, default)

    def is_open(self, name: str) -> bool:
        """Containers and doors are open unless their props say closed."""
        props = self.props.get(name, {})
        if "open" in props:
            return bool(props["open"])
        return str(props.get("state", "open")).lower() != "closed"

    def weight_kg(self, name: str) -> float:
        props = self.props.get(name, {})
        weight = props.get("weight_kg", props.get("weight"))
        return float(weight) if weight is not None else DEFAULT_WEIGHT_KG

    def capacity(self, name: str) -> int | None:
        capacity = self.prop(name, "capacity")
        return int(capacity) if capacity is not None else None

    def carrier_of(self, name: str) -> str | None:
        """The robot that ``name`` travels with (holds it, or carries what it is in), if any."""
        return next((p for p in self.station_of(name) if self.kind.get(p) == "robot"), None)

    def load_kg(self, name: str) -> float:
        """The weight of everything on or in ``name``, nested contents included."""
        return sum(self.weight_kg(c) + self.load_kg(c) for c in self.contents(name))

    def closed_around(self, name: str) -> str | None:
        """The nearest closed container that ``name`` is (transitively) inside, if any."""
        for parent, link in self.ancestors(name):
            if link == "in" and self.kind.get(parent) == "container" and not self.is_open(parent):
                return parent
        return None

    def height_of(self, name: str) -> str:
        """The height of a node's outermost support below its place or robot (``floor`` when it
        lies at a place itself)."""
        support = name
        for parent, link in self.ancestors(name):
            if self.kind.get(parent) in ("place", "robot"):
                if support == name and link == "at" and self.kind.get(name) == "object":
                    return "floor"
                break
            support = parent
        return str(self.prop(support, "height", DEFAULT_HEIGHT))

    def station_of(self, name: str) -> list[str]:
        """The node and every node it is on or in: what a station would have to be."""
        return [name, *(p for p, _ in self.ancestors(name))]

    # -- travel ---------------------------------------------------------------------------------

    def has_passages(self) -> bool:
        """Whether any place has passages (else every place connects to every other)."""
        if self._has_passages is None:
            self._has_passages = any("passages" in self.props.get(n, {}) for n, k in self.kind.items() if k == "place")
        return self._has_passages

    def passages(self, place: str) -> list[dict[str, Any]]:
        return list(self.prop(place, "passages", ()) or ())

    def door_places(self, door: str) -> tuple[str, ...]:
        """The places a door connects."""
        return tuple(sorted(p for p, k in self.kind.items() if k == "place"
                            and any(x.get("door") == door for x in self.passages(p))))

    def route(self, start: str, goal: str, zones: Iterable[str] = (), *, through_closed: bool = False) -> Route | None:
        """The quickest way from place ``start`` to place ``goal`` within ``zones`` (empty: anywhere),
        through open doors only unless ``through_closed`` (locked doors never), or None."""
        return self.routes(start, zones, through_closed=through_closed, goal=goal).get(goal)

    def routes(self, start: str, zones: Iterable[str] = (), *, through_closed: bool = False,
               goal: str | None = None) -> dict[str, Route]:
        """The quickest route from place ``start`` to every place it leads to (or until ``goal``)."""
        zones = tuple(zones)
        allowed = set(zones)
        if not self.has_passages():  # every place within the zones, one move away
            wanted = [goal] if goal is not None else zones or self.kind  # not every node for a few zones
            places = [p for p in wanted if self.kind.get(p) == "place" and p != start and (not allowed or p in allowed)]
            return {start: Route((start,)), **{p: Route((start, p), (), DEFAULT_TRAVEL_S) for p in places}}
        found: dict[str, Route] = {}
        frontier: list[tuple[float, str, tuple[str, ...], tuple[str, ...]]] = [(0.0, start, (start,), ())]
        while frontier:
            cost, here, path, doors = heapq.heappop(frontier)
            if here in found:
                continue
            found[here] = Route(path, doors, cost)
            if here == goal:
                break
            for passage in self.passages(here):
                there, door = passage.get("to"), passage.get("door")
                if there is None or there in found or (allowed and there not in allowed):
                    continue
                if self._passable(door, through_closed):
                    total = cost + float(passage.get("travel_s", DEFAULT_TRAVEL_S))
                    heapq.heappush(frontier, (total, there, (*path, there), doors + ((door,) if door else ())))
        return found

    def _passable(self, door: str | None, through_closed: bool) -> bool:
        if door is None:
            return True
        if self.prop(door, "locked", False):
            return False
        return through_closed or self.is_open(door)

    # -- changes --------------------------------------------------------------------------------

    def move(self, name: str, parent: str | None, relation: str | None) -> None:
        if name in self.parent and self.parent[name] == parent and self.relation.get(name) == relation:
            return  # where it is already: no table copied
        if name not in self.relation or self.relation[name] != relation:  # a robot going on is "at" still
            self._write("relation")
            self.relation[name] = relation
        self._write("parent")
        old = self.parent.get(name)
        if old is not None and old in self.children:
            self._own_children(old).discard(name)
        self.parent[name] = parent
        if parent is not None:
            self._own_children(parent).add(name)

    def _own_children(self, name: str) -> set[str]:
        """``name``'s children set, copied first if a copy of this state may share it."""
        self._write("children")
        children = self.children.get(name)
        if children is None:
            children = self.children[name] = set()
        elif self._own is not None and name not in self._own:
            children = self.children[name] = set(children)
        if self._own is not None:
            self._own.add(name)
        return children

    def put(self, node: _NodeLike) -> None:
        """Set a node as the scene has it: its kind, props, parent and relation."""
        if node.kind == "place" or self.kind.get(node.name) == "place":
            self._has_passages = None
        if self.kind.get(node.name) != node.kind:  # a table shared with a copy is copied only to change it
            self._write("kind")
            self.kind[node.name] = node.kind
        if node.name not in self.props or self.props[node.name] != node.props:
            self._write("props")
            self.props[node.name] = node.props
        self.move(node.name, node.parent, node.relation)

    def set_props(self, name: str, props: dict[str, Any]) -> None:
        self._write("props")
        self.props[name] = {**self.props.get(name, {}), **props}
        if "passages" in props:
            self._has_passages = None

    def set_body(self, robot: str, body: Body) -> None:
        if self.bodies.get(robot) != body:
            self._write("bodies")
            self.bodies[robot] = body

    def apply(self, effects: Iterable[Effect | dict[str, Any]]) -> None:
        """Apply effects as the slaver would (no guards: the rules checked them)."""
        for item in effects:
            effect = item if isinstance(item, Effect) else Effect.from_dict(item)
            if effect.op == "move":
                self.move(effect.node, effect.parent, effect.relation or self.relation.get(effect.node))
            elif effect.op == "set":
                self.set_props(effect.node, effect.props or {})
