"""Phrases -> scene names, and clauses -> goals.

Names match scene node names with underscores as spaces, case-insensitive; articles and plurals are
tolerated and a unique last word is enough ("the apples" -> apple, "table 2" -> table_2, "the counter"
-> pass_counter when no other node ends in "counter"). "it"/"them" mean the last node of the right
kind mentioned, "there" the last destination.
"""

from __future__ import annotations

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.parser import Clause, normalize
from brain.world import WorldView

__all__ = ["Vocabulary", "build_goals"]

_ARTICLES = {"the", "a", "an", "some", "my", "our", "that", "this", "these", "those"}
_PRONOUNS = {"it", "them", "that", "this", "one", "there"}
_DESTINATIONS = ("furniture", "container")
_PLURAL_LABELS = {"object": "objects", "furniture": "furniture", "container": "containers", "place": "places"}


class Vocabulary:
    """Resolves phrases against one world's node and robot names, remembering what was mentioned."""

    def __init__(self, world: WorldView) -> None:
        self.world = world
        self._nodes = {normalize(n): n for n, node in world.nodes.items() if node.kind != "robot"}
        self._robots = {normalize(r): r for r in world.robots}
        self._mentioned: list[str] = []

    def robot(self, phrase: str) -> str:
        words = _strip_articles(phrase)
        name = self._robots.get(words) or self._robots.get(words.removeprefix("robot "))
        if name is None:
            known = ", ".join(sorted(self.world.robots)) or "none"
            raise PlanningError(f"unknown robot '{phrase}'; known robots: {known}")
        return name

    def node(self, phrase: str, kinds: tuple[str, ...], role: str) -> str:
        """The node ``phrase`` names, which must be of one of ``kinds`` (``role`` is for messages)."""
        words = _strip_articles(phrase)
        name = self._pronoun(words, kinds) if words in _PRONOUNS else self._lookup(words, kinds, role)
        if name is None:
            raise PlanningError(f"cannot tell what '{phrase}' refers to; name the {role}")
        kind = self.world.nodes[name].kind
        if kind not in kinds:
            expected = " or ".join(kinds)
            raise PlanningError(
                f"'{phrase}' is {name}, {_a(kind)} {kind}; the {role} must be {_a(expected)} {expected}; "
                f"{self._hint(role, kinds)}"
            )
        self._mentioned.append(name)
        return name

    def _pronoun(self, words: str, kinds: tuple[str, ...]) -> str | None:
        return next((n for n in reversed(self._mentioned) if self.world.nodes[n].kind in kinds), None)

    def _lookup(self, words: str, kinds: tuple[str, ...], role: str) -> str:
        for candidate in (words, _singular(words)):
            if candidate in self._nodes:
                return self._nodes[candidate]
        matches = self._by_last_words(words, kinds) or self._by_last_words(_singular(words), kinds)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise PlanningError(f"'{words}' is ambiguous: it could be {', '.join(matches)}")
        raise PlanningError(f"unknown {role} '{words}'; {self._hint(role, kinds)}")

    def _by_last_words(self, words: str, kinds: tuple[str, ...]) -> list[str]:
        return sorted(
            name for key, name in self._nodes.items()
            if self.world.nodes[name].kind in kinds and (key.endswith(" " + words) or key.startswith(words + " "))
        )

    def _hint(self, role: str, kinds: tuple[str, ...]) -> str:
        names = [n.name for n in self.world.nodes_of_kind(*kinds)]
        label = " and ".join(_PLURAL_LABELS.get(k, k) for k in kinds)
        return f"known {label}: {', '.join(names) or 'none'}"


def build_goals(clauses: list[Clause], vocab: Vocabulary) -> list[Goal]:
    """Fold clauses into goals, in the order the words gave them.

    A "pick up X" later followed by "place X on Y" is one goal (X on Y), and the "go to" clauses
    between them are the way there; a pick never placed is "X held"; other "go to"s are goals.
    """
    goals: list[tuple[int, Goal]] = []
    picks: dict[str, tuple[int, Hold]] = {}
    gos: list[tuple[int, Reach]] = []
    for index, clause in enumerate(clauses):
        robot = vocab.robot(clause.robot) if clause.robot else None
        if clause.verb == "pick":
            hold = _hold(clause, vocab, robot)
            picks[hold.obj] = (index, hold)
        elif clause.verb == "go":
            gos.append((index, Reach(vocab.node(clause.target or "", ("place", *_DESTINATIONS), "destination"), robot)))
        elif clause.verb in ("place", "carry"):
            goals.append(_deliver(index, clause, vocab, robot, picks, gos))
        else:
            container = vocab.node(clause.target or "", ("container",), "container")
            goals.append((index, SetOpen(container, clause.verb == "open", robot)))
    goals += list(picks.values()) + gos
    return [goal for _, goal in sorted(goals, key=lambda pair: pair[0])]


def _hold(clause: Clause, vocab: Vocabulary, robot: str | None) -> Hold:
    source = _source(clause, vocab)
    obj = vocab.node(clause.obj or "", ("object",), "object")
    return Hold(obj, robot, source)


def _source(clause: Clause, vocab: Vocabulary) -> str | None:
    if not clause.source:
        return None
    return vocab.node(clause.source, ("place", *_DESTINATIONS, "object"), "place to take it from")


def _deliver(
    index: int,
    clause: Clause,
    vocab: Vocabulary,
    robot: str | None,
    picks: dict[str, tuple[int, Hold]],
    gos: list[tuple[int, Reach]],
) -> tuple[int, Deliver]:
    source = _source(clause, vocab)
    obj = vocab.node(clause.obj or "", ("object",), "object")
    target = _destination(clause.target or "", vocab)
    picked = picks.pop(obj, None)
    if picked is not None:
        start, hold = picked
        index, robot, source = start, robot or hold.robot, source or hold.source
        gos[:] = [(i, g) for i, g in gos if i < start or g.robot not in (None, robot)]
    relation = clause.relation or ("in" if vocab.world.nodes[target].kind == "container" else "on")
    if relation == "in" and vocab.world.nodes[target].kind != "container":
        relation = "on"
    return index, Deliver(obj, target, relation, robot, source)


def _destination(phrase: str, vocab: Vocabulary) -> str:
    name = vocab.node(phrase, ("place", *_DESTINATIONS), "destination")
    if vocab.world.nodes[name].kind == "place":
        spots = [n.name for n in vocab.world.nodes_of_kind(*_DESTINATIONS) if vocab.world.place_of(n.name) == name]
        where = ", ".join(spots) or "it has no furniture"
        raise PlanningError(f"'{name}' is a place; say where in it to put things: {where}")
    return name


def _strip_articles(phrase: str) -> str:
    words = normalize(phrase).split()
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def _singular(words: str) -> str:
    head, _, last = words.rpartition(" ")
    for suffix, replacement in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("oes", "o"), ("s", "")):
        if last.endswith(suffix) and len(last) > len(suffix) + 1 and not last.endswith("ss"):
            last = last[: -len(suffix)] + replacement
            break
    return f"{head} {last}".strip()


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
