"""The names of one world, indexed: what a ``Vocabulary`` resolves phrases against.

Building it reads every node's name and ``aliases`` (thousands of nodes in a large fleet's scene),
yet it depends on nothing else: not on where things are. So it is built once per set of names and
reused while they stay the same::

    lexicon = Lexicon.of(world)     # built, or the one built for an earlier world with the same names
    lexicon.exact("the apples")     # ["apple"]

``Lexicon.of`` keeps the few most recent lexicons and reuses one when the world has the same node
names in the same order, the same robot names, and every node that changed (by identity: views are
replaced, never changed) kept its kind and aliases. A world whose names differ gets a new lexicon.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from brain.symbolic.phrasing import normalize, singular, strip_articles
from brain.world import NodeView, WorldView, changed_nodes

__all__ = ["Lexicon", "NameKey"]

_KEEP = 4  # lexicons kept: a few worlds (scenes) planned on in turn


class NameKey(NamedTuple):
    """One way to name a node: its name or an alias, normalized (``text``) and singular."""

    text: str
    single: str
    name: str
    alias: bool


@dataclass(frozen=True)
class Lexicon:
    """Node names and aliases by normalized text and by singular, and robots by normalized name."""

    keys: tuple[NameKey, ...]
    by_text: Mapping[tuple[str, bool], frozenset[str]]  # (name as written, alias?) -> nodes
    by_single: Mapping[tuple[str, bool], frozenset[str]]  # (its singular, alias?) -> nodes
    robots: Mapping[str, str]  # normalized robot name -> robot
    robot_ends: Mapping[str, tuple[str, ...]]  # the last words of a normalized robot name (not all of them) -> robots
    nodes: Mapping[str, NodeView]  # the nodes it was built or last checked against
    robot_names: tuple[str, ...]

    @classmethod
    def build(cls, world: WorldView) -> Lexicon:
        keys = tuple(NameKey(key, singular(key), n.name, alias) for n in world.nodes.values() if n.kind != "robot"
                     for key, alias in _keys_of(n.name, n.props.get("aliases")))
        by_text: dict[tuple[str, bool], set[str]] = {}
        by_single: dict[tuple[str, bool], set[str]] = {}
        for k in keys:
            by_text.setdefault((k.text, k.alias), set()).add(k.name)
            by_single.setdefault((k.single, k.alias), set()).add(k.name)
        robots = {normalize(r): r for r in world.robots}
        ends: dict[str, list[str]] = {}
        for key, robot in robots.items():
            words = key.split(" ")
            for first in range(1, len(words)):
                ends.setdefault(" ".join(words[first:]), []).append(robot)
        robot_ends = {words: tuple(sorted(names)) for words, names in ends.items()}
        return cls(keys, _frozen(by_text), _frozen(by_single), robots, robot_ends, world.nodes, tuple(world.robots))

    @classmethod
    def of(cls, world: WorldView) -> Lexicon:
        """The lexicon of ``world``: a recent one when the names are the same, else a new one."""
        for index, lexicon in enumerate(_recent):
            fitted = lexicon.fitted(world)
            if fitted is not None:
                _recent[index] = fitted
                return fitted
        lexicon = cls.build(world)
        _recent[:] = [lexicon, *_recent[: _KEEP - 1]]
        return lexicon

    def fitted(self, world: WorldView) -> Lexicon | None:
        """This lexicon for ``world`` (pointing at its nodes), or None when ``world``'s names differ."""
        if world.nodes is self.nodes:
            return self if tuple(world.robots) == self.robot_names else None
        changed = changed_nodes(self.nodes, world.nodes)
        if changed is None or tuple(world.robots) != self.robot_names:
            return None
        if any(not _same_names(self.nodes[name], world.nodes[name]) for name in changed):
            return None
        return replace(self, nodes=world.nodes)

    def exact(self, words: str) -> list[str]:
        """The nodes a phrase names exactly (give or take articles and plurals); a name beats an alias."""
        words = strip_articles(words)
        for index, key in ((self.by_text, words), (self.by_single, singular(words))):  # as written, then singular
            for alias in (False, True):
                if found := index.get((key, alias)):
                    return sorted(found)
        return []


_recent: list[Lexicon] = []  # most recently used first


def _same_names(old: NodeView, new: NodeView) -> bool:
    return old.kind == new.kind and old.props.get("aliases") == new.props.get("aliases")


def _keys_of(name: str, aliases: Any) -> list[tuple[str, bool]]:
    """A node's name and its ``aliases`` prop, normalized, each with whether it is an alias."""
    extra = [str(a) for a in aliases] if isinstance(aliases, (list, tuple)) else []
    return [(normalize(name), False), *((normalize(a), True) for a in extra)]


def _frozen(index: dict[tuple[str, bool], set[str]]) -> dict[tuple[str, bool], frozenset[str]]:
    return {key: frozenset(names) for key, names in index.items()}
