"""Handoff chains of any length: which robots move an object from where it is to its target.

A search over groups of interchangeable robots (same places, reach, station and ability to lift the
object), so it stays small in a large fleet. From a group holding the object it can hand over to
another group through a surface both reach in a place both get to (or, with no such surface, hand
it straight over there), load it into a carrier's cargo
container where they meet, or place it on the target; a carrier's group can fly the container to a
place where another group unloads it. The fewest hops win, then the least travel.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from brain.symbolic.fleet import Fleet
from memory.world import body_limit, handover_limit

__all__ = ["Hop", "find_chain"]

_SURFACES = ("furniture", "container")


@dataclass(frozen=True)
class Hop:
    """One hop of a chain. ``hand``: a robot of ``members`` takes the object and places it on ``to``
    (for a cargo hop, in the container of a robot of ``carriers``, met at place ``meet``).
    ``fly``: a carrier of ``members`` flies its cargo container, with the object, to place ``to``.
    ``give``: a robot of ``members`` hands it straight to a robot of ``takers`` waiting at place ``to``
    (only where they share no surface both reach)."""

    kind: str  # hand | fly | give | take (the last hop of a chain that ends in a hand)
    members: tuple[str, ...]
    to: str = ""
    meet: str | None = None
    carriers: tuple[str, ...] = ()
    takers: tuple[str, ...] = ()


@dataclass(frozen=True, order=True)
class _Node:
    role: str  # held | cargo
    group: tuple[str, ...]


@dataclass(order=True)
class _Entry:
    hops: int
    cost: float
    node: _Node = field(compare=False)
    path: tuple[Hop, ...] = field(compare=False, default=())


def find_chain(fleet: Fleet, obj: str, target: str | None, only: str | None = None) -> list[Hop] | None:
    """The hops that bring ``obj`` onto/into ``target``, or None when no chain exists; with ``only``,
    that robot puts it there (others may bring it to that robot). With no ``target``, the chain ends
    with ``only`` (or any robot) holding it: its last hop is a ``take``."""
    return _Search(fleet, obj, target, only).run()


class _Search:
    def __init__(self, fleet: Fleet, obj: str, target: str | None, only: str | None) -> None:
        self.fleet, self.state, self.obj, self.target, self.only = fleet, fleet.state, obj, target, only
        self.handlers = _group(fleet, [a.name for a in fleet.usable() if self._lifts(a.name) and self._free(a.name)])
        self.carriers = _group(fleet, [a.name for a in fleet.usable() if a.robot.body.cargo and a.robot.mobile])
        self.surfaces: dict[str, list[str]] = {}  # place -> usable surfaces there, found when first asked
        self.source = self.state.place_of(obj)
        self.destination = self.state.place_of(target or only)  # with no target, where the taker is
        self.target_carrier = self._carrier_of_cargo(target)

    def _free(self, name: str) -> bool:
        return len(self.state.holding(name)) < self.fleet.abilities[name].robot.arms

    def _lifts(self, name: str) -> bool:
        ability = self.fleet.abilities[name]
        return ability.handles and self.state.weight_kg(self.obj) <= ability.robot.payload_kg

    def run(self) -> list[Hop] | None:
        """The chains with the fewest hops, the one whose robots would be done soonest."""
        queue = [_Entry(1, 0.0, node) for node in self._starts()]
        heapq.heapify(queue)
        seen: set[_Node] = set()
        found: list[list[Hop]] = []
        while queue:
            entry = heapq.heappop(queue)
            if entry.node in seen or (found and entry.hops > len(found[0])):
                continue
            seen.add(entry.node)
            if entry.node.role == "held" and self._finishes(entry.node.group):
                found.append([*entry.path, self._last_hop(self._finishers(entry.node.group))])
            elif entry.hops < 8 and not found:
                for hop, node, cost in self._next(entry.node):
                    if node not in seen:
                        heapq.heappush(queue, _Entry(entry.hops + 1, entry.cost + cost, node, (*entry.path, hop)))
        return self._cheapest(found)

    def _finishes(self, group: tuple[str, ...]) -> bool:
        """Whether ``group`` can put the object on the target (where it is, or a carried container
        whose carrier comes to them), or hold it when there is none (the named robot must be the one)."""
        named = self.only is None or self.only in group
        if self.target is None or not named:
            return named
        return self._reaches(group[0], self.target) or self._carrier_meeting(group) is not None

    def _last_hop(self, group: tuple[str, ...]) -> Hop:
        if self.target is None:
            return Hop("take", group)
        meeting = None if self._reaches(group[0], self.target) else self._carrier_meeting(group)
        if meeting is None:
            return Hop("hand", group, self.target)
        carrier, place = meeting
        return Hop("hand", group, self.target, place, (carrier,))

    def _carrier_of_cargo(self, target: str | None) -> str | None:
        """The usable mobile robot whose cargo container ``target`` is, if any."""
        carrier = self.state.prop(target, "cargo_of") if target else None
        ability = self.fleet.abilities.get(carrier) if isinstance(carrier, str) else None
        return carrier if ability and ability.robot.mobile and ability.robot.body.cargo == target else None

    def _carrier_meeting(self, group: tuple[str, ...]) -> tuple[str, str] | None:
        """(carrier, place) where the target's carrier can come to ``group`` to be loaded, or None."""
        carrier = self.target_carrier
        if carrier is None or self.target is None:
            return None
        common = self.fleet.abilities[group[0]].places & self.fleet.abilities[carrier].places
        if not common or self._cargo_limit(group[0], self.target) or not self._carries(carrier, self.target):
            return None
        return carrier, self._meeting(common, self.source)

    def _finishers(self, group: tuple[str, ...]) -> tuple[str, ...]:
        return (self.only,) if self.only else group

    def _cheapest(self, chains: list[list[Hop]]) -> list[Hop] | None:
        if not chains:
            return None
        direct = [c for c in chains if len(c) == 1 and not c[0].carriers]
        if direct:  # one robot does it all: any of the groups, the soonest done wins
            return [self._last_hop(tuple(sorted({n for c in direct for n in c[0].members})))]
        return min(chains, key=lambda chain: sum(self._hop_cost(hop) for hop in chain))

    def _hop_cost(self, hop: Hop) -> float:
        return min(self.fleet.cost(n, *([hop.to] if hop.to else []))[0] for n in hop.members)

    def _starts(self) -> list[_Node]:
        holder = self.state.holder(self.obj)
        if holder is not None:
            return [_Node("held", (holder,))] if holder in self.fleet.abilities else []
        carrier = self._carrier_of(self.state.parent.get(self.obj))
        starts = [_Node("cargo", (carrier,))] if carrier in self.fleet.abilities else []
        where = self.state.place_of(self.obj) if self.state.kind.get(self.obj) != "door" else None
        names = [a.name for a in self.fleet.usable() if (where is None or where in a.places)  # can_pick's first test
                 and self.fleet.can_pick(a.name, self.obj) is None]
        return starts + [_Node("held", g) for g in _group(self.fleet, names)]

    def _carrier_of(self, container: str | None) -> str | None:
        parent = self.state.parent.get(container) if container else None
        return parent if parent and self.state.kind.get(parent) == "robot" else None

    def _reaches(self, name: str, node: str) -> bool:
        return self.fleet.could_reach(name, node) is None

    def _next(self, node: _Node) -> Iterator[tuple[Hop, _Node, float]]:
        if node.role == "cargo":
            yield from self._unloads(node.group)
            return
        yield from self._handovers(node.group)
        yield from self._loads(node.group)

    def _handovers(self, giver: tuple[str, ...]) -> Iterator[tuple[Hop, _Node, float]]:
        places = self.fleet.abilities[giver[0]].places
        for taker in self.handlers:
            if taker == giver:
                continue
            common = places & self.fleet.abilities[taker[0]].places
            spot = self._spot(giver[0], taker[0], common)
            if spot is not None:
                yield Hop("hand", giver, spot), _Node("held", taker), 1.0
            elif common and handover_limit(self.state, giver[0], taker[0]) is None:
                yield Hop("give", giver, self._meeting(common), takers=taker), _Node("held", taker), 1.0

    def _spot(self, giver: str, taker: str, places: frozenset[str]) -> str | None:
        """A surface in ``places`` that both reach, handoff surfaces first, then by name."""
        options = [s for p in places for s in self._surfaces_at(p)
                   if body_limit(self.state, giver, s) is None and body_limit(self.state, taker, s) is None]
        return min(options, key=lambda s: (not self.state.prop(s, "handoff", False), s)) if options else None

    def _loads(self, giver: tuple[str, ...]) -> Iterator[tuple[Hop, _Node, float]]:
        places = self.fleet.abilities[giver[0]].places
        for carrier in self.carriers:
            cargo = self.fleet.abilities[carrier[0]].robot.body.cargo or ""
            meet = places & self.fleet.abilities[carrier[0]].places
            if meet and cargo in self.state.kind and self._cargo_limit(giver[0], cargo) is None \
                    and self._carries(carrier[0], cargo):
                yield Hop("hand", giver, cargo, self._meeting(meet, self.source), carrier), _Node("cargo", carrier), 1.0

    def _unloads(self, carrier: tuple[str, ...]) -> Iterator[tuple[Hop, _Node, float]]:
        cargo = self.fleet.abilities[carrier[0]].robot.body.cargo or ""
        places = self.fleet.abilities[carrier[0]].places
        for taker in self.handlers:
            meet = places & self.fleet.abilities[taker[0]].places
            if meet and self._lifts(taker[0]) and self._cargo_limit(taker[0], cargo) is None:
                yield Hop("fly", carrier, self._meeting(meet)), _Node("held", taker), 1.0

    def _carries(self, carrier: str, cargo: str) -> bool:
        """Whether the carrier can lift its cargo with the object added."""
        load = self.state.load_kg(cargo) + self.state.weight_kg(self.obj) + self.state.load_kg(self.obj)
        return load <= self.fleet.abilities[carrier].robot.payload_kg

    def _meeting(self, places: frozenset[str], *first: str | None) -> str:
        """Where two robots meet among ``places``: ``first`` if there, else the target's place, else
        the object's, else the first by name."""
        for place in (*first, self.destination, self.source):
            if place in places:
                return place
        return min(places)

    def _cargo_limit(self, name: str, cargo: str) -> str | None:
        """Why ``name`` could not reach a cargo container beside it: its height or a station."""
        station = self.fleet.abilities[name].robot.body.station
        if station:
            return f"it is fixed at the {station}"
        height = self.state.height_of(cargo)
        return None if height in self.fleet.abilities[name].robot.body.reach else f"it cannot reach {height}"

    def _surfaces_at(self, place: str) -> list[str]:
        """The usable surfaces whose place is ``place``: what lies below it down to the next place."""
        if place not in self.surfaces:
            found: list[str] = []
            pending, seen = [place], {place}
            while pending:
                for child in sorted(self.state.children.get(pending.pop(), ())):
                    if child in seen or self.state.kind.get(child) == "place":
                        continue
                    seen.add(child)
                    pending.append(child)
                    if self.state.kind[child] in _SURFACES and self._usable_surface(child):
                        found.append(child)
            self.surfaces[place] = found
        return self.surfaces[place]

    def _usable_surface(self, name: str) -> bool:
        if self.state.prop(name, "cargo_of") or self.state.closed_around(name):
            return False
        if self.state.kind[name] == "container" and not self.state.is_open(name):
            return False
        capacity = self.state.capacity(name)
        return capacity is None or len(self.state.contents(name)) < capacity


def _group(fleet: Fleet, names: list[str]) -> list[tuple[str, ...]]:
    """Interchangeable robots together: same places, body reach, station, cargo and skills."""
    groups: dict[tuple[object, ...], list[str]] = {}
    for name in names:
        ability = fleet.abilities[name]
        body = ability.robot.body
        key = (ability.places, body.reach, body.station, body.cargo, ability.handles, body.payload_kg, body.grippers)
        groups.setdefault(key, []).append(name)
    return [tuple(sorted(g)) for g in sorted(groups.values())]
