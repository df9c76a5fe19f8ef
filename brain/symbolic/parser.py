"""Imperative instructions -> clauses (a verb and the phrases it names), with no world knowledge.

Sentences split on ``.``/``;``/new lines, clauses on commas, "and", "then". Each clause is one of::

    pick up the X [from the Y]            put/place the X in/on/into the Y
    bring/take/carry/deliver the X [from the Y] to the Z
    open/close the Y                      go/navigate/move to the Y

A clause may start with a robot: "robot R ...", "R: ..." or a known robot name ("R go to ...");
it then applies to the rest of the sentence. Phrases keep their words ("the apple", "it"); the
grounding resolves them against the scene.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from brain.errors import PlanningError

__all__ = ["SUPPORTED_FORMS", "Clause", "normalize", "parse"]

SUPPORTED_FORMS = (
    "'pick up the X [from the Y]', 'put/place the X on/in the Y', "
    "'bring/take/carry/deliver the X [from the Y] to the Z', 'open/close the Y', "
    "'go/navigate/move to the Y', optionally led by 'robot R' or 'R:', "
    "joined by commas, 'and', 'then', ';' or '.'"
)

_SENTENCES = re.compile(r"(?<!\d)\.(?!\d)|[;!?\n]+")
_CLAUSES = re.compile(r"\s*,\s*(?:and\s+then\s+|and\s+|then\s+)?|\s+and\s+then\s+|\s+then\s+|\s+and\s+")
_FILLERS = re.compile(
    r"^(?:(?:please|kindly|now|then|and|also|first|firstly|next|finally|after\s+that|afterwards|"
    r"could\s+you|can\s+you|would\s+you|i\s+want\s+you\s+to|go\s+and)\s+)+"
)
_TRAILERS = re.compile(r"(?:\s+(?:please|for\s+me|now|again|as\s+well))+$")
_VERBS = (
    r"pick|grab|grasp|take|get|lift|fetch|collect|put|place|set|drop|leave|lay|bring|carry|deliver|"
    r"transport|hand|open|close|shut|go|navigate|move|drive|walk|head|return"
)
_ROBOT_WORD = re.compile(rf"^robot\s+(?P<robot>.+?)\s*:?\s+(?=(?:{_VERBS})\b)")
_ROBOT_COLON = re.compile(r"^(?P<robot>[^:]+?)\s*:\s*(?P<rest>.*)$")

_GO = re.compile(
    r"^(?:go|navigate|move|drive|walk|head|return)\s+(?:back\s+)?(?:over\s+)?(?:to|towards|toward|into)\s+"
    r"(?P<target>.+)$"
)
_OPEN_CLOSE = re.compile(r"^(?P<verb>open|close|shut)\s+(?:up\s+)?(?P<target>.+?)(?:\s+door)?$")
_PLACE = re.compile(
    r"^(?:put|place|set|drop|leave|lay)\s+(?P<obj>.+?)(?:\s+(?:down|back))?\s+"
    r"(?P<rel>into|inside\s+of|inside|in|onto|on\s+top\s+of|on|at)\s+(?P<target>.+)$"
)
_CARRY = re.compile(
    r"^(?:bring|take|carry|deliver|move|transport|fetch|get|hand)\s+(?P<obj>.+?)"
    r"(?:\s+(?:from|off\s+of|off|out\s+of)\s+(?P<source>.+?))?\s+(?P<rel>to|into|onto|over\s+to)\s+(?P<target>.+)$"
)
_PICK = re.compile(
    r"^(?:pick\s+up|take\s+out|take\s+down|pick|grab|grasp|take|get|lift|fetch|collect)\s+(?P<obj>.+?)"
    r"(?:\s+(?:up|out))?"
    r"(?:\s+(?:from|off\s+of|off|out\s+of)\s+(?P<source>.+))?$"
)
_RELATIONS = {"into": "in", "inside": "in", "inside of": "in", "in": "in", "onto": "on", "on": "on", "on top of": "on"}


@dataclass(frozen=True)
class Clause:
    """One command: ``verb`` is pick | place | carry | open | close | go; phrases as written."""

    verb: str
    text: str
    obj: str | None = None
    source: str | None = None
    target: str | None = None
    relation: str | None = None  # "on" | "in" when the words said so, else decided by the target
    robot: str | None = None


def normalize(text: str) -> str:
    """Lower case, underscores and hyphens as spaces, single spaces: how names are compared."""
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def parse(text: str, robot_names: Iterable[str] = ()) -> list[Clause]:
    """Split an instruction into clauses; ``PlanningError`` names the first clause it cannot read."""
    robots = sorted({normalize(r) for r in robot_names}, key=len, reverse=True)
    clauses: list[Clause] = []
    for sentence in _SENTENCES.split(normalize(text)):
        clauses += _parse_sentence(sentence, robots)
    if not clauses:
        raise PlanningError(f"cannot parse {text!r}: it holds no instruction; supported forms are {SUPPORTED_FORMS}")
    return clauses


def _parse_sentence(sentence: str, robots: list[str]) -> list[Clause]:
    clauses: list[Clause] = []
    robot: str | None = None
    for part in _CLAUSES.split(sentence):
        part = _clean(part)
        if not part:
            continue
        named, part = _robot_prefix(part, robots)
        robot = named or robot
        if part:
            clauses.append(_parse_clause(part, robot))
    return clauses


def _clean(part: str) -> str:
    part = part.strip(" ,:")
    return _TRAILERS.sub("", _FILLERS.sub("", part)).strip(" ,")


def _robot_prefix(part: str, robots: list[str]) -> tuple[str | None, str]:
    """Split "robot R go to..." / "R: go to..." / "R go to..." into (R, "go to...")."""
    match = _ROBOT_COLON.match(part)
    if match:
        return match["robot"].removeprefix("robot ").strip(), _clean(match["rest"])
    match = _ROBOT_WORD.match(part)
    if match:
        return match["robot"], part[match.end():]
    for name in robots:
        for lead in (f"robot {name}", name):
            if part == lead or part.startswith(lead + " "):
                return name, _clean(part[len(lead):])
    return None, part


def _parse_clause(text: str, robot: str | None) -> Clause:
    if match := _GO.match(text):
        return Clause("go", text, target=match["target"], robot=robot)
    if match := _OPEN_CLOSE.match(text):
        verb = "open" if match["verb"] == "open" else "close"
        return Clause(verb, text, target=match["target"], robot=robot)
    if match := _PLACE.match(text):
        relation = _RELATIONS.get(" ".join(match["rel"].split()))
        return Clause("place", text, obj=match["obj"], target=match["target"], relation=relation, robot=robot)
    if match := _CARRY.match(text):
        relation = _RELATIONS.get(match["rel"])
        return Clause("carry", text, obj=match["obj"], source=match["source"], target=match["target"],
                      relation=relation, robot=robot)
    if match := _PICK.match(text):
        return Clause("pick", text, obj=match["obj"], source=match["source"], robot=robot)
    raise PlanningError(f"cannot parse {text!r}: no supported form matches; supported forms are {SUPPORTED_FORMS}")
