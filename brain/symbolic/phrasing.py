"""How people word things: verbs and their forms, robot words, and noun phrases.

World-free word knowledge shared by the parser (which verb, who is the subject) and the grounding
(which things a phrase means)::

    lemma("brings")                          # "bring"
    read_phrase("all the cups in the sink")  # NounPhrase("cups in the sink", every=True)
    split_list("the apple, the cup and the bread")   # ["the apple", "the cup", "the bread"]
    split_qualifier("the cup that is on the table")  # ("the cup", "the table")
    numbered("the third tote drone")         # "tote drone 3"
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

__all__ = [
    "GENERIC_SUBJECTS",
    "PRONOUNS",
    "ROBOT_WORDS",
    "USER_WORDS",
    "VERBS",
    "NounPhrase",
    "lemma",
    "near_verb",
    "normalize",
    "numbered",
    "read_phrase",
    "singular",
    "spell_out",
    "split_list",
    "split_qualifier",
    "starts_with_verb",
    "variants",
    "strip_articles",
]

VERBS = frozenset(
    "pick grab grasp take get lift fetch collect retrieve remove hold put place set drop leave lay stand store "
    "stow load unload stock restock fill insert hang bring carry deliver transport hand give pass send return "
    "move shift relocate open close shut go navigate drive walk head fly land travel come proceed tidy clear serve "
    "shelve chill cool freeze dispatch ship pack unpack fix sort handle pop throw chuck toss keep find locate "
    "wait".split()
)
_IRREGULAR = {"goes": "go", "does": "do", "has": "have"}

# Words for a kind of robot -> a word of the embodiment it names ("the quadrotor" -> embodiment drone).
ROBOT_WORDS = {
    "drone": "drone", "quadrotor": "drone", "quadcopter": "drone", "uav": "drone",
    "dog": "quadruped", "robot dog": "quadruped", "quadruped": "quadruped",
    "humanoid": "humanoid", "arm": "fixed", "robot arm": "fixed", "fixed arm": "fixed",
    "wheeled robot": "wheeled", "mobile manipulator": "wheeled",
}
GENERIC_SUBJECTS = frozenset({"robot", "the robot", "you"})  # "you put the cup ...": whichever robot does it
# Who "me" is: deliveries to these words go to the scene's handoff point.
USER_WORDS = frozenset({"me", "us", "here", "user", "person", "human", "customer", "guest", "operator"})
PRONOUNS = frozenset({"it", "them", "they", "that", "this", "these", "those", "one", "there", "both"})

_ARTICLES = frozenset({"the", "a", "an", "some", "my", "our", "your", "its", "their", "that", "this", "these", "those"})
_EVERY = frozenset({"all", "every", "each"})
_ANY = frozenset({"a", "an", "any", "one"})
_DEFINITE = frozenset({"the", "these", "those"})
_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()
_ORDINALS = {word: n for n, word in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), start=1)}
_ORDINAL_DIGITS = re.compile(r"^(?P<n>\d+)(?:st|nd|rd|th)$")
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_CONTRACTED = ((re.compile(r"'s(?=\s+been\b)"), " has"), (re.compile(r"'re\b"), " are"),
               (re.compile(r"'s(?=\s+(?:still\s+|now\s+|already\s+)?(?:in|on|inside|at|open|closed)\b)"), " is"))
_LIST = re.compile(r"\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&)\s+")
_QUALIFIER = re.compile(
    r"^(?P<head>.+?)\s+(?:(?:that|which|who)\s+(?:is|are|was|were|sits?|lies?|stands?)\s+(?:\w+ly\s+)?|"
    r"(?:located|sitting|lying|standing|kept|stored|found)\s+)?"
    r"(?:in|inside|on\s+top\s+of|on|at|from|by|near|next\s+to|beside|under|out\s+of)\s+(?P<where>.+)$"
)
_THERE = re.compile(r"^(?P<head>.+?)\s+(?P<where>there)$")  # "the floor rack there": at the place just named


@dataclass(frozen=True)
class NounPhrase:
    """One phrase for things: ``words`` without determiners, and how many of the matches it means."""

    words: str
    count: int | None = None  # "two cups" -> 2, "a cup" -> 1; None: the one (or, plural, all) it names
    every: bool = False  # "all/each/both/the two": every match (exactly ``count`` of them when given)

    @property
    def plural(self) -> bool:
        return singular(self.words) != self.words

    @property
    def pronoun(self) -> bool:
        return self.words in PRONOUNS


def normalize(text: str) -> str:
    """Lower case, underscores and hyphens as spaces, single spaces: how names are compared."""
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def spell_out(text: str) -> str:
    """Contractions that hide a verb spelled out: "the milk's been left out" -> "the milk has been left out"."""
    for contraction, spelled in _CONTRACTED:
        text = contraction.sub(spelled, text)
    return text


def near_verb(word: str) -> str | None:
    """The known verb a misspelt word most likely is ("brnig" -> "bring"), if any."""
    close = difflib.get_close_matches(word, sorted(VERBS), n=1, cutoff=0.75)
    return close[0] if close else None


def lemma(word: str) -> str:
    """The base form of a verb ("brings" -> "bring", "placing" -> "place"); other words unchanged."""
    if word in VERBS:
        return word
    candidates = [_IRREGULAR.get(word, "")]
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("oes", "o"), ("s", ""),
                                ("ing", ""), ("ing", "e")):
        if word.endswith(suffix):
            candidates.append(word[: -len(suffix)] + replacement)
    if word.endswith("ing") and len(word) > 5 and word[-4] == word[-5]:
        candidates.append(word[:-4])  # "putting" -> "put"
    return next((c for c in candidates if c in VERBS), word)


def starts_with_verb(text: str) -> bool:
    return lemma(text.split(" ", 1)[0]) in VERBS if text else False


def strip_articles(phrase: str) -> str:
    words = normalize(phrase).split()
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def singular(words: str) -> str:
    head, _, last = words.rpartition(" ")
    for suffix, replacement in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("oes", "o"), ("s", "")):
        if last.endswith(suffix) and len(last) > len(suffix) + 1 and not last.endswith("ss"):
            last = last[: -len(suffix)] + replacement
            break
    return f"{head} {last}".strip()


def variants(words: str) -> list[str]:
    """Other ways to say a name: "table2" -> "table 2", "bottle of water" -> "water bottle", "aisle b's rack" ->
    "aisle b rack"."""
    spaced = re.sub(r"(?<=[a-z])(?=\d)", " ", words)
    head, of, tail = words.partition(" of ")
    unpossessed = re.sub(r"(?<=[a-z0-9])'s\b", "", words)
    return [w for w in (spaced, f"{tail} {head}" if of else "", numbered(words), unpossessed) if w and w != words]


def numbered(words: str) -> str:
    """An ordinal in front as the number at the end, the way things are named: "the third drone" -> "drone 3"."""
    first, _, rest = strip_articles(words).partition(" ")
    digits = _ORDINAL_DIGITS.match(first)
    number = int(digits["n"]) if digits else _ORDINALS.get(first)
    return f"{rest} {number}" if number and rest else words


def split_list(phrase: str) -> list[str]:
    """"the apple, the cup and the bread" -> its items; "both X and Y" loses its "both"."""
    items = [item for item in _LIST.split(normalize(phrase)) if item]
    if len(items) > 1 and items[0].startswith("both "):
        items[0] = items[0].removeprefix("both ")
    return items or [normalize(phrase)]


def split_qualifier(words: str) -> tuple[str, str | None]:
    """"the cup that is on the table" -> ("the cup", "the table"), "the rack there" -> ("the rack", "there");
    no location -> (words, None)."""
    match = _QUALIFIER.match(words) or _THERE.match(words)
    return (match["head"], match["where"]) if match else (words, None)


def read_phrase(phrase: str) -> NounPhrase:
    """Determiners and quantities off the front, number words as digits elsewhere ("table two")."""
    tokens = normalize(phrase).split()
    every, count, definite = False, None, False
    while len(tokens) > 1 and (tokens[0] in _ARTICLES | _EVERY | _ANY | {"both", "of"} or _number(tokens[0])):
        word = tokens.pop(0)
        number = _number(word)
        definite = definite or word in _DEFINITE
        if word in _EVERY or word == "both":
            every, count = True, 2 if word == "both" else count
        elif number is not None or word in _ANY:
            count, every = number or 1, every or (definite and number is not None)
    words = " ".join(tokens)
    return NounPhrase(words if words in PRONOUNS else " ".join(_digits(tokens)), count, every)


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    if word in _UNITS:
        return _UNITS.index(word) or None
    return _TENS.get(word)


def _digits(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for word in tokens:
        number = _number(word) if word in _UNITS or word in _TENS else None
        if number is not None and out and out[-1] in {str(t) for t in _TENS.values()} and number < 10:
            out[-1] = str(int(out[-1]) + number)
        else:
            out.append(str(number) if number is not None else word)
    return out
