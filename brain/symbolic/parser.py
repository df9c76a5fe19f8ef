"""Instructions as people write them -> clauses (a verb and the phrases it names), with no world knowledge.

Sentences split on ``.``/``;``/``!``/``?``/new lines; clauses on commas, "and", "then" where what follows
starts a new command ("pick up the cup and put it in the sink"), so a list under one verb stays whole
("put the coin and the battery in the box"). Each clause is one of::

    pick up/grab/get/retrieve/take X [from Y]      put/place/load/store/drop off X [from Y] in/on Y
    bring/take/move/return/hand X [from Y] to Z    bring/fetch X for Z; put X inside (the last place named)
    bring/hand/give me X; bring X (where wanted)   put away/store/return X (to where it belongs)
    hand/give R X (R a robot or a person)          X from Y to Z; X to/for Z; X on Y (no verb)
    stock/load Y with X; send R to Y               X should be/goes/belongs on Y; could X go in Y
    I need/want/'d like X [from Y] (up) at Z       Y needs/ordered X; can I get X (brought) to Z
    lift X off Y and onto Z                        open/close Y (a container or a door)
    go/fly/land to/on Y [with X]                   fly/drive X to Y (X a robot, its cargo or a thing)
    open Y and load X (into Y)                     move it, fix that (after words saying where it goes)
    X is in/on Y, I left X in Y, X is open/closed  (a fact: checked against the world, never a goal)

One verb may name several pairs: "put the milk on the table and the cup in the sink". A sentence
"A: B" whose A is no robot is a heading and its details ("ship the cups: load them into the truck"):
A's clauses only name things for B's pronouns when B asks for something (unreadable, A is dropped).
So does a topic: "the magazine on the table, can it go on the bar?"; a contrast ("in the freezer, not
the cooler") is dropped.

A clause may start with a robot: "robot R ...", "R: ...", a robot's name or a word for its body
("the drone lands ...", "the third drone", 3rd person verbs are fine), also "have/tell R (to) ...";
it applies to the rest of the sentence. Phrases keep their words ("the apple in the fridge", "them");
a relative clause set off by commas stays with its noun ("the box, which is in the drawer in the hall,");
the grounding resolves them against the scene.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from brain.errors import PlanningError
from brain.symbolic.phrasing import (
    ROBOT_WORDS,
    USER_WORDS,
    VERBS,
    lemma,
    near_verb,
    normalize,
    numbered,
    spell_out,
    starts_with_verb,
)

__all__ = ["SUPPORTED_FORMS", "Clause", "Verb", "normalize", "parse"]

SUPPORTED_FORMS = (
    "'pick up/grab/get the X [from the Y]', 'put/place/load the X on/in the Y', "
    "'bring/take/move/return the X [from the Y] to the Z', 'bring/hand me the X', 'put away the X', "
    "'open/close the Y (or the Y door)', 'go/fly to the Y [with the X]', 'send R to the Y', 'the X to the Z', "
    "'the X should be on the Y', 'I need the X on the Y', 'the Y needs the X'; several things under "
    "one verb ('the cup and the plate', 'all the cups'); facts ('the cup is in the fridge') are checked, "
    "not done; optionally led by a robot ('robot R', 'R:', 'the drone lands ...'), "
    "joined by commas, 'and', 'then', ';' or '.'"
)


class Verb(StrEnum):
    """What a clause asks for (``FACT``: nothing, it states how the world is)."""

    PICK = "pick"
    PLACE = "place"
    CARRY = "carry"
    STORE = "store"
    OPEN = "open"
    CLOSE = "close"
    GO = "go"
    CONFIRM = "confirm"  # "move it", "fix that" after words that say where it goes: asks for just that
    FACT = "fact"


@dataclass(frozen=True)
class Clause:
    """One command: ``verb`` a ``Verb``; phrases as written (``target`` "me" for the person asking).

    A ``CARRY`` without a target ("bring the cup") goes where the instruction wants it, else to "me".
    """

    verb: str
    text: str
    obj: str | None = None
    source: str | None = None
    target: str | None = None
    relation: str | None = None  # "on" | "in" when the words said so (facts: also "open" | "closed")
    robot: str | None = None
    context: bool = False  # a heading its details spell out, or a topic ("the cup, ..."): it names things only


_DET = r"(?:the|a|an|some|this|that|these|those|my|your|our|his|her|its|their|all|both|every|each)"
_PREP = r"(?P<rel>into|inside\s+of|inside|in|onto|on\s+top\s+of|on|at)"
_FROM = r"(?:\s+(?:from|off\s+of|off|out\s+of)\s+(?P<source>.+?))?"
_SENTENCES = re.compile(r"(?<!\d)\.|\.(?!\d)|[;!?\n]+")
_QUOTES = re.compile(r"[\"“”«»()\[\]{}#*`]|(?<![a-z])'|'(?![a-z])|[‘’](?![a-z])")
_CLAUSES = re.compile(
    r"(\s*,\s*(?:and\s+then\s+|and\s+|then\s+)?|\s+and\s+then\s+|\s+then\s+|\s+and\s+|\s+after\s+that\s+)")
_FILLERS = re.compile(
    r"^(?:(?:please|kindly|just|simply|now|then|and|also|first|firstly|next|finally|after\s+that|afterwards|ok|okay|"
    r"would\s+you\s+mind|do\s+you\s+mind|could\s+you|can\s+you|would\s+you|will\s+you|"
    r"(?:could\s+|can\s+)?some(?:one|body)|i\s+want\s+you\s+to|i\s+need\s+you\s+to|i\s+would\s+like\s+you\s+to|"
    r"i'd\s+like\s+you\s+to|go(?=\s+(?:get|fetch|grab|pick|bring|retrieve|collect))|"
    r"will|shall|should|must|needs?\s+to|has\s+to|have\s+to|is\s+going\s+to|is\s+to|thanks|thank\s+you|"
    r"(?:could|can|may|might|would)(?!\s+(?:i|we)\b))\b\s*)+"
)
_GO_AND = re.compile(r"\b(?:go|come)\s+(?:ahead\s+)?and\s+")  # "go and get X" is "get X"
_CONTRAST = re.compile(r"^(?:but\s+)?(?:not|rather\s+than|instead\s+of)\s+(?:(?:in|into|on|onto|at|to)\s+)?"
                       + _DET + r"\s")  # "in the freezer, not the cooler"
_REASONS = re.compile(r"\s+(?:before|because|since|so\s+that|so|while|as)\s+(?:it|they|he|she|we|i|you|the\s+\w+)\b.*$")
_TRAILERS = re.compile(r"(?:\s+(?:please|for\s+me|now|again|as\s+well|too|right\s+away|quickly|thanks|thank\s+you|"
                       r"afterwards?|after\s+that|later|at\s+the\s+end|"
                       r"when\s+(?:you(?:'re|\s+are)\s+)?(?:done|finished)))+$")
_RELATIVE = re.compile(
    r"\s+(?:(?:which|that|who)(?:'s|\s+(?:is|are|was|were|sits?|lies?|stands?))\s+(?:\w+ly\s+)?|"
    r"(?:located|sitting|lying|standing|kept|stored)\s+)(in|inside|on\s+top\s+of|on|at|near|next\s+to|by)\s+"
)
_THE_ONE = re.compile(  # "tote 3, the one on the drone" says what "which is on the drone" says
    r",\s*the\s+ones?\s+(?:(?:that|which)\s+)?(?:(?:is|are)\s+)?(?=(?:in|inside|on|at|near|next\s+to|by)\s)")
_APPOSED = re.compile(r"(,\s*~\S+)([^,]*)")  # ", ~in the drawer in the hall, ...": the relative's whole span
_LOCATING = re.compile(r"\s+(in|inside|on\s+top\s+of|on|at|near|next\s+to|by)\s+")
_JOINS = re.compile(r"\s+(?:and\s+then|and|then)\s+")
_ROBOT_COLON = re.compile(r"^(?P<robot>[^:]+?)\s*:\s*(?P<rest>.*)$")
_CAUSATIVE = re.compile(r"^(?:have|let|make|get|tell|ask)\s+")  # "have the packer hold X": the packer holds X
_GENERIC_SUBJECTS = {"robot", "the robot", "you"}
_PRONOUN = re.compile(r"\b(?:it|them|they)\b")

_GO = re.compile(
    r"^(?:go|navigate|move|drive|walk|head|return|fly|travel|come|proceed|land)\s+(?:back\s+)?(?:over\s+)?(?:down\s+)?"
    r"(?:to|towards|toward|into|onto|on|at)\s+(?P<target>.+?)"
    r"(?:\s+(?:with|carrying|holding)\s+(?P<obj>.+?)(?:\s+(?:in|on)\s+(?:the|its|his|her|their)\s+"
    r"(?:basket|gripper|grippers|hands?|arms?|claws?|back|tray))?)?$"
)
_OPEN = re.compile(r"^open\s+(?:up\s+)?(?P<target>.+)$")  # "the fridge door" is for the grounding to read
_CLOSE = re.compile(r"^(?:close|shut)\s+(?P<target>.+)$")
_DATIVE = re.compile(  # "hand the butler the remote": the recipient, then the thing
    r"^(?:hand|give|pass|bring|get|fetch|send|serve|ship)\s+(?!(?:me|us)\s)(?P<target>.+?)\s+"
    r"(?P<obj>(?:" + _DET + r"|one|two|three|four|five|\d+)\s+.+)$"
)
_GIVE_ME = re.compile(r"^(?:hand|give|bring|get|fetch|pass|grab|retrieve)\s+(?:me|us)\s+(?P<obj>.+?)" + _FROM + "$")
_STOCK = re.compile(r"^(?:stock|restock|load|fill|refill)\s+(?:up\s+)?(?P<target>.+?)\s+with\s+(?P<obj>.+)$")
_PLACE_VERBS = (r"put|place|set|drop\s+off|drop|leave|lay|stand|store|stow|load|unload|stock|restock|insert|hang|"
                r"tidy|clear|serve|shelve|chill|cool|freeze|pack")
_PLACE = re.compile(
    r"^(?:put\s+away|put\s+back|" + _PLACE_VERBS + r")\s+(?P<obj>.+?)(?:\s+(?:down|back|away|off))?" + _FROM
    + r"\s+" + _PREP + r"\s+(?P<target>.+)$"
)
_PLACE_THERE = re.compile(  # "open the fridge and put the bread inside": in the last place named
    r"^(?:" + _PLACE_VERBS + r")\s+(?P<obj>.+?)(?:\s+(?:down|back|away))?\s+(?:(?P<rel>inside|in|into|on|onto)"
    r"(?:\s+(?P<target>there|it))?|there)$"
)
_LOAD = re.compile(r"^(?:load|insert)\s+(?P<obj>.+)$")  # "open the washer and load the jeans": into what was opened
_CARRY = re.compile(
    r"^(?:bring|take|carry|deliver|move|transport|fetch|get|hand|give|pass|return|send|shift|relocate|retrieve|serve|"
    r"fly|ship)\s+(?:back\s+)?(?P<obj>.+?)(?:\s+(?:back|over))?" + _FROM + r"\s+(?:back\s+|over\s+|all\s+the\s+way\s+)?"
    r"(?P<rel>to|into|onto|for)\s+(?P<target>.+)$"
)
_FLY = re.compile(  # "fly it over to packing": what is flown (a robot, its cargo or a thing it carries) goes there
    r"^(?:fly|drive|pilot|steer)\s+(?P<obj>.+?)\s+(?:back\s+|over\s+|all\s+the\s+way\s+)?"
    r"(?:to|towards|toward|into|onto)\s+(?P<target>.+)$")
_SEND = re.compile(
    r"^(?:send|dispatch|move|get)\s+(?P<robot>.+?)\s+(?:over\s+|back\s+)?(?:to|towards|into)\s+(?P<target>.+)$")
_STORE = re.compile(
    r"^(?:put\s+away|put\s+back|tidy\s+away|clear\s+away|store|stow|return)\s+(?P<obj>.+?)" + _FROM + "$")
_STORE_AFTER = re.compile(r"^(?:put|tidy|clear)\s+(?P<obj>.+?)\s+(?:away|back)" + _FROM + "$")
_BRING = re.compile(  # no destination: where the instruction wants it, else to the person asking
    r"^(?:bring|deliver|give|hand|pass|ship)\s+(?:over\s+)?(?P<obj>.+?)(?:\s+(?:over|here|over\s+here))?" + _FROM + "$")
_BRING_BACK = re.compile(r"^(?:bring|give|hand)\s+back\s+(?P<obj>.+?)" + _FROM + "$")
_BRING_IT_BACK = re.compile(r"^(?:bring|give|hand)\s+(?P<obj>.+?)\s+back" + _FROM + "$")
_CONFIRM = re.compile(r"^(?:move|fix|sort|handle|take\s+care\s+of)\s+(?P<obj>it|them|that|this|these|those|both)"
                      r"(?:\s+(?:out|over|up|around))?$")
_PICK_VERBS = (r"pick\s+up|take\s+out|take\s+down|take\s+off|pick|grab|grasp|take|get|lift|fetch|collect|retrieve|"
               r"remove|hold|unload|unpack")
_PICK = re.compile(r"^(?:" + _PICK_VERBS + r")\s+(?P<obj>.+?)(?:\s+(?:up|out|off))?" + _FROM + "$")
_PICK_ONTO = re.compile(  # "lift the pot off the stove and onto the table": one move, not a second clause
    r"^(?:" + _PICK_VERBS + r")\s+(?P<obj>.+?)(?:\s+(?:up|out|off))?\s+(?:from|off\s+of|off|out\s+of)\s+(?P<source>.+?)"
    r"\s*,?\s+(?:and\s+(?:then\s+)?)?(?P<rel>onto|into|on\s+to|in\s+to|to)\s+(?P<target>.+)$"
)
_SHOULD_BE = re.compile(
    r"^(?P<obj>.+?)\s+(?:(?:should|must|needs?\s+to|has\s+to|have\s+to|is\s+to|are\s+to)\s+(?:be|go|end\s+up)|"
    r"goes|go|belongs?|be)\s+"
    r"(?:put\s+|placed\s+|moved\s+|brought\s+|taken\s+|stored\s+|back\s+)?(?P<rel>into|inside|in|onto|on|at|to)\s+"
    r"(?P<target>.+)$"
)
# "I need X [from Y] (up) at Z", "can I get X brought to Z"; "X from Y in Z on W, at T": the comma ends where it is.
_WHERE_TO = (r"\s+(?:(?:up|over|down|back|out)\s+)?"
             r"(?:(?:brought|delivered|taken|sent|moved|carried|put|placed|set)\s+)?"
             r"(?P<rel>into|inside\s+of|inside|in|onto|on\s+top\s+of|on|at|to(?!\s+(?:be|go|have|get)\b))\s+"
             r"(?P<target>.+)$")
_FROM_THEN = r"\s+(?P<obj>.+?)\s+from\s+(?P<source>[^,~]+?)\s*," + _WHERE_TO
_WANT_BY = r"^(?:.+?)(?:'d\s+like|\s+(?:would\s+like|needs?|wants?|could\s+use))"
_HAVE_BY = r"^(?:can|could|may)\s+(?:i|we)\s+(?:have|get)"
_WANT = re.compile(_WANT_BY + r"\s+(?P<obj>.+?)" + _FROM + _WHERE_TO)
_WANT_FROM = re.compile(_WANT_BY + _FROM_THEN)
_HAVE = re.compile(_HAVE_BY + r"\s+(?P<obj>.+?)" + _FROM + _WHERE_TO)
_HAVE_FROM = re.compile(_HAVE_BY + _FROM_THEN)
_NEEDS = re.compile(r"^(?:i|we|(?P<target>.+?))(?:'d\s+like|\s+(?:needs?|wants?|would\s+like|could\s+use|ordered|"
                    r"asked\s+for|requested))\s+(?P<obj>.+)$")
_FROM_TO = re.compile(r"^(?P<obj>.+?)\s+from\s+(?P<source>.+?)\s+to\s+(?P<target>.+)$")  # "glue from X to Y"
_BARE = re.compile(r"^(?P<obj>.+?)\s+" + _PREP + r"\s+(?P<target>.+)$")  # "book on the bed, please"
_BARE_TO = re.compile(r"^(?P<obj>.+?)\s+(?:to|for)\s+(?P<target>.+)$")  # "bread for table one", "tablet to the bench"
_FACT = re.compile(
    r"^(?:(?:there\s+(?:is|are)|(?:i|we|someone|somebody)\s+(?:left|put|placed|dropped|kept|keep|leave|stored))"
    r"\s+(?P<thing>.+?)\s+(?=in\s|on\s|inside\s|at\s)|(?P<subject>.+?)\s+"
    r"(?:is|are|was|were|sits?|lies|lie|stands?|rests?|remains?|stays?|can\s+be\s+found|has\s+been|have\s+been)\b\s*)"
    r"(?:(?:originally|currently|now|already|still|initially|located|placed|kept|stored|right|usually|found|left|out|"
    r"put|set|moved|dropped|being|\w+ing)\s+)*"
    r"(?:(?P<rel>inside\s+of|inside|into|in|onto|on\s+top\s+of|on|at)\s+(?P<target>.+)|(?P<state>open|closed|shut)|.*)$"
)
# Tried in order; the third item is the target when the words name none ("hand me the cup").
_FORMS: tuple[tuple[re.Pattern[str], Verb, str | None], ...] = (
    (_FLY, Verb.GO, None), (_OPEN, Verb.OPEN, None), (_CLOSE, Verb.CLOSE, None),
    (_STOCK, Verb.PLACE, None), (_PLACE, Verb.PLACE, None),
    (_GIVE_ME, Verb.CARRY, "me"), (_CARRY, Verb.CARRY, None), (_BRING_BACK, Verb.CARRY, "me"),
    (_BRING_IT_BACK, Verb.CARRY, "me"), (_BRING, Verb.CARRY, None),
    (_PLACE_THERE, Verb.PLACE, "there"), (_LOAD, Verb.PLACE, None), (_STORE, Verb.STORE, None),
    (_STORE_AFTER, Verb.STORE, None), (_CONFIRM, Verb.CONFIRM, None), (_PICK_ONTO, Verb.PLACE, None),
    (_PICK, Verb.PICK, None),
)
# Sentences without a leading verb, tried after the facts ("X is in Y") would be too eager.
_STATEMENTS: tuple[tuple[re.Pattern[str], Verb, str | None], ...] = (
    (_SHOULD_BE, Verb.PLACE, None), (_WANT_FROM, Verb.PLACE, None), (_WANT, Verb.PLACE, None),
    (_HAVE_FROM, Verb.PLACE, None), (_HAVE, Verb.PLACE, None), (_NEEDS, Verb.CARRY, "me"),
    (_FROM_TO, Verb.CARRY, None),
)
# "put the milk on the table and the cup in the sink": the rest of a target that is another (thing, place) pair.
_GAP = re.compile(
    r"^(?P<head>.+?)(?:\s*,\s*(?:and\s+)?|\s+and\s+)(?P<obj>" + _DET + r"\s+(?!ones?\b).+?)\s+"
    r"(?P<rel>into|inside|in|onto|on\s+top\s+of|on|at|to)\s+(?P<target>.+)$"
)
_MOVES = (Verb.PICK, Verb.PLACE, Verb.CARRY, Verb.STORE)  # the verbs a heading summarises ("ship the cups: ...")
_RELATIONS = {"into": "in", "inside": "in", "inside of": "in", "in to": "in", "in": "in", "onto": "on", "on to": "on",
              "on": "on", "on top of": "on", "open": "open", "closed": "closed", "shut": "closed"}
_LOOSE_PREP = re.compile(r"\s+(?:to|towards|toward|near|by|beside|behind|under|in|on|into|onto|at|from)\s+")
_DETERMINERS = {"the", "a", "an", "my", "our", "your", "this", "that", "these", "those", "all", "every", "each", "both"}
_HINTS = {"put": "{verb} {obj} on {place}", "go": "{verb} to {place}", "open": "{verb} {obj}",
          "pick": "{verb} {obj}", "bring": "{verb} {obj} to {place}"}
_FAMILY = {verb: family for family, verbs in {
    "put": "put place set drop leave lay stand store stow load unload stock restock fill insert hang pack",
    "go": "go navigate drive walk head fly land travel come proceed", "open": "open close shut",
    "pick": "pick grab grasp lift collect retrieve remove hold take get fetch unpack",
}.items() for verb in verbs.split()}


def parse(text: str, robot_names: Iterable[str] = ()) -> list[Clause]:
    """Split an instruction into clauses; ``PlanningError`` names the first clause it cannot read."""
    robots = sorted({normalize(r) for r in robot_names}, key=len, reverse=True)
    clauses: list[Clause] = []
    for sentence in _SENTENCES.split(_tidy(text)):
        clauses += _parse_sentence(sentence, robots)
    if not clauses:
        raise PlanningError(f"cannot parse {text!r}: it holds no instruction; try 'bring the <object> to <place>'")
    return _implied(clauses)


def _implied(clauses: list[Clause]) -> list[Clause]:
    """What earlier clauses imply: "open the washer and load the jeans" loads into what was opened last;
    "the cup should be in the sink, can you move it?" only asks for what the words said (no destination else)."""
    opened: str | None = None
    for index, clause in enumerate(clauses):
        if clause.verb == Verb.OPEN:
            opened = clause.target
        elif clause.verb == Verb.PLACE and clause.target is None:
            if opened is None:
                raise _unparsed(clause.text)
            clauses[index] = replace(clause, target=opened, relation="in")
        elif clause.verb == Verb.CONFIRM and not any(c.verb in _MOVES for c in clauses[:index]):
            raise _unparsed(clause.text)
    return clauses


def _tidy(text: str) -> str:
    """Normalized and spelled out, without quotes or "go and", relative clauses marked ("that is on" -> "~on")."""
    text = _GO_AND.sub("", _QUOTES.sub(" ", spell_out(normalize(text))))
    # "the cup that is on the table" -> "the cup ~on the table": that "on" is no clause's preposition.
    text = _RELATIVE.sub(lambda m: _marked(m[1]), _THE_ONE.sub(", which is ", text))
    return _APPOSED.sub(lambda m: m[1] + _mark_relative(m[2]), text)


def _marked(preposition: str) -> str:
    return " ~" + "~".join(preposition.split()) + " "


def _mark_relative(span: str) -> str:
    """Every preposition of ", which is in the box in the hall," up to the next command stays with the noun."""
    ends = (m.start() for m in _JOINS.finditer(span) if starts_with_verb(span[m.end():]))
    end = next(ends, len(span))
    return _LOCATING.sub(lambda m: _marked(m[1]), span[:end]) + span[end:]


def _restore(text: str) -> str:
    """The words without relative-clause marks; "the box, ~in the drawer," -> "the box in the drawer"."""
    return " ".join(re.sub(r",\s*~", " ", text).replace("~", " ").split()).strip(" ,")


def _parse_sentence(sentence: str, robots: list[str]) -> list[Clause]:
    """Its clauses; a heading's ("ship the cups: load them ...") are context when the details ask for something."""
    heading, details = _heading(sentence, robots)
    topic, details = _topic(details, robots)
    clauses = _parse_commands(details, robots)
    if topic:
        clauses.insert(0, Clause(Verb.FACT, topic, obj=topic, context=True))
    if heading is None:
        return clauses
    try:
        lead = _parse_commands(heading, robots)
    except PlanningError:
        return clauses  # "tidy up: ...": a heading that says nothing the details do not
    asks = any(c.verb != Verb.FACT for c in clauses)
    return [replace(c, context=asks and c.verb in _MOVES) for c in lead] + clauses


def _heading(sentence: str, robots: list[str]) -> tuple[str | None, str]:
    """("ship the cups", "load them ...") for "ship the cups: load them ..."; "R: ..." names a robot instead."""
    lead, colon, details = sentence.partition(":")
    lead = _clean(lead)
    robot = _names_robot(lead.removeprefix("the "), robots)
    if not colon or not details.strip() or not starts_with_verb(lead) or robot:
        return None, sentence
    return lead, details


def _topic(sentence: str, robots: list[str]) -> tuple[str | None, str]:
    """("the cup on the table", "can it go in the sink") for "the cup on the table, can it go in the sink": a noun
    phrase set before the command whose pronoun names it."""
    pieces = _CLAUSES.split(sentence)
    first = next((i for i in range(0, len(pieces), 2) if _opens(_clean(pieces[i]), robots)), 0)
    if not first or "," not in pieces[first - 1] or not _PRONOUN.search(pieces[first]):
        return None, sentence
    return _restore(_clean("".join(pieces[: first - 1]))), "".join(pieces[first:])


def _parse_commands(sentence: str, robots: list[str]) -> list[Clause]:
    clauses: list[Clause] = []
    robot: str | None = None
    for part in _clause_texts(sentence, robots):
        named, part = _robot_prefix(part, robots)
        robot = named or robot
        if part:
            clauses += _parse_clause(part, robot, robots)
    return clauses


def _clause_texts(sentence: str, robots: list[str]) -> list[str]:
    """Pieces between separators, a piece joined to the one before unless both start a command."""
    pieces = _CLAUSES.split(sentence)
    texts: list[str] = []
    for separator, piece in zip(["", *pieces[1::2]], pieces[0::2], strict=True):
        piece = _clean(piece)
        if not piece:
            continue
        if texts and not (_opens(piece, robots) and _opens(texts[-1], robots)):
            texts[-1] += separator + piece
        else:
            texts.append(piece)
    return texts


def _opens(piece: str, robots: list[str]) -> bool:
    """Whether a piece starts a clause of its own: a robot, a verb, "X goes in Y", "Y needs X", a fact ("X is ...")."""
    named, rest = _robot_prefix(piece, robots)
    fact = _FACT.match(_restore(rest))
    asks = any(form.match(rest) for form in (_SHOULD_BE, _WANT, _HAVE, _NEEDS))
    return named is not None or starts_with_verb(rest) or asks or bool(fact and fact["subject"])


def _clean(part: str) -> str:
    """A piece without fillers, reasons and trailers, its verb in base form; a contrast ("not the cooler") is none."""
    if _CONTRAST.match(part.strip(" ,")):
        return ""
    part = _TRAILERS.sub("", _REASONS.sub("", _FILLERS.sub("", part.strip(" ,:")))).strip(" ,")
    verb, _, rest = part.partition(" ")
    return f"{lemma(verb)} {rest}".strip()


def _robot_prefix(part: str, robots: list[str]) -> tuple[str | None, str]:
    """Split "robot R go...", "R: go...", "R goes...", "the drone lands..." into (R, "go...")."""
    if match := _ROBOT_COLON.match(part):
        return match["robot"].removeprefix("the ").removeprefix("robot ").strip(), _clean(match["rest"])
    words = _CAUSATIVE.sub("", part).split()
    start = 1 if words[:1] == ["the"] else 0
    for end in range(start + 1, min(len(words), start + 4) + 1):
        lead, rest = " ".join(words[start:end]), _clean(" ".join(words[end:]).removeprefix("to "))
        if _names_robot(lead, robots) and (not rest or starts_with_verb(rest)):
            return (None if lead in _GENERIC_SUBJECTS else lead.removeprefix("robot ")), rest
    return None, part


def _names_robot(lead: str, robots: list[str]) -> bool:
    """A robot's name, a word for its body, "robot X", or one of those numbered ("the third drone")."""
    name = numbered(lead.removeprefix("robot "))
    body = name.rsplit(" ", 1)[0] if name[-1:].isdigit() else name
    return lead in _GENERIC_SUBJECTS or name in robots or body in ROBOT_WORDS or lead.startswith("robot ")


def _names_recipient(phrase: str, robots: list[str]) -> bool:
    """Whether "hand <phrase> the cup" hands it to a robot or a person."""
    words = phrase.removeprefix("the ")
    return words in USER_WORDS or _names_robot(words, robots)


def _parse_clause(text: str, robot: str | None, robots: list[str]) -> list[Clause]:
    if match := _GO.match(text):
        go = _from_match(Verb.GO, text, match, robot, None)
        carried = Clause(Verb.PICK, go.text, obj=go.obj, robot=robot)
        return [carried, replace(go, obj=None)] if go.obj else [go]
    if (match := _SEND.match(text)) and _names_robot(sent := match["robot"].removeprefix("the "), robots):
        return [_from_match(Verb.GO, text, match, sent.removeprefix("robot "), None)]
    if (match := _DATIVE.match(text)) and _names_recipient(match["target"], robots):
        return [_from_match(Verb.CARRY, text, match, robot, None)]
    for pattern, verb, target in _FORMS:
        if match := pattern.match(text):
            return _paired(_from_match(verb, text, match, robot, target), match.groupdict().get("target"))
    if clause := _statement(_restore(text), robot):
        return [clause]
    raise _unparsed(_restore(text))


def _paired(clause: Clause, target: str | None) -> list[Clause]:
    """"put the milk on the table and the cup in the sink": one clause per (thing, place) pair under the verb."""
    gap = _GAP.match(target or "")
    if gap is None:
        return [clause]
    rest = Clause(clause.verb, clause.text, _restore(gap["obj"]), None, _restore(gap["target"]),
                  _relation(gap["rel"]), clause.robot)
    return [replace(clause, target=_restore(gap["head"])), *_paired(rest, gap["target"])]


def _from_match(verb: Verb, text: str, match: re.Match[str], robot: str | None, target: str | None) -> Clause:
    groups = {key: _restore(value) for key, value in match.groupdict().items() if value}
    return Clause(verb, _restore(text), groups.get("obj"), groups.get("source"), groups.get("target") or target,
                  _relation(groups.get("rel")), robot)


def _relation(words: str | None) -> str | None:
    """"on top of" -> "on", "into" -> "in", "shut" -> "closed"; None for none of those."""
    return _RELATIONS.get(" ".join((words or "").split()))


def _statement(text: str, robot: str | None) -> Clause | None:
    """"X should be on Y", "I need X on Y", "table 2 needs X" (goals), "X is in Y" (a fact), "X to/for Y", "X on Y"."""
    for pattern, verb, target in _STATEMENTS:
        if match := pattern.match(text):
            return _from_match(verb, text, match, robot, target)
    match = _FACT.match(text)
    if match and (match["subject"] or match["thing"]):
        return Clause(Verb.FACT, text, obj=match["subject"] or match["thing"], target=match["target"],
                      relation=_relation(match["rel"] or match["state"]), robot=robot)
    if _misspelt_verb(text):
        return None
    if match := _BARE_TO.match(text):
        return _from_match(Verb.CARRY, text, match, robot, None)
    match = _BARE.match(text)
    return _from_match(Verb.PLACE, text, match, robot, None) if match else None


def _misspelt_verb(text: str) -> bool:
    """"brnig the cup to table 1" is a command with a typo, not the thing "brnig the cup"."""
    first, _, rest = text.partition(" ")
    return near_verb(first) is not None and rest.split(" ", 1)[0] in _DETERMINERS


def _unparsed(text: str) -> PlanningError:
    """One reason and the nearest supported wording: "...: no known verb; try 'bring the cup to <place>'"."""
    if confirm := _CONFIRM.match(text):
        return PlanningError(f"cannot parse {text!r}: nothing says where {confirm['obj']} should go; "
                             f"try 'move {confirm['obj']} to <place>'")
    first, _, rest = text.partition(" ")
    verb = lemma(first)
    if verb in VERBS:
        reason = f"'{first}' needs {'what' if _FAMILY.get(verb) in ('open', 'pick') else 'where'}"
        verb, rest = ("pick up", rest.removeprefix("up ")) if verb == "pick" else (verb, rest)
        return PlanningError(f"cannot parse {text!r}: {reason}; try '{_hint(verb, rest)}'")
    if close := near_verb(first):
        return PlanningError(f"cannot parse {text!r}: unknown verb '{first}'; try '{_hint(close, rest)}'")
    thing = rest if rest.split(" ", 1)[0] in _DETERMINERS else text if first in _DETERMINERS else ""
    return PlanningError(f"cannot parse {text!r}: no known verb; try '{_hint('bring', thing)}'")


def _hint(verb: str, rest: str) -> str:
    parts = _LOOSE_PREP.split(rest, maxsplit=1)
    family = _FAMILY.get(verb.split()[0], "bring")
    obj = parts[0] or ("<container>" if family == "open" else "<object>")
    place = parts[1] if len(parts) > 1 else parts[0] if family == "go" and parts[0] else "<place>"
    return _HINTS[family].format(verb=verb, obj=obj, place=place)
