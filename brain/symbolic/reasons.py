"""Why a goal cannot be met, in one sentence ("no robot can reach X", "the door to Y is locked").

Each reason looks at the whole usable fleet and names the first thing that stops every robot:
nobody is online, the object is too heavy for all, nobody can get to the place (and which locked
door is in the way), nobody reaches that height or it is out of every station.
"""

from __future__ import annotations

from collections import Counter

from brain.symbolic.fleet import Fleet

__all__ = ["Reasons"]


class Reasons:
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.state = fleet.state

    def no_picker(self, obj: str, only: str | None = None) -> str:
        lifters = [a.name for a in self.fleet.usable(only) if a.handles]
        if not lifters:
            return self._nobody(only, "pick things up")
        strongest = max(self.fleet.abilities[n].robot.payload_kg for n in lifters)
        weight = self.state.weight_kg(obj)
        if weight > strongest:
            return f"{obj} weighs {weight:g} kg, more than any robot can lift (the strongest lifts {strongest:g} kg)"
        closed = self.state.closed_around(obj)
        if closed and self.state.prop(closed, "locked", False):
            return f"{obj} is in the {closed}, which is locked"
        return self._unreachable(obj, lifters, "pick up", only)

    def no_delivery(self, obj: str, target: str, only: str | None = None) -> str:
        if only and not self.fleet.usable(only):
            return self._nobody(only, "put things down")
        if only and self.fleet.could_reach(only, target) is not None:
            return self._unreachable(target, [only], "put things on or in", only)
        if only and self.state.weight_kg(obj) > self.fleet.abilities[only].robot.payload_kg:
            weight, payload = self.state.weight_kg(obj), self.fleet.abilities[only].robot.payload_kg
            return f"{only} cannot carry {obj}: it weighs {weight:g} kg, more than its payload of {payload:g} kg"
        pickers = [a.name for a in self.fleet.usable() if self.fleet.can_pick(a.name, obj) is None]
        if not pickers and self.state.holder(obj) is None:
            return self.no_picker(obj)
        placers = [a.name for a in self.fleet.usable() if a.handles]
        if not any(self.fleet.could_reach(n, target) is None for n in placers):
            return self._unreachable(target, placers, "put things on or in", only)
        src, dst = self.state.place_of(obj), self.state.place_of(target)
        there = [n for n in placers if self.fleet.could_reach(n, target) is None]
        weight = self.state.weight_kg(obj)
        if all(self.fleet.abilities[n].robot.payload_kg < weight for n in there):
            strongest = max(self.fleet.abilities[n].robot.payload_kg for n in there)
            return (f"{obj} weighs {weight:g} kg, more than any robot that can get to the {dst} can lift "
                    f"(at most {strongest:g} kg){self._unusable_note()}")
        who = f"{only} cannot" if only else "no chain of robots can"
        locked = self._locked_note(src, dst) if src and dst and not self.state.route(src, dst, through_closed=True) else ""
        if locked:
            return f"{who} bring {obj} from the {src} to the {target} in the {dst}{locked}{self._unusable_note()}"
        return (f"{who} bring {obj} from the {src} to the {target} in the {dst}: no robots that can carry it "
                f"share a place and a surface they both reach on the way{self._unusable_note()}")

    def no_opener(self, thing: str, only: str | None = None, open_: bool = True) -> str:
        verb = "open" if open_ else "close"
        if open_ and self.state.prop(thing, "locked", False):
            return f"the {thing} is locked: nobody can open it"
        openers = [a.name for a in self.fleet.usable(only) if a.opens]
        if not openers:
            return self._nobody(only, f"{verb} things")
        return self._unreachable(thing, openers, verb, only)

    def no_mover(self, target: str, only: str | None = None) -> str:
        movers = [a.name for a in self.fleet.usable(only) if a.robot.mobile]
        place = self.state.place_of(target)
        if not movers:
            return self._nobody(only, "move")
        zones = self.fleet.abilities[movers[0]].robot.zones
        if only and zones and place not in zones:
            return f"{only} cannot go to the {place}: it is outside its zones ({', '.join(zones)})"
        who = f"{only} cannot" if only else "no robot that can move can"
        return f"{who} get to the {place}{self._locked_note(place)}{self._unusable_note()}"

    def _nobody(self, only: str | None, what: str) -> str:
        if only:
            why = self.fleet.unusable.get(only, f"it cannot {what}")
            return f"{only} cannot {what}: {why}"
        return f"no online robot can {what}{self._unusable_note()}"

    def _unreachable(self, node: str, names: list[str], verb: str, only: str | None = None) -> str:
        """One sentence on why none of ``names`` can ``verb`` ``node``: nobody gets to its place, or
        those who do cannot reach it there (its height, their station)."""
        place = self.state.place_of(node) or node
        why = {n: self.fleet.could_reach(n, node) for n in names}
        if only:
            return f"{only} cannot {verb} the {node}: {why.get(only) or 'it is out of its reach'}"
        there = [n for n, problem in why.items() if not (problem or "").startswith("it cannot get to")]
        if not there:
            ability = _ABILITY.get(verb, verb)
            return (f"no robot that can {ability} can get to the {place}, where the {node} is"
                    f"{self._locked_note(place)}{self._unusable_note()}")
        if "height" in " ".join(why[n] or "" for n in there):
            height = self.state.height_of(node)
            return (f"no robot that can get to the {place} reaches {height} things like the {node}"
                    f"{self._unusable_note()}")
        reason = Counter(why[n] for n in there if why[n]).most_common(1)
        return f"no robot can reach the {node} to {verb} it: {reason[0][0] if reason else 'out of reach'}{self._unusable_note()}"

    def _unusable_note(self) -> str:
        """Robots left out of this plan, and why ("waiter: it is offline")."""
        out = self.fleet.unusable
        return f" ({'; '.join(f'{r}: {why}' for r, why in sorted(out.items()))})" if out else ""

    def _locked_note(self, *places: str | None) -> str:
        """The locked doors into ``places`` (all locked doors when none are given)."""
        locked = sorted(d for d, k in self.state.kind.items() if k == "door" and self.state.prop(d, "locked", False)
                        and (not places or set(self.state.door_places(d)) & set(places)))
        return f" (the {', the '.join(locked)} {'is' if len(locked) == 1 else 'are'} locked)" if locked else ""


_ABILITY = {"pick up": "pick things up", "put things on or in": "put things there"}
