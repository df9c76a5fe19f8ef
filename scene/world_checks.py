"""Checks of the richer world of a loaded scene: node props, passages and their doors, and the
bodies of the fleet (reach, station, cargo). Errors are :class:`SceneError` naming the file and key.

Used by :mod:`scene.loader` after the references are checked, so every parent named here exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memory.profiles import SceneNode
from memory.world import HEIGHTS
from scene.profile import FleetEntry, Passage, SceneError, SceneProfile

__all__ = ["LOADER_PROPS", "check_world"]

ANY_KIND = frozenset({"place", "door", "furniture", "container", "object"})
SURFACES = frozenset({"furniture", "container"})
PROP_KINDS: dict[str, frozenset[str]] = {
    "height": SURFACES,
    "capacity": SURFACES,
    "open": frozenset({"container", "door"}),
    "locked": frozenset({"door"}),
    "weight_kg": frozenset({"object"}),
    "aliases": ANY_KIND,
}
LOADER_PROPS = {  # the loader writes these props; a scene declares them elsewhere
    "passages": "declare passages under the top-level passages key",
    "cargo_of": "declare cargo under the robot's fleet entry",
}


def check_world(error: Callable[[str, str], SceneError], profile: SceneProfile) -> None:
    """Raise ``error(key, message)`` for the first thing wrong in ``profile``'s world."""
    _WorldChecks(error, profile).check()


class _WorldChecks:
    """The checks of one profile whose references already hold."""

    def __init__(self, error: Callable[[str, str], SceneError], profile: SceneProfile) -> None:
        self.error = error
        self.profile = profile
        self.nodes = {n.name: n for n in profile.nodes}

    def check(self) -> None:
        for node in self.profile.nodes:
            self.check_props(node)
        self.check_capacities()
        self.check_aliases()
        self.check_passages(self.profile.passages)
        taken = {*self.nodes, *(e.name for e in self.profile.fleet)}
        for index, entry in enumerate(self.profile.fleet):
            self.check_body(f"fleet[{index}] ({entry.name})", entry, taken)

    # -- props ----------------------------------------------------------------------------------

    def check_props(self, node: SceneNode) -> None:
        for key, value in node.props.items():
            where = f"nodes.{node.name}.props.{key}"
            if key in LOADER_PROPS:
                raise self.error(where, f"the loader writes this prop: {LOADER_PROPS[key]}")
            kinds = PROP_KINDS.get(key)
            if kinds is None:
                continue  # free-form
            if node.kind not in kinds:
                raise self.error(where, f"only for {' or '.join(sorted(kinds))}, but {node.name} is {_a(node.kind)}")
            problem = _PROP_PROBLEMS[key](value)
            if problem:
                raise self.error(where, f"{problem}, got {_show(value)}")
        if node.props.get("locked") is True and node.props.get("open", True) is not False:
            raise self.error(f"nodes.{node.name}.props.open", "a locked door is closed: set open: false")

    def check_capacities(self) -> None:
        for node in self.profile.nodes:
            capacity = node.props.get("capacity")
            if capacity is None:
                continue
            contents = sorted(n.name for n in self.profile.nodes
                              if n.parent == node.name and n.relation in ("on", "in"))
            if len(contents) > capacity:
                raise self.error(f"nodes.{node.name}.props.capacity",
                                 f"{capacity}, but {len(contents)} things start on or in it ({', '.join(contents)})")

    def check_aliases(self) -> None:
        owner = {_spoken(name): name for name in self.nodes}
        owner.update({_spoken(e.name): e.name for e in self.profile.fleet})
        owner.update({_spoken(e.cargo.name): e.cargo.name for e in self.profile.fleet if e.cargo})
        for node in self.profile.nodes:
            for alias in node.props.get("aliases", []):
                other = owner.setdefault(_spoken(alias), node.name)
                if other != node.name:
                    raise self.error(f"nodes.{node.name}.props.aliases",
                                     f"{alias!r} already names {other}; an alias must name one thing")

    # -- passages -------------------------------------------------------------------------------

    def check_passages(self, passages: list[Passage] | None) -> None:
        connected: dict[frozenset[str], int] = {}
        used: dict[str, int] = {}
        for index, passage in enumerate(passages or []):
            where = f"passages[{index}]"
            pair = self.check_between(where, passage.between)
            if pair in connected:
                raise self.error(f"{where}.between", f"{' and '.join(sorted(pair))} are already connected "
                                 f"by passages[{connected[pair]}]")
            connected[pair] = index
            if passage.travel_s <= 0:
                raise self.error(f"{where}.travel_s", f"must be > 0, got {passage.travel_s}")
            if passage.door is not None:
                self.check_door(f"{where}.door", passage.door, used)
                used[passage.door] = index
        for node in self.profile.nodes:
            if node.kind == "door" and node.name not in used:
                raise self.error(f"nodes.{node.name}", "a door must be the door of a passage: "
                                 f"add 'door: {node.name}' to one under passages")

    def check_between(self, where: str, between: list[str]) -> frozenset[str]:
        if len(between) != 2:
            raise self.error(f"{where}.between", f"expected two places, got {len(between)}")
        places = sorted(n.name for n in self.profile.nodes if n.kind == "place")
        for name in between:
            if name not in places:
                raise self.error(f"{where}.between", f"{name!r} is not a place; places: {', '.join(places)}")
        if between[0] == between[1]:
            raise self.error(f"{where}.between", f"a passage joins two different places, got {between[0]} twice")
        return frozenset(between)

    def check_door(self, where: str, door: str, used: dict[str, int]) -> None:
        node = self.nodes.get(door)
        if node is None:
            raise self.error(where, f"unknown node {door!r}; declare it under nodes with kind door")
        if node.kind != "door":
            raise self.error(where, f"{door} is {_a(node.kind)}, not a door")
        if door in used:
            raise self.error(where, f"{door} is already the door of passages[{used[door]}]; a door is in one passage")

    # -- bodies ---------------------------------------------------------------------------------

    def check_body(self, where: str, entry: FleetEntry, taken: set[str]) -> None:
        if entry.grippers is not None and entry.grippers < 0:
            raise self.error(f"{where}.grippers", f"must be >= 0, got {entry.grippers}")
        if entry.payload_kg is not None and entry.payload_kg <= 0:
            raise self.error(f"{where}.payload_kg", f"must be > 0, got {entry.payload_kg}")
        for height in entry.reach or []:
            if height not in HEIGHTS:
                raise self.error(f"{where}.reach", f"expected heights among {', '.join(HEIGHTS)}, got {height!r}")
        if entry.reach is not None and len(set(entry.reach)) != len(entry.reach):
            raise self.error(f"{where}.reach", f"a height is given twice: {entry.reach}")
        if entry.station is not None:
            self.check_station(f"{where}.station", entry)
        if entry.cargo is not None:
            self.check_cargo(f"{where}.cargo", entry, taken)

    def check_station(self, where: str, entry: FleetEntry) -> None:
        node = self.nodes.get(entry.station or "")
        if node is None:
            raise self.error(where, f"unknown node {entry.station!r}")
        if node.kind not in SURFACES:
            raise self.error(where, f"{node.name} is {_a(node.kind)}; a station is furniture or a container")
        place = self.place_of(node)
        if place != entry.start:
            raise self.error(where, f"{node.name} is in the {place}, but the robot starts in the {entry.start}")

    def check_cargo(self, where: str, entry: FleetEntry, taken: set[str]) -> None:
        assert entry.cargo is not None
        if entry.cargo.name in taken:
            raise self.error(f"{where}.name", f"{entry.cargo.name!r} is already the name of a node, robot or cargo")
        taken.add(entry.cargo.name)
        if entry.cargo.capacity < 1:
            raise self.error(f"{where}.capacity", f"must be >= 1, got {entry.cargo.capacity}")

    def place_of(self, node: SceneNode) -> str | None:
        while node.parent is not None:
            node = self.nodes[node.parent]
        return node.name if node.kind == "place" else None


def _height(value: Any) -> str | None:
    return None if value in HEIGHTS else f"expected one of {', '.join(HEIGHTS)}"


def _capacity(value: Any) -> str | None:
    return None if _is_int(value) and value >= 1 else "expected an int >= 1"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _weight(value: Any) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return None if number and value >= 0 else "expected a number >= 0"


def _aliases(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(a, str) and a.strip() for a in value)
    return None if ok else "expected a list of names"


_PROP_PROBLEMS: dict[str, Callable[[Any], str | None]] = {
    "height": _height, "capacity": _capacity, "open": _flag, "locked": _flag, "weight_kg": _weight,
    "aliases": _aliases,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _spoken(name: str) -> str:
    """How a name or alias reads in an instruction: ``coffee_mug`` and ``Coffee mug`` are one."""
    return " ".join(name.replace("_", " ").lower().split())


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"
