"""Clauses -> goals, with names resolved by the world's ``Vocabulary`` (``vocabulary``).

Where the words name no destination: "me" is a node named for a person, else the node whose props say
``handoff: true`` ("the guest at table 2": table 2); "put away X" is X's ``home`` prop, else the one
``storage: true`` (or cupboard-like) node; "bring X" goes where the instruction already sends X, else to
"me". A place stands for its one piece of furniture ("take the hat to the bedroom" -> bed_27) or its one
``handoff`` furniture; a place or a person the words later replace ("bring it to the hall and put it on
the shoe rack", "a customer needs batteries, put them on the counter") is only the way there. A wish ("the
chef needs it", "they should be on the shelf") is a goal until words that send the thing replace it, and
adds nothing (a note) after them; a remark only names things for the pronouns after it.
"""

from __future__ import annotations

import weakref
from contextlib import suppress
from dataclasses import replace

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.parser import Clause, Verb, parse
from brain.symbolic.phrasing import (
    USER_WORDS,
    singular,
    split_qualifier,
    strip_articles,
)
from brain.symbolic.vocabulary import ANY_KINDS, DESTINATION_KINDS, Vocabulary
from brain.world import WorldView

__all__ = ["build_goals", "read_task"]

# The last reading of a task: (its world, held weakly; the task; its goals; the notes made).
_last_reading: tuple[weakref.ref[WorldView], str, tuple[Goal, ...], tuple[str, ...]] | None = None


def read_task(task: str, world: WorldView) -> tuple[list[Goal], list[str]]:
    """The goals of ``task`` in ``world`` and the notes made reading it; ``PlanningError`` when it
    does not read. The last reading is kept while its world lives: the symbolic planner and the
    plan check read the same task in the same world, one after the other (goals are frozen)."""
    global _last_reading
    last = _last_reading
    if last is not None and last[0]() is world and last[1] == task:
        return list(last[2]), list(last[3])
    vocab = Vocabulary(world)
    goals = build_goals(parse(task, world.robots), vocab)
    _last_reading = (weakref.ref(world), task, tuple(goals), tuple(vocab.notes))
    return goals, list(vocab.notes)


def build_goals(clauses: list[Clause], vocab: Vocabulary) -> list[Goal]:
    """Fold clauses into goals, in the order the words gave them; facts only add ``vocab.notes``.

    A "pick up X" later followed by "place X on Y" is one goal (X on Y), and the "go to" clauses
    between them are the way there; a pick never placed is "X held"; other "go to"s are goals. So is
    "bring X to <a place>" followed by "put X on Y"; never placed, X goes where the place stands for.
    A heading's clauses (``context``) only name things.
    """
    builder = _GoalBuilder(vocab)
    for index, clause in enumerate(clauses):
        builder.add(index, clause)
    return builder.goals(clauses)


class _GoalBuilder:
    """Goals so far (each with the index of the clause that asked first), open picks and "go to"s.

    ``ways`` are the places open picks were carried to ("bring X to the hall"; None: to the person asking), with
    their clause: later words may say where in it ("... put it on the shoe rack").
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.done: list[tuple[int, Goal]] = []
        self.picks: dict[str, tuple[int, Hold]] = {}
        self.ways: dict[str, tuple[str | None, Clause]] = {}
        self.gos: list[tuple[int, Reach]] = []
        self.wishes: list[tuple[int, Goal]] = []

    def add(self, index: int, clause: Clause) -> None:
        robot = self.vocab.robot(clause.robot) if clause.robot else None
        if clause.context:  # for "both", "them", "one" after it; a topic ("the fridge, open it") may be anything
            topic = clause.verb == Verb.FACT
            kinds, role = ((*ANY_KINDS, "door"), "thing") if topic else (("object",), "object")
            self.vocab.nodes(clause.obj or "", kinds, role)
        elif clause.verb == Verb.PICK:
            self._pick(index, clause, robot)
        elif clause.verb == Verb.GO:
            self._go(index, clause, robot)
        elif clause.verb in (Verb.PLACE, Verb.CARRY, Verb.STORE):
            (self._wish if clause.wish else self._deliver)(index, clause, robot)
        elif clause.verb == Verb.REMARK:
            self._remark(clause)
        elif clause.verb == Verb.FACT:
            _check_fact(clause, self.vocab)
        elif clause.verb == Verb.CONFIRM:
            self._confirm(clause)
        else:
            for thing in self.vocab.openables(clause.target or ""):
                self.done.append((index, SetOpen(thing, clause.verb == Verb.OPEN, robot)))

    def goals(self, clauses: list[Clause]) -> list[Goal]:
        unplaced = [(index, self._unplaced(hold)) for index, hold in self.picks.values()]
        pairs = self.done + self.wishes + unplaced + self.gos
        if not pairs:
            raise PlanningError(f"'{clauses[0].text}' states how things are but asks for nothing; add what to do, "
                                "e.g. 'bring the cup to <place>'")
        return [goal for _, goal in sorted(pairs, key=lambda pair: pair[0])]

    def _remark(self, clause: Clause) -> None:
        """"I can't find my glasses": nothing to do and nothing to note, but "they" after it may be the glasses."""
        notes = list(self.vocab.notes)
        for phrase, kinds in ((clause.obj, ("object",)), (clause.target, ANY_KINDS)):
            with suppress(PlanningError):
                self.vocab.nodes(phrase or "", kinds, "thing")
        self.vocab.notes[:] = notes

    def _wish(self, index: int, clause: Clause, robot: str | None) -> None:
        """"The chef needs it", "they should be on the shelf": a goal unless the words already send the thing;
        later words that send it (``_deliver``) replace it."""
        if sent := self._already_sent(clause):
            self.vocab.note(f"'{clause.text}' is context: the words already say where {', '.join(sent)} goes")
            return
        before = len(self.done)
        self._deliver(index, clause, robot)
        self.wishes += self.done[before:]
        del self.done[before:]

    def _already_sent(self, clause: Clause) -> list[str]:
        """The things of a wish that earlier words send somewhere ("bring it to me"; a bare "bring it" does not)."""
        try:
            objs = self.vocab.nodes(clause.obj or "", ("object",), "object", self._source(clause))
        except PlanningError:  # a robot's cargo ("packing needs tote 3"): ``_deliver`` says what it is
            return []
        return [obj for obj in objs if self._sent(obj) or (obj in self.ways and self.ways[obj][1].target)]

    def _go(self, index: int, clause: Clause, robot: str | None) -> None:
        """"go to X"; "fly it (tote 3) over to packing": the robot flown, or whose cargo is flown, goes there;
        a thing flown is carried there."""
        vehicle = self._vehicle(clause.obj) if clause.obj else robot
        if clause.obj and vehicle is None:
            self._deliver(index, replace(clause, verb=Verb.CARRY), robot)
        else:
            self._reach(index, clause.target or "", vehicle)

    def _reach(self, index: int, phrase: str, robot: str | None) -> None:
        self.gos.append((index, Reach(self.vocab.node(phrase, ("place", *DESTINATION_KINDS), "destination"), robot)))

    def _vehicle(self, phrase: str) -> str | None:
        """The robot that goes where ``phrase`` is sent: a robot, or the one whose cargo container it is."""
        robot = self.vocab.recipient(phrase)
        if robot:
            return robot
        try:
            names = self.vocab.nodes(phrase, ("object", "container"), "thing")
        except PlanningError:
            return None
        carrier = self.vocab.world.nodes[names[0]].props.get("cargo_of") if len(names) == 1 else None
        return str(carrier) if carrier else None

    def _confirm(self, clause: Clause) -> None:
        """"The yogurt should be in the freezer. Can you move it?": what the words already ask for, nothing new."""
        for obj in self.vocab.nodes(clause.obj or "", ("object",), "object"):
            asked = self.done + self.wishes
            if obj not in self.picks and not any(isinstance(g, (Deliver, Hold)) and g.obj == obj for _, g in asked):
                raise PlanningError(f"'{clause.text}': nothing says where {obj} should go; try 'move {obj} to <place>'")

    def _unplaced(self, hold: Hold) -> Goal:
        """A pick never placed is held; one carried to a place ends on the furniture the place stands for."""
        if hold.obj not in self.ways:
            return hold
        place, clause = self.ways[hold.obj]
        spot = self.vocab.handoff() if place is None else self._spot_in(place, clause.target or place)
        return Deliver(hold.obj, spot, _relation(clause, spot, self.vocab), hold.robot, hold.source)

    def _pick(self, index: int, clause: Clause, robot: str | None) -> None:
        """"pick up X"; "grab X and keep hold of it" is one pick, where and by whom the first said unless this does."""
        source = self._source(clause)
        for obj in self.vocab.nodes(clause.obj or "", ("object",), "object", source):
            start, held = self.picks.get(obj, (index, Hold(obj)))
            self.picks[obj] = (start, Hold(obj, robot or held.robot, source or held.source))
            self.ways.pop(obj, None)

    def _source(self, clause: Clause) -> str | None:
        if not clause.source:
            return None
        return self.vocab.node(clause.source, ANY_KINDS, "place to take it from")

    def _deliver(self, index: int, clause: Clause, robot: str | None) -> None:
        source = self._source(clause)
        try:
            objs = self.vocab.nodes(clause.obj or "", ("object",), "object", source)
        except PlanningError:  # "take tote 3 to packing": the drone carrying it goes
            vehicle = self._vehicle(clause.obj or "")
            if vehicle is None or not clause.target:
                raise
            self._reach(index, clause.target, vehicle)
            return
        if not clause.wish and (clause.target or clause.verb == Verb.STORE):  # they replace what was only wished
            self.wishes = [(start, goal) for start, goal in self.wishes if getattr(goal, "obj", None) not in objs]
        receiver, target = self._receiver(clause)
        for obj in objs:
            start, who, where = self._fold(index, obj, robot, source)
            carried = Hold(obj, who, where)
            if receiver:
                self.done.append((start, Hold(obj, receiver, where)))
            elif target or clause.verb == Verb.STORE:
                self._put(start, carried, target or self.vocab.home(obj), clause)
            elif clause.target or not self._sent(obj):  # to the person asking, unless later words say where
                self.picks[obj] = (start, carried)
                self.ways[obj] = (None, clause)

    def _receiver(self, clause: Clause) -> tuple[str | None, str | None]:
        """(the robot to hold it, where to put it): "to the waiter" is held; "in the drone" is in its cargo."""
        if not clause.target:
            return None, None
        robot = self.vocab.recipient(clause.target)
        cargo = self.vocab.cargo(robot) if robot and clause.relation in ("in", "on") else None
        if robot and not cargo:
            return robot, None
        return None, cargo or self._destination(clause.target)

    def _put(self, start: int, carried: Hold, spot: str | None, clause: Clause) -> None:
        """``carried.obj`` onto ``spot``; to a place it is carried there, and later words may say where in it."""
        if spot is None:
            return
        if self.vocab.world.nodes[spot].kind == "place":
            self.picks[carried.obj] = (start, carried)
            self.ways[carried.obj] = (spot, clause)
            return
        relation = _relation(clause, spot, self.vocab)
        self.done.append((start, Deliver(carried.obj, spot, relation, carried.robot, carried.source)))

    def _sent(self, obj: str) -> bool:
        """Whether the words already send ``obj`` somewhere ("bring it" then adds nothing)."""
        return any(isinstance(goal, Deliver) and goal.obj == obj for _, goal in self.done + self.wishes)

    def _destination(self, phrase: str) -> str | None:
        """The node things go to; None for the person asking ("me"; "the guest at table 2" is table 2)."""
        person, where = split_qualifier(strip_articles(phrase))
        if singular(person) not in USER_WORDS or self.vocab.is_name(phrase):
            return self.vocab.node(phrase, ("place", *DESTINATION_KINDS), "destination")
        try:
            return self._destination(where) if where else None
        except PlanningError as e:
            self.vocab.note(f"{str(e).split(';')[0]}: reading '{strip_articles(phrase)}' as the person asking")
            return None

    def _spot_in(self, place: str, phrase: str) -> str:
        """Where in ``place`` things go: its one piece of furniture, else its one ``handoff`` furniture."""
        world = self.vocab.world
        spots = [n for n in world.nodes_of_kind(*DESTINATION_KINDS)
                 if world.place_of(n.name) == place and not n.props.get("cargo_of")]
        handoffs = [n for n in spots if n.props.get("handoff")]
        for found, why in ((spots, "its only furniture"), (handoffs, "its handoff point")):
            if len(found) == 1:
                self.vocab.note(f"'{phrase}' is a place; putting things on {found[0].name}, {why}")
                return found[0].name
        where = ", ".join(n.name for n in spots) or "it has no furniture"
        raise PlanningError(f"'{place}' is a place; say where in it to put things: {where}")

    def _fold(self, index: int, obj: str, robot: str | None, source: str | None) -> tuple[int, str | None, str | None]:
        """An earlier "pick up ``obj``" starts this delivery; the "go to"s since are its way there."""
        picked = self.picks.pop(obj, None)
        self.ways.pop(obj, None)
        if picked is None:
            return index, robot, source
        start, hold = picked
        robot = robot or hold.robot
        self.gos[:] = [(i, g) for i, g in self.gos if i < start or g.robot not in (None, robot)]
        return start, robot, source or hold.source


def _relation(clause: Clause, target: str, vocab: Vocabulary) -> str:
    """As the words said ("on" the fridge is on top), else "in" a container and "on" anything else."""
    container = vocab.world.nodes[target].kind == "container"
    relation = clause.relation if clause.relation in ("in", "on") else "in" if container else "on"
    return "on" if relation == "in" and not container else relation


def _check_fact(clause: Clause, vocab: Vocabulary) -> None:
    """A stated fact: a note when the scene disagrees or when it cannot be checked; never a goal."""
    try:
        contradicted = _contradicted(clause, vocab)
    except PlanningError as e:
        vocab.note(f"ignored '{clause.text}': {e}")
        return
    for thing, said, actual in contradicted:
        vocab.note(f"the instruction says {thing} is {said}, but the scene has it {actual}; planning from the scene")


def _contradicted(clause: Clause, vocab: Vocabulary) -> list[tuple[str, str, str]]:
    """(thing, what the words say, what the scene says) for each thing the fact gets wrong."""
    if not clause.target and clause.relation not in ("open", "closed"):
        with suppress(PlanningError):  # "the milk is out": unchecked, but "it" after it is the milk
            vocab.nodes(clause.obj or "", ANY_KINDS, "thing")
        raise PlanningError("only 'X is in/on Y' and 'X is open/closed' are checked")
    robot = vocab.recipient(clause.obj or "")
    things = [robot] if robot else vocab.nodes(clause.obj or "", ANY_KINDS, "thing")
    if clause.relation in ("open", "closed"):
        return [(t, clause.relation, "open" if vocab.world.is_open(t) else "closed")
                for t in things if vocab.world.is_open(t) != (clause.relation == "open")]
    place = vocab.node(clause.target or "", ANY_KINDS, "place")
    said = f"{clause.relation or 'at'} {place}"
    return [(t, said, vocab.location(t)) for t in things if not vocab.inside(t, place)]
