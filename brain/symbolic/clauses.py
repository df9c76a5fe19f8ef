"""One clause's words -> ``Clause``: the forms people use, with no world knowledge (``parser`` splits the text).

Each clause is one of::

    pick up/grab/get/retrieve/take X [from Y]      put/place/pop/throw/load/drop off/set out X [from Y] in/on Y
    bring/take/move/return/hand X [from Y] to Z    bring/fetch X for Z; put X inside (the last place named)
    bring/hand/give/find me X; bring X (through)   put away/store/return X (to where it belongs)
    hand/give R X (R a robot or a person)          X from Y to Z; X to/for Z; X on Y (no verb)
    stock/load Y with X; send R to Y               X should be/goes/belongs on Y; could X go in Y
    I need/want/'d like X [from Y] (up) at Z       Y needs/ordered X; can I get X (brought) to Z
    lift X off Y and onto Z                        open/close/shut Y (a container or a door, "the lid")
    go/fly/land/wait to/in/on Y [with X]           fly/drive X to Y (X a robot, its cargo or a thing)
    open Y and load X (into Y)                     move it, fix that (after words saying where it goes)
    keep hold of/hang on to X (hold it)            Y is fine, Y will do (Y: where in the place just named)
    X is in/on Y, I left X in Y, X is open/closed  (a fact: checked against the world, never a goal)
    find/locate X (where it is: names X only)      I cut my finger, somebody spilled X in Y (a remark: context)

"X should be on Y" and "Y needs X" are wishes (``Clause.wish``): words that send X elsewhere win over them.

One verb may name several pairs: "put the milk on the table and the cup in the sink", "batteries on shelf 1
and cereal on shelf 2" (without a determiner when the first thing has none). Phrases keep their
words ("the apple in the fridge", "them"); the parser marks a relative clause's prepositions with "~"
("the cup ~on the table") so that no form reads them as its own, and ``restore`` takes the marks off.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from enum import StrEnum

from brain.errors import PlanningError
from brain.symbolic.phrasing import (
    GENERIC_SUBJECTS,
    PRONOUNS,
    ROBOT_WORDS,
    USER_WORDS,
    VERBS,
    lemma,
    near_verb,
    numbered,
)

__all__ = ["DETERMINER", "MOVES", "Clause", "Verb", "asks_or_states", "names_robot", "read_clause", "restore",
           "unparsed"]


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
    REMARK = "remark"  # "I cut my finger": neither a request nor a fact to check; ``parser`` drops it


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
    wish: bool = False  # "X should be on Y", "Y needs X": what someone wants; words that send X elsewhere win


DETERMINER = r"(?:the|a|an|some|this|that|these|those|my|your|our|his|her|its|their|all|both|every|each)"
_PREP = r"(?P<rel>into|inside\s+of|inside|in|onto|on\s+top\s+of|on|at)"
_FROM = r"(?:\s+(?:from|off\s+of|off|out\s+of)\s+(?P<source>.+?))?"

_GO = re.compile(
    r"^(?:go|navigate|move|drive|walk|head|return|fly|travel|come|proceed|land|wait)\s+(?:back\s+)?(?:over\s+)?"
    r"(?:down\s+)?(?:to|towards|toward|into|inside|in|onto|on|at)\s+(?P<target>.+?)"
    r"(?:\s+(?:with|carrying|holding)\s+(?P<obj>.+?)(?:\s+(?:in|on)\s+(?:the|its|his|her|their)\s+"
    r"(?:basket|gripper|grippers|hands?|arms?|claws?|back|tray))?)?$"
)
_OPEN = re.compile(r"^open\s+(?:up\s+)?(?P<target>.+)$")  # "the fridge door" is for the grounding to read
_CLOSE = re.compile(r"^(?:close|shut)\s+(?P<target>.+)$")
_DATIVE = re.compile(  # "hand the butler the remote": the recipient, then the thing
    r"^(?:hand|give|pass|bring|get|fetch|send|serve|ship)\s+(?!(?:me|us)\s)(?P<target>.+?)\s+"
    r"(?P<obj>(?:" + DETERMINER + r"|one|two|three|four|five|\d+)\s+.+)$"
)
_GIVE_ME = re.compile(
    r"^(?:hand|give|bring|get|fetch|pass|grab|retrieve|find)\s+(?:me|us)\s+(?P<obj>.+?)" + _FROM + "$")
_STOCK = re.compile(r"^(?:stock|restock|load|fill|refill)\s+(?:up\s+)?(?P<target>.+?)\s+with\s+(?P<obj>.+)$")
_PLACE_VERBS = (r"put|place|set|drop\s+off|drop|leave|lay|stand|store|stow|load|unload|stock|restock|insert|hang|"
                r"tidy|clear|serve|shelve|chill|cool|freeze|pack|pop|throw|chuck|toss|keep")
_PLACE = re.compile(
    r"^(?:put\s+away|put\s+back|(?:set|lay|put)\s+out|" + _PLACE_VERBS + r")\s+(?P<obj>.+?)"
    r"(?:\s+(?:down|back|away|off|out))?" + _FROM
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
    r"^(?:bring|deliver|give|hand|pass|ship)\s+(?:over\s+)?(?P<obj>.+?)"
    r"(?:\s+(?:over|here|over\s+here|through|along|round|up|down))?" + _FROM + "$")
_BRING_BACK = re.compile(r"^(?:bring|give|hand)\s+back\s+(?P<obj>.+?)" + _FROM + "$")
_BRING_IT_BACK = re.compile(r"^(?:bring|give|hand)\s+(?P<obj>.+?)\s+back" + _FROM + "$")
_CONFIRM = re.compile(r"^(?:move|fix|sort|handle|take\s+care\s+of)\s+(?P<obj>it|them|that|this|these|those|both)"
                      r"(?:\s+(?:out|over|up|around))?$")
_PICK_VERBS = (r"pick\s+up|take\s+out|take\s+down|take\s+off|pick|grab|grasp|take|get|lift|fetch|collect|retrieve|"
               r"remove|hold|unload|unpack")
_KEEP = re.compile(  # "keep hold of it": the robot holds it (and "keep it in the fridge" is a put)
    r"^(?:keep\s+(?:a\s+)?hold\s+of|(?:hold|hang)\s+on\s*to)\s+(?P<obj>.+?)" + _FROM + "$")
_FIND = re.compile(r"^(?:find|locate)\s+(?!(?:me|us)\s)(?P<obj>.+)$")  # "find my ring": where it is, not what to do
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
_NEEDS = re.compile(  # "table one (just) ordered the cheese"
    r"^(?:i|we|(?P<target>.+?))(?:\s+(?:just|already|also|really|still))?(?:'d\s+like|\s+(?:needs?|wants?|"
    r"would\s+like|could\s+use|ordered|asked\s+for|requested))\s+(?P<obj>.+)$")
_FROM_TO = re.compile(r"^(?P<obj>.+?)\s+from\s+(?P<source>.+?)\s+to\s+(?P<target>.+)$")  # "glue from X to Y"
_FINE = re.compile(  # "..., (on) the coffee table is fine": where in the place just named
    r"^(?:(?P<rel>into|inside|in|onto|on|at)\s+)?(?P<target>.+?)(?:'s|\s+(?:is|would\s+be|will\s+be))\s+"
    r"(?:fine|ok|okay|good|great|perfect)$|^(?P<spot>.+?)\s+(?:will|would|should)\s+do$")
_REMARK = re.compile(r"^(?:i|we|some(?:one|body))(?:'m|'ve|'ll|'d)?\s+\S")  # "I cut my finger", "I'm off to bed"
_REMARK_WHERE = re.compile(r"\s(?:in|inside|on|at)\s+(?P<target>.+)$")  # "somebody spilled something in aisle a"
_REMARK_THING = re.compile(r"\s(?P<obj>(?:my|our|your|his|her|their|the)\s+.+)$")  # "i can't find my glasses"
_BARE = re.compile(r"^(?P<obj>.+?)\s+" + _PREP + r"\s+(?P<target>.+)$")  # "book on the bed, please"
_BARE_TO = re.compile(r"^(?P<obj>.+?)\s+(?:to|for)\s+(?P<target>.+)$")  # "bread for table one", "tablet to the bench"
_FACT = re.compile(
    r"^(?:(?:there(?:\s+is|\s+are|'s)|(?:i|we|someone|somebody|(?:the|my|our|his|her|their)\s+\w+(?:\s+\w+)?)\s+"
    r"(?:left|put|placed|dropped|kept|keep|leave|stored))"
    r"\s+(?P<thing>.+?)\s+(?=in\s|on\s|inside\s|at\s)|(?P<subject>.+?)\s+"
    r"(?:is|are|was|were|sits?|lies|lie|stands?|rests?|remains?|stays?|can\s+be\s+found|has\s+been|have\s+been)\b\s*)"
    r"(?:(?:originally|currently|now|already|still|initially|located|placed|kept|stored|right|usually|found|left|out|"
    r"put|set|moved|dropped|being|\w+ing)\s+)*"
    r"(?:(?P<rel>inside\s+of|inside|into|in|onto|on\s+top\s+of|on|at)\s+(?P<target>.+)|(?P<state>open|closed|shut)|.*)$"
)
# Tried in order; the third item is the target when the words name none ("hand me the cup").
_FORMS: tuple[tuple[re.Pattern[str], Verb, str | None], ...] = (
    (_FLY, Verb.GO, None), (_OPEN, Verb.OPEN, None), (_CLOSE, Verb.CLOSE, None), (_KEEP, Verb.PICK, None),
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
_WISHES = (_SHOULD_BE, _NEEDS)  # what someone wants, not what to do: ``Clause.wish``
# "put the milk on the table and the cup in the sink": the rest of a target that is another (thing, place) pair;
# the thing needs a determiner unless the first one had none ("batteries on shelf 1 and cereal on shelf 2").
_GAP_HEAD = r"^(?P<head>.+?)(?:\s*,\s*(?:and\s+)?|\s+and\s+)"
_GAP_TAIL = r"\s+(?P<rel>into|inside|in|onto|on\s+top\s+of|on|at|to)\s+(?P<target>.+)$"
_GAP = re.compile(_GAP_HEAD + r"(?P<obj>" + DETERMINER + r"\s+(?!ones?\b).+?)" + _GAP_TAIL)
_GAP_BARE = re.compile(_GAP_HEAD + r"(?P<obj>(?!ones?\b)[a-z0-9].*?)" + _GAP_TAIL)
MOVES = (Verb.PICK, Verb.PLACE, Verb.CARRY, Verb.STORE)  # the verbs a heading summarises ("ship the cups: ...")
_RELATIONS = {"into": "in", "inside": "in", "inside of": "in", "in to": "in", "in": "in", "onto": "on", "on to": "on",
              "on": "on", "on top of": "on", "open": "open", "closed": "closed", "shut": "closed"}
_LOOSE_PREP = re.compile(r"\s+(?:to|towards|toward|near|by|beside|behind|under|in|on|into|onto|at|from)\s+")
_DETERMINERS = {"the", "a", "an", "my", "our", "your", "this", "that", "these", "those", "all", "every", "each", "both"}
_HINTS = {"put": "{verb} {obj} on {place}", "go": "{verb} to {place}", "open": "{verb} {obj}",
          "pick": "{verb} {obj}", "bring": "{verb} {obj} to {place}"}
_FAMILY = {verb: family for family, verbs in {
    "put": "put place set drop leave lay stand store stow load unload stock restock fill insert hang pack pop throw "
           "chuck toss keep",
    "go": "go navigate drive walk head fly land travel come proceed wait", "open": "open close shut",
    "pick": "pick grab grasp lift collect retrieve remove hold take get fetch unpack",
}.items() for verb in verbs.split()}


def restore(text: str) -> str:
    """The words without relative-clause marks; "the box, ~in the drawer," -> "the box in the drawer"."""
    return " ".join(re.sub(r",\s*~", " ", text).replace("~", " ").split()).strip(" ,")


def names_robot(lead: str, robots: AbstractSet[str]) -> bool:
    """A robot's name, a word for its body, "robot X", or one of those numbered ("the third drone")."""
    name = numbered(lead.removeprefix("robot "))
    body = name.rsplit(" ", 1)[0] if name[-1:].isdigit() else name
    return lead in GENERIC_SUBJECTS or name in robots or body in ROBOT_WORDS or lead.startswith("robot ")


def asks_or_states(text: str) -> bool:
    """Whether words with no verb first are a clause of their own: "X goes in Y", "Y needs X", a fact ("X is ...")."""
    fact = _FACT.match(restore(text))
    forms = (_SHOULD_BE, _WANT, _HAVE, _NEEDS, _FINE, _REMARK)
    return any(form.match(text) for form in forms) or bool(fact and fact["subject"])


def _names_recipient(phrase: str, robots: AbstractSet[str]) -> bool:
    """Whether "hand <phrase> the cup" hands it to a robot or a person."""
    words = phrase.removeprefix("the ")
    return words in USER_WORDS or names_robot(words, robots)


def read_clause(text: str, robot: str | None, robots: AbstractSet[str]) -> list[Clause]:
    """The clauses of one command's words (several for "put X on Y and Z in W"); ``unparsed`` when no form fits."""
    if match := _GO.match(text):
        go = _from_match(Verb.GO, text, match, robot, None)
        carried = Clause(Verb.PICK, go.text, obj=go.obj, robot=robot)
        return [carried, replace(go, obj=None)] if go.obj else [go]
    if (match := _SEND.match(text)) and names_robot(sent := match["robot"].removeprefix("the "), robots):
        return [_from_match(Verb.GO, text, match, sent.removeprefix("robot "), None)]
    if (match := _DATIVE.match(text)) and _names_recipient(match["target"], robots):
        return [_from_match(Verb.CARRY, text, match, robot, None)]
    if match := _FIND.match(text):  # names what later words ("put it on the bed") are about
        return [replace(_from_match(Verb.FACT, text, match, robot, None), context=True)]
    for pattern, verb, target in _FORMS:
        if match := pattern.match(text):
            return _paired(_from_match(verb, text, match, robot, target), match.groupdict().get("target"))
    if clauses := _statement(restore(text), robot):
        return clauses
    raise unparsed(restore(text))


def _paired(clause: Clause, target: str | None) -> list[Clause]:
    """"put the milk on the table and the cup in the sink": one clause per (thing, place) pair under the verb."""
    first = (clause.obj or "").split(" ", 1)[0]
    bare = bool(first) and first not in _DETERMINERS | PRONOUNS
    gap = (_GAP_BARE if bare else _GAP).match(target or "")
    if gap is None:
        return [clause]
    rest = Clause(clause.verb, clause.text, restore(gap["obj"]), None, restore(gap["target"]),
                  _relation(gap["rel"]), clause.robot)
    return [replace(clause, target=restore(gap["head"])), *_paired(rest, gap["target"])]


def _from_match(verb: Verb, text: str, match: re.Match[str], robot: str | None, target: str | None) -> Clause:
    groups = {key: restore(value) for key, value in match.groupdict().items() if value}
    return Clause(verb, restore(text), groups.get("obj"), groups.get("source"), groups.get("target") or target,
                  _relation(groups.get("rel")), robot)


def _relation(words: str | None) -> str | None:
    """"on top of" -> "on", "into" -> "in", "shut" -> "closed"; None for none of those."""
    return _RELATIONS.get(" ".join((words or "").split()))


def _statement(text: str, robot: str | None) -> list[Clause]:
    """"X should be on Y", "I need X on Y", "table 2 needs X" (goals), "X is in Y" (a fact), "X to/for Y", "X on Y"."""
    if match := _FINE.match(text):  # a place named before: the thing goes there (``parser`` says which thing)
        target = match["target"] or match["spot"]
        return [Clause(Verb.PLACE, text, target=target, relation=_relation(match["rel"]), robot=robot)]
    for pattern, verb, target in _STATEMENTS:
        if match := pattern.match(text):
            return [replace(_from_match(verb, text, match, robot, target), wish=pattern in _WISHES)]
    match = _FACT.match(text)
    if match and (match["subject"] or match["thing"]):
        return [Clause(Verb.FACT, text, obj=match["subject"] or match["thing"], target=match["target"],
                       relation=_relation(match["rel"] or match["state"]), robot=robot)]
    if _REMARK.match(text):
        return [_remark(text, robot)]
    if _misspelt_verb(text):
        return []
    if match := _BARE_TO.match(text):
        return [_from_match(Verb.CARRY, text, match, robot, None)]
    match = _BARE.match(text)
    return _paired(_from_match(Verb.PLACE, text, match, robot, None), match["target"]) if match else []


def _remark(text: str, robot: str | None) -> Clause:
    """"I can't find my glasses", "somebody spilled something in aisle a": no request, but what it names (the
    glasses, aisle a) may be what "they" or "there" means next."""
    where = _REMARK_WHERE.search(text)
    thing = _REMARK_THING.search(text[: where.start()] if where else text)
    return Clause(Verb.REMARK, text, obj=thing["obj"] if thing else None, target=where["target"] if where else None,
                  robot=robot)


def _misspelt_verb(text: str) -> bool:
    """"brnig the cup to table 1" is a command with a typo, not the thing "brnig the cup"."""
    first, _, rest = text.partition(" ")
    return near_verb(first) is not None and rest.split(" ", 1)[0] in _DETERMINERS


def unparsed(text: str) -> PlanningError:
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
