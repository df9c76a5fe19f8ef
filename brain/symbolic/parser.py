"""Instructions as people write them -> clauses (a verb and the phrases it names), with no world knowledge.

Sentences split on ``.``/``;``/``!``/``?``/new lines; clauses on commas, dashes, "and", "then" where what follows
starts a new command ("pick up the cup and put it in the sink"), so a list under one verb stays whole
("put the coin and the battery in the box"); ``clauses`` reads each clause (the forms are listed there).
"..., and the toy car too" is the clause before again, for the toy car. A sentence that neither asks nor
states where things are ("I cut my finger.") is context when another one asks for something: kept only for
what it names ("I can't find my glasses. They ..."). A place alone ("Toy box, please.") puts what the
sentence before named there; "them" after "table one ordered X" is table one. Urgency, thanks and endearments
at the end ("..., quick", "dear", "if you can") and "until ..." are dropped.

A sentence "A: B" whose A is no robot is a heading and its details ("ship the cups: load them into the truck"):
A's clauses only name things for B's pronouns when B asks for something (unreadable, A is dropped).
So does a topic: "the magazine on the table, can it go on the bar?"; a contrast ("in the freezer, not
the cooler") is dropped.

A clause may start with a robot: "robot R ...", "R: ...", "R, ...", a robot's name or a word for its body
("the drone lands ...", "the third drone", 3rd person verbs are fine), also "have/tell R (to) ...";
it applies to the rest of the sentence. A relative clause set off by commas stays with its noun ("the box,
which is in the drawer in the hall,"); the grounding resolves phrases against the scene.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Set as AbstractSet
from dataclasses import replace

from brain.errors import PlanningError
from brain.symbolic.clauses import (
    DETERMINER,
    MOVES,
    Clause,
    Verb,
    asks_or_states,
    names_robot,
    read_clause,
    restore,
    unparsed,
)
from brain.symbolic.phrasing import (
    GENERIC_SUBJECTS,
    VERBS,
    lemma,
    normalize,
    spell_out,
    starts_with_verb,
)

__all__ = ["SUPPORTED_FORMS", "Clause", "Verb", "normalize", "parse"]

SUPPORTED_FORMS = (
    "'pick up/grab/get the X [from the Y]', 'put/place/load the X on/in the Y', "
    "'bring/take/move/return the X [from the Y] to the Z', 'bring/hand me the X', 'put away the X', "
    "'open/close the Y (or the Y door)', 'go/fly to the Y [with the X]', 'send R to the Y', 'the X to the Z', "
    "'the X should be on the Y', 'I need the X on the Y', 'the Y needs the X', 'keep hold of the X'; several "
    "things under one verb ('the cup and the plate', 'all the cups', '... and the X too'); facts ('the cup is "
    "in the fridge') are checked, not done; optionally led by a robot ('robot R', 'R:', 'R, ...', 'the drone "
    "lands ...'), "
    "joined by commas, 'and', 'then', ';' or '.'"
)

_SENTENCES = re.compile(r"(?<!\d)\.|\.(?!\d)|[;!?\n]+")
_QUOTES = re.compile(r"[\"“”«»()\[\]{}#*`]|(?<![a-z])'|'(?![a-z])|[‘’](?![a-z])")
_CLAUSES = re.compile(
    r"(\s*,\s*(?:and\s+then\s+|and\s+|then\s+)?|\s+and\s+then\s+|\s+then\s+|\s+and\s+|\s+after\s+that\s+)")
_FILLERS = re.compile(
    r"^(?:(?:please|kindly|just|simply|now|then|and|also|first|firstly|next|finally|after\s+that|afterwards|ok|okay|"
    r"would\s+you\s+mind|do\s+you\s+mind|could\s+you|can\s+you|would\s+you|will\s+you|"
    r"(?:could\s+|can\s+)?some(?:one|body)(?=\s+(?:please\s+)?(?:" + "|".join(sorted(VERBS)) + r")\b)|"  # asked
    r"i\s+want\s+you\s+to|i\s+need\s+you\s+to|i\s+would\s+like\s+you\s+to|"
    r"i'd\s+like\s+you\s+to|go(?=\s+(?:get|fetch|grab|pick|bring|retrieve|collect))|"
    r"will|shall|should|must|needs?\s+to|has\s+to|have\s+to|is\s+going\s+to|is\s+to|thanks|thank\s+you|"
    r"(?:could|can|may|might|would)(?!\s+(?:i|we)\b))\b\s*)+"
)
_GO_AND = re.compile(r"\b(?:go|come)\s+(?:ahead\s+)?and\s+")  # "go and get X" is "get X"
_CONTRAST = re.compile(r"^(?:but\s+)?(?:not|rather\s+than|instead\s+of)\s+(?:(?:in|into|on|onto|at|to)\s+)?"
                       + DETERMINER + r"\s")  # "in the freezer, not the cooler"
_REASONS = re.compile(r"\s+(?:(?:before|because|since|so\s+that|so|while|as)\s+(?:it|they|he|she|we|i|you|the\s+\w+)\b|"
                      r"until\s).*$")  # "... until I say so": how long, not what
_TRAILERS = re.compile(  # urgency, thanks and endearments after the request ("..., quick", "..., dear")
    r"(?:(?:^|\s+)(?:please|pls|for\s+me|now|right\s+now|again|as\s+well|too|right\s+away|at\s+once|asap|quick|"
    r"quickly|immediately|thanks|thank\s+you|dear|mate|afterwards?|after|after\s+that|later|"
    r"at\s+the\s+end|if\s+you\s+can|if\s+possible|when\s+you\s+(?:can|get\s+a\s+(?:chance|moment|minute))|"
    r"when\s+(?:you(?:'re|\s+are)\s+)?(?:done|finished)))+$")
_DASH = re.compile(r"\s+-+\s+|\s*[\u2013\u2014]+\s*")  # " - ", an en or em dash: between clauses, not in a word
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
_ALSO = re.compile(r"^(?:and\s+)?(?:also\s+)?.+?\s+(?:too|as\s+well|also)$")  # "and the toy car too"
_PRONOUN = re.compile(r"\b(?:it|them|they)\b")
_NAME_ONLY = re.compile(  # "toy box", "in the toy box": a name of up to four words, a determiner only first
    r"^(?:(?P<rel>into|in|onto|on|to)\s+)?(?P<target>(?:" + DETERMINER + r"\s+)?(?!" + DETERMINER
    + r"\b)[a-z0-9]+(?:\s+(?!" + DETERMINER + r"\b)[a-z0-9]+){0,3})$")
_ALONE_RELATIONS = {"into": "in", "in": "in", "onto": "on", "on": "on"}  # "in the toy box."


def parse(text: str, robot_names: Iterable[str] = ()) -> list[Clause]:
    """Split an instruction into clauses; ``PlanningError`` names the first clause it cannot read."""
    robots = _robot_keys(tuple(robot_names))
    clauses: list[Clause] = []
    for sentence in _SENTENCES.split(_tidy(text)):
        try:
            clauses += _parse_sentence(sentence, robots)
        except PlanningError:
            if (alone := _place_alone(sentence, clauses)) is None:
                raise
            clauses.append(alone)
    if not clauses:
        raise PlanningError(f"cannot parse {text!r}: it holds no instruction; try 'bring the <object> to <place>'")
    if all(c.verb == Verb.REMARK for c in clauses):
        raise unparsed(clauses[0].text)
    # "I cut my finger. Bring the plasters ...": a remark is context, kept only for what it names ("my glasses")
    return _parties(_implied([c for c in clauses if c.verb != Verb.REMARK or c.obj or c.target]))


@functools.lru_cache(maxsize=8)
def _robot_keys(robot_names: tuple[str, ...]) -> frozenset[str]:
    """The robots' normalized names (worked out once per fleet: a fleet of a thousand robots has as
    many names to normalize, and a set answers "is this a robot" at once)."""
    return frozenset(normalize(r) for r in robot_names)


def _place_alone(sentence: str, before: list[Clause]) -> Clause | None:
    """"The kids left the toy car on the table. Toy box, please.": a place alone puts what was just named there;
    None when the sentence is no bare name or nothing was named."""
    words = _clean(sentence)
    named = next((c for c in reversed(before) if c.obj and c.verb in (*MOVES, Verb.FACT) and not c.wish), None)
    match = _NAME_ONLY.match(words)
    if named is None or match is None or starts_with_verb(words):
        return None
    return Clause(Verb.PLACE, words, obj=named.obj, target=match["target"], relation=_ALONE_RELATIONS.get(match["rel"]))


def _parties(clauses: list[Clause]) -> list[Clause]:
    """"Table one ordered the cheese. Take it over to them.": "them" (him, her) is who the wish named."""
    party: str | None = None
    for index, clause in enumerate(clauses):
        if clause.wish and clause.verb == Verb.CARRY and clause.target != "me":
            party = clause.target
        elif party and clause.target in ("them", "him", "her"):
            clauses[index] = replace(clause, target=party)
    return clauses


def _implied(clauses: list[Clause]) -> list[Clause]:
    """What earlier clauses imply: "open the washer and load the jeans" loads into what was opened last;
    "take the salt to the hall, the shelf is fine" puts the salt on the shelf; "the cup should be in the sink,
    can you move it?" only asks for what the words said (no destination else)."""
    opened: str | None = None
    for index, clause in enumerate(clauses):
        if clause.verb == Verb.OPEN:
            opened = clause.target
        elif clause.verb == Verb.PLACE and clause.obj is None:
            moved = next((c for c in reversed(clauses[:index]) if c.verb in MOVES and c.target), None)
            fine = Clause(Verb.FACT, clause.text, obj=clause.target)  # "the cup is fine": says how it is
            clauses[index] = replace(clause, obj=moved.obj) if moved else fine
        elif clause.verb == Verb.PLACE and clause.target is None:
            if opened is None:
                raise unparsed(clause.text)
            clauses[index] = replace(clause, target=opened, relation="in")
        elif clause.verb == Verb.CONFIRM and not any(c.verb in MOVES for c in clauses[:index]):
            raise unparsed(clause.text)
    return clauses


def _tidy(text: str) -> str:
    """Normalized and spelled out, without quotes or "go and", relative clauses marked ("that is on" -> "~on")."""
    text = _GO_AND.sub("", _QUOTES.sub(" ", spell_out(normalize(_DASH.sub(" \u2014 ", text)))))
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


def _parse_sentence(sentence: str, robots: AbstractSet[str]) -> list[Clause]:
    """Its clauses; a heading's ("ship the cups: load them ...") are context when the details ask for something."""
    heading, details = _heading(_dashed(sentence, robots), robots)
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
    asks = any(c.verb not in (Verb.FACT, Verb.REMARK) for c in clauses)
    return [replace(c, context=asks and c.verb in MOVES) for c in lead] + clauses


def _dashed(sentence: str, robots: AbstractSet[str]) -> str:
    """A dash before a command ends a clause ("the ice cream is melting - get it into the freezer"); elsewhere it is
    a pause ("batteries and cereal - all into the basket")."""
    text, *rests = (piece.strip() for piece in sentence.split("\u2014"))
    for rest in rests:
        text = f"{text}, {rest}" if text and _opens(_clean(rest), robots) else f"{text} {rest}".strip()
    return text


def _heading(sentence: str, robots: AbstractSet[str]) -> tuple[str | None, str]:
    """("ship the cups", "load them ...") for "ship the cups: load them ..."; "R: ..." names a robot instead."""
    lead, colon, details = sentence.partition(":")
    lead = _clean(lead)
    robot = names_robot(lead.removeprefix("the "), robots)
    if not colon or not details.strip() or not starts_with_verb(lead) or robot:
        return None, sentence
    return lead, details


def _topic(sentence: str, robots: AbstractSet[str]) -> tuple[str | None, str]:
    """("the cup on the table", "can it go in the sink") for "the cup on the table, can it go in the sink": a noun
    phrase set before the command whose pronoun names it."""
    pieces = _CLAUSES.split(sentence)
    first = next((i for i in range(0, len(pieces), 2) if _opens(_clean(pieces[i]), robots)), 0)
    if not first or "," not in pieces[first - 1] or not _PRONOUN.search(pieces[first]):
        return None, sentence
    return restore(_clean("".join(pieces[: first - 1]))), "".join(pieces[first:])


def _parse_commands(sentence: str, robots: AbstractSet[str]) -> list[Clause]:
    clauses: list[Clause] = []
    robot: str | None = None
    for part, again in _clause_texts(sentence, robots):
        if again and clauses and clauses[-1].verb in (*MOVES, Verb.FACT):  # "..., and the toy car too"
            clauses.append(replace(clauses[-1], text=f"{part} too", obj=restore(part), source=None))
            continue
        named, part = _robot_prefix(part, robots)
        robot = named or robot
        if part:
            clauses += read_clause(part, robot, robots)
    return clauses


def _clause_texts(sentence: str, robots: AbstractSet[str]) -> list[tuple[str, bool]]:
    """Pieces between separators, a piece joined to the one before unless both start a command; each with whether
    it is "(and) the car too": the clause before again, for another thing."""
    pieces = _CLAUSES.split(sentence)
    texts: list[tuple[str, bool]] = []
    for separator, raw in zip(["", *pieces[1::2]], pieces[0::2], strict=True):
        piece = _clean(raw)
        if not piece:
            continue
        again = bool(texts and _ALSO.match(raw.strip(" ,"))) and not _opens(piece, robots)
        if texts and not again and not (_opens(piece, robots) and _opens(texts[-1][0], robots)):
            texts[-1] = (texts[-1][0] + separator + piece, texts[-1][1])
        else:
            texts.append((piece, again))
    return texts


def _opens(piece: str, robots: AbstractSet[str]) -> bool:
    """Whether a piece starts a clause of its own: a robot, a verb, "X goes in Y", "Y needs X", a fact ("X is ...")."""
    named, rest = _robot_prefix(piece, robots)
    return named is not None or starts_with_verb(rest) or asks_or_states(rest)


def _clean(part: str) -> str:
    """A piece without fillers, reasons and trailers, its verb in base form; a contrast ("not the cooler") is none."""
    if _CONTRAST.match(part.strip(" ,")):
        return ""
    part = _TRAILERS.sub("", _REASONS.sub("", _FILLERS.sub("", part.strip(" ,:")))).strip(" ,")
    verb, _, rest = part.partition(" ")
    return f"{lemma(verb)} {rest}".strip()


def _robot_prefix(part: str, robots: AbstractSet[str]) -> tuple[str | None, str]:
    """Split "robot R go...", "R: go...", "R goes...", "the drone lands..." into (R, "go...")."""
    if match := _ROBOT_COLON.match(part):
        return match["robot"].removeprefix("the ").removeprefix("robot ").strip(), _clean(match["rest"])
    words = _CAUSATIVE.sub("", part).split()
    start = 1 if words[:1] == ["the"] else 0
    for end in range(start + 1, min(len(words), start + 4) + 1):
        lead, rest = " ".join(words[start:end]), _clean(" ".join(words[end:]).removeprefix("to "))
        if names_robot(lead, robots) and (not rest or starts_with_verb(rest)):
            return (None if lead in GENERIC_SUBJECTS else lead.removeprefix("robot ")), rest
    return None, part


