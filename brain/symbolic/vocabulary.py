"""Phrases -> scene names: the vocabulary of one world, used by the grounding (``grounding``).

Names match scene node names and their ``aliases`` prop with underscores as spaces, case-insensitive;
articles and plurals are tolerated and a unique last (or first) word is enough ("the apples" -> apple,
"table 2" -> table_2, "the counter" -> pass_counter when no other node ends in "counter"). A location
narrows the choice ("the table in the pass" -> serving_table). Lists and quantities name several things
("the cup and the plate", "all the cups", "both cups", "a cup" -> any one); a name the scene has with
"and" in it stays whole ("salt and pepper"). "it" means the last node of the right kind mentioned, "them"
and "both" the last several, "there" the last destination ("the rack there": the rack there); "the box" that
could be several is the one named last ("put it in the small box, then close the box"), and "the lid" (or
door) the container named last.
A location may be a robot ("the basket on the drone"); one that fits no node is a note when the name alone
is enough. Robots are named by name, by a word for their body ("the drone") or numbered ("the third
drone" -> tote_drone_3); a delivery to a robot is that robot holding it, "in/on" a robot with a cargo
container is into that container, and sending a robot's cargo container ("fly tote 3 to packing", "fly it
over") sends the robot. Doors open and close like containers ("the office door"; "the utility room door":
the one door into that place).

What the grounding had to decide or could not check ("a cup" chose cup_1; a stated fact the scene
contradicts) is kept in ``Vocabulary.notes`` for the planner to show.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from brain.errors import PlanningError
from brain.symbolic.lexicon import Lexicon
from brain.symbolic.phrasing import (
    ROBOT_WORDS,
    USER_WORDS,
    NounPhrase,
    normalize,
    numbered,
    read_phrase,
    singular,
    split_list,
    split_qualifier,
    strip_articles,
    variants,
)
from brain.world import WorldView

__all__ = ["ANY_KINDS", "DESTINATION_KINDS", "Vocabulary"]

DESTINATION_KINDS = ("furniture", "container")
_OPENABLE = ("container", "door")
ANY_KINDS = ("place", "furniture", "container", "object")
_PLURAL_LABELS = {"object": "objects", "furniture": "furniture", "container": "containers", "place": "places",
                  "door": "doors"}
_GENERIC = {"object", "thing", "item", "everything", "stuff"}
_PARTS = {"lid", "door", "top", "cover", "hatch"}  # what is opened of a container: "close the lid"
_STORAGE_WORDS = {"cupboard", "cabinet", "closet", "pantry", "storage", "drawer", "wardrobe", "locker"}


class Vocabulary:
    """Resolves phrases against one world's node and robot names, remembering what was mentioned."""

    def __init__(self, world: WorldView) -> None:
        self.world = world
        self.notes: list[str] = []
        self._lexicon = Lexicon.of(world)  # names and aliases, indexed once per set of names
        self._keys = self._lexicon.keys
        self._robots = self._lexicon.robots
        self._mentioned: list[str] = []
        self._group: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def robot(self, phrase: str) -> str:
        """The robot a phrase names: its name, a unique last word of it, or the one robot of a body kind."""
        words = strip_articles(phrase).removeprefix("robot ")
        name = self.recipient(phrase)
        if name is None:
            ends = self._lexicon.robot_ends.get(words, ())
            name = ends[0] if len(ends) == 1 else None
        if name is None:
            known = ", ".join(sorted(self.world.robots)) or "none"
            raise PlanningError(f"unknown robot '{phrase}'; known robots: {known}")
        return name

    def recipient(self, phrase: str) -> str | None:
        """The robot named, by body ("the drone") or numbered ("the third drone"), unless a node has that name."""
        words = strip_articles(phrase)
        if self.is_name(words):
            return None
        name = self._robots.get(words) or self._robots.get(words.removeprefix("robot "))
        return name or self._by_body(words.removeprefix("robot "), phrase) or self._by_number(words)

    def _by_number(self, words: str) -> str | None:
        """"third drone" -> the one robot whose name is or ends with "drone 3"."""
        name = numbered(words)
        whole = [self._robots[name]] if name in self._robots else []
        ends = [*whole, *self._lexicon.robot_ends.get(name, ())]
        return ends[0] if name != words and len(ends) == 1 else None

    def cargo(self, robot: str) -> str | None:
        """The container ``robot`` carries (its node's ``cargo_of`` prop), if any."""
        return next((n.name for n in self.world.nodes_of_kind("container") if n.props.get("cargo_of") == robot), None)

    def _by_body(self, words: str, phrase: str) -> str | None:
        body = ROBOT_WORDS.get(words)
        if body is None:
            return None
        robots = sorted(r.name for r in self.world.robots.values() if body in r.embodiment.split("_"))
        if len(robots) != 1:
            found = f"it could be {', '.join(robots)}" if robots else f"no robot has a {body} body"
            raise PlanningError(f"'{phrase}' names no single robot: {found}; name the robot")
        return robots[0]

    def node(self, phrase: str, kinds: tuple[str, ...], role: str) -> str:
        """The one node ``phrase`` names, which must be of one of ``kinds`` (``role`` is for messages)."""
        names = self.nodes(phrase, kinds, role)
        if len(names) > 1:
            raise PlanningError(f"'{phrase}' names {len(names)} things ({', '.join(names)}); name one {role}")
        return names[0]

    def nodes(self, phrase: str, kinds: tuple[str, ...], role: str, within: str | None = None) -> list[str]:
        """Every node a phrase names: "the cup and the plate", "all the cups", "them"...

        ``within`` (where the words said to take it from) chooses among same-named candidates.
        """
        names: list[str] = []
        for item in self._items(phrase):
            found = self._resolve(item, kinds, role, within)
            for name in found:
                self._check_kind(name, item, kinds, role)
            names += found
        self._mentioned += names
        self._group = names if len(names) > 1 else self._group
        return names

    def openables(self, phrase: str) -> list[str]:
        """The containers and doors a phrase names: "the fridge (door)", "the office door", "the utility room
        door" (the one door into the place named before "door")."""
        try:
            return self.nodes(phrase, _OPENABLE, "thing to open")
        except PlanningError:
            doors = self._doors_into(phrase) or self._part_of_last(phrase)
            if len(doors) != 1:
                raise
            self._mentioned += doors
            return doors

    def _part_of_last(self, phrase: str) -> list[str]:
        """"the lid" (a part no node is named for) after "put it in the freezer": the container just named."""
        if strip_articles(phrase) not in _PARTS:
            return []
        last = next((n for n in reversed(self._mentioned) if self.world.nodes[n].kind in _OPENABLE), None)
        return [last] if last else []

    def _doors_into(self, phrase: str) -> list[str]:
        words = strip_articles(phrase)
        if not words.endswith(" door") or not self.is_name(place := words.removesuffix(" door")):
            return []
        places = set(self._exact(place))
        doors = self.world.nodes_of_kind("door")
        return [d.name for d in doors if places & set(self.world.state.door_places(d.name))]

    def _items(self, phrase: str) -> list[str]:
        """A list's items; "salt and pepper" stays one when a node has that name."""
        parts = split_list(phrase)
        items: list[str] = []
        while parts:
            size = next(n for n in range(len(parts), 0, -1) if n == 1 or self.is_name(" and ".join(parts[:n])))
            items.append(" and ".join(parts[:size]))
            parts = parts[size:]
        return items

    def _resolve(self, item: str, kinds: tuple[str, ...], role: str, within: str | None) -> list[str]:
        phrase = read_phrase(item)
        if phrase.pronoun:
            return self._pronoun(phrase.words, item, kinds, role)
        names = self._exact(phrase.words)
        if not names:
            head, where = split_qualifier(phrase.words)
            generic = singular(head) in _GENERIC
            phrase = replace(phrase, words=head, every=phrase.every or generic)
            names = [n.name for n in self.world.nodes_of_kind(*kinds)] if generic else self._lookup(head, kinds, role)
            if where or (within and len(names) > 1):
                names = self._qualified(names, where or within)
        return self._choose(names, phrase)

    def _pronoun(self, words: str, phrase: str, kinds: tuple[str, ...], role: str) -> list[str]:
        group = [n for n in self._group if self.world.nodes[n].kind in kinds]
        if words in ("them", "they", "these", "those", "both") and group:
            return group
        last = next((n for n in reversed(self._mentioned) if self.world.nodes[n].kind in kinds), None)
        if last is None:
            raise PlanningError(f"cannot tell what '{phrase}' refers to; name the {role}")
        return [last]

    def is_name(self, phrase: str) -> bool:
        """Whether a phrase is a node's name or alias as written (give or take articles and plurals)."""
        return bool(self._exact(phrase))

    def _exact(self, words: str) -> list[str]:
        return self._lexicon.exact(words)

    def _lookup(self, words: str, kinds: tuple[str, ...], role: str) -> list[str]:
        for candidate in (words, *variants(words)):
            matches = self._exact(candidate) or self._by_end_words(candidate, kinds)
            if matches:
                return matches
        if contained := self._contained(words, kinds):
            return contained
        known = [k.text for k in self._keys if self.world.nodes[k.name].kind in kinds]
        close = difflib.get_close_matches(words, known, n=1, cutoff=0.8)
        guess = f"did you mean '{close[0]}'? " if close and not any(c.isdigit() for c in words) else ""
        raise PlanningError(f"unknown {role} '{words}'; {guess}{self._hint(kinds)}")

    def _by_end_words(self, words: str, kinds: tuple[str, ...]) -> list[str]:
        word = singular(words)
        ends = [k.name for k in self._keys if k.single.endswith(" " + word) or k.single.startswith(word + " ")]
        return sorted({name for name in ends if self.world.nodes[name].kind in kinds})

    def _contained(self, words: str, kinds: tuple[str, ...]) -> list[str]:
        """Names the phrase ends with ("bedroom nightstand"), else starts with ("remote control")."""
        keys = [k for k in self._keys if self.world.nodes[k.name].kind in kinds]
        ends = sorted({k.name for k in keys if words.endswith(" " + k.text)})
        return ends or sorted({k.name for k in keys if words.startswith(k.text + " ")})

    def _qualified(self, names: list[str], where: str | None) -> list[str]:
        """The candidates that are in/on ``where`` (any depth); one candidate elsewhere is kept, with a note."""
        if where is None:
            return names
        try:
            place = self._where(where)
        except PlanningError as e:
            if len(names) > 1:
                raise
            self.note(f"could not check that {names[0]} is at '{strip_articles(where)}': {str(e).split(';')[0]}")
            return names
        inside = [n for n in names if any(self.inside(n, p) for p in place)]
        if inside:
            return inside
        if len(names) > 1:
            found = ", ".join(f"{n} ({self.location(n)})" for n in names)
            raise PlanningError(f"none of {found} is at {place[0]}; name one of them")
        self.note(f"{names[0]} is {self.location(names[0])}, not at {place[0]}; using it anyway")
        return names

    def _where(self, phrase: str) -> list[str]:
        """What a location names: a robot ("the drone"), a node, or a node at a place ("the drawer in the hall")."""
        robot = self.recipient(phrase)
        if robot:
            return [robot]
        if strip_articles(phrase) == "there":  # "the floor rack there": where the words were just now
            return self._pronoun("there", phrase, ("place", *DESTINATION_KINDS), "place")
        names = self._exact(phrase)
        if names:
            return names
        head, where = split_qualifier(strip_articles(phrase))
        return self._qualified(self._lookup(strip_articles(head), ANY_KINDS, "place"), where)

    def _choose(self, names: list[str], phrase: NounPhrase) -> list[str]:
        """The matches the phrase means: all ("all the cups", "the cups"), some ("two cups"), or the one."""
        if phrase.every or (phrase.plural and phrase.count is None):
            if phrase.count is not None and len(names) != phrase.count:
                raise PlanningError(f"'{phrase.words}' asks for {phrase.count} but the scene has {len(names)}: "
                                    f"{', '.join(names)}")
            return names
        if phrase.count is None and len(names) > 1 and (recent := self._recent(names)):
            self.note(f"'{phrase.words}' read as {recent}, named just before")
            return [recent]
        if phrase.count is None and len(names) > 1:
            raise PlanningError(f"'{phrase.words}' is ambiguous: it could be {', '.join(names)}; "
                                f"say which, or 'a {phrase.words}' for any one")
        return self._some(names, phrase.count or 1, phrase.words)

    def _recent(self, names: list[str]) -> str | None:
        """The one of ``names`` mentioned last: "put it in the small box, then close the box"."""
        return next((n for n in reversed(self._mentioned) if n in names), None)

    def _some(self, names: list[str], count: int, words: str) -> list[str]:
        if len(names) < count:
            raise PlanningError(f"'{words}' asks for {count} but the scene has only: {', '.join(names)}")
        if len(names) > count:
            self.note(f"'{words}': chose {', '.join(names[:count])} of {', '.join(names)}")
        return names[:count]

    def _check_kind(self, name: str, phrase: str, kinds: tuple[str, ...], role: str) -> None:
        kind = self.world.nodes[name].kind
        if kind not in kinds:
            expected = " or ".join(kinds)
            raise PlanningError(
                f"'{strip_articles(phrase)}' is {name}, {_a(kind)} {kind}; the {role} must be {_a(expected)} "
                f"{expected}; {self._hint(kinds)}"
            )

    def inside(self, name: str, where: str) -> bool:
        """Whether node or robot ``name`` is in/on/at ``where``, at any depth ("the apple in the kitchen")."""
        seen: set[str] = set()
        current = self._parent(name)
        while current is not None and current not in seen:
            if current == where:
                return True
            seen.add(current)
            current = self._parent(current)
        return False

    def _parent(self, name: str) -> str | None:
        robot = self.world.robots.get(name)
        if robot is not None:
            return robot.position
        node = self.world.nodes.get(name)
        return node.parent if node else None

    def location(self, name: str) -> str:
        """Where a node or robot is, in words: "on kitchen_table", "at pass"."""
        node = self.world.nodes.get(name)
        relation = node.relation if node and name not in self.world.robots else "at"
        parent = self._parent(name)
        return f"{relation or 'at'} {parent}" if parent else "nowhere"

    def _hint(self, kinds: tuple[str, ...]) -> str:
        names = [n.name for n in self.world.nodes_of_kind(*kinds)]
        label = " and ".join(_PLURAL_LABELS.get(k, k) for k in kinds)
        return f"known {label}: {', '.join(names) or 'none'}"

    def handoff(self) -> str:
        """Where "me" is: a node named for a person, else the one node whose props say ``handoff``."""
        nodes = self.world.nodes_of_kind(*DESTINATION_KINDS)
        named = [n.name for n in nodes if USER_WORDS & set(normalize(n.name).split())]
        choices = named or [n.name for n in nodes if n.props.get("handoff")]
        if len(choices) > 1:
            raise PlanningError(f"there are several places to hand things over ({', '.join(choices)}); "
                                f"say which, e.g. 'bring it to {choices[0]}'")
        if not choices:
            raise PlanningError("this scene has no place to hand things to you; say where, e.g. 'bring it to "
                                "<place>', or mark a furniture node with the prop 'handoff: true'")
        return choices[0]

    def home(self, obj: str) -> str:
        """Where ``obj`` is put away: its ``home`` prop, else the scene's one storage node."""
        declared = self.world.nodes[obj].props.get("home")
        if declared:
            return self.node(str(declared), DESTINATION_KINDS, "home")
        nodes = self.world.nodes_of_kind(*DESTINATION_KINDS)
        stores = [n.name for n in nodes if n.props.get("storage")] or [
            n.name for n in nodes if normalize(n.name).split()[-1] in _STORAGE_WORDS]
        if len(stores) == 1:
            self.note(f"putting {obj} away in {stores[0]}, the scene's storage")
            return stores[0]
        found = f"it could be {', '.join(stores)}" if stores else "the scene has no storage node"
        raise PlanningError(f"cannot tell where to put {obj} away ({found}); say where, e.g. 'put the {obj} "
                            f"in <place>', or give {obj} a 'home' prop")


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
