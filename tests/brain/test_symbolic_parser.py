from __future__ import annotations

import pytest

from brain.errors import PlanningError
from brain.symbolic.parser import Clause, parse

ROBOTS = ["runner", "waiter", "pass_arm"]


def _verbs(text: str) -> list[tuple[str, ...]]:
    return [(c.verb, *(x for x in (c.obj, c.source, c.target, c.relation, c.robot) if x)) for c in parse(text, ROBOTS)]


def test_pick_navigate_place_sequence() -> None:
    assert _verbs("Pick up the apple from the kitchen_table, navigate to Table 2, place the apple on table_2") == [
        ("pick", "the apple", "the kitchen table"),
        ("go", "table 2"),
        ("place", "the apple", "table 2", "on"),
    ]


@pytest.mark.parametrize("verb", ["bring", "take", "carry", "deliver"])
def test_carry_forms(verb: str) -> None:
    assert _verbs(f"{verb} the cup to the serving table") == [("carry", "the cup", "the serving table")]


def test_carry_with_a_source_and_into() -> None:
    assert _verbs("take the milk from the fridge into the pass counter") == [
        ("carry", "the milk", "the fridge", "the pass counter", "in")]


@pytest.mark.parametrize(
    ("text", "relation"),
    [("put the apple in the fridge", "in"), ("place the apple into the fridge", "in"),
     ("put the apple on the pass counter", "on"), ("set the apple down on top of the pass counter", "on")],
)
def test_put_and_place_with_relations(text: str, relation: str) -> None:
    (clause,) = parse(text, ROBOTS)
    assert (clause.verb, clause.obj, clause.relation) == ("place", "the apple", relation)


def test_open_close_and_go() -> None:
    assert _verbs("open the fridge, then close the fridge door; go to the pass. Navigate to the dining") == [
        ("open", "the fridge"), ("close", "the fridge"), ("go", "the pass"), ("go", "the dining")]


@pytest.mark.parametrize(
    "text", ["robot waiter go to the pass", "waiter: go to the pass", "waiter go to the pass", "waiter, go to the pass",
             "Robot waiter: please go to the pass"],
)
def test_robot_prefixes(text: str) -> None:
    assert parse(text, ROBOTS) == [Clause("go", "go to the pass", target="the pass", robot="waiter")]


def test_robot_prefix_applies_to_the_rest_of_its_sentence_only() -> None:
    clauses = parse("runner: pick up the cup and put it on the pass counter. go to the pass", ROBOTS)
    assert [c.robot for c in clauses] == ["runner", "runner", None]
    assert clauses[1].obj == "it"


def test_unknown_robot_word_is_kept_for_grounding_to_reject() -> None:
    assert parse("robot r2d2 go to the pass", ROBOTS)[0].robot == "r2d2"


def test_several_goals_joined_by_and_semicolon_and_period() -> None:
    verbs = [c.verb for c in parse("bring the cup to table 1 and bring the plate to table 2; open the fridge. "
                                   "Close the fridge", ROBOTS)]
    assert verbs == ["carry", "carry", "open", "close"]


@pytest.mark.parametrize("text", ["dance wildly", "the apple", ""])
def test_unparsable_text_says_what_is_supported(text: str) -> None:
    with pytest.raises(PlanningError, match="cannot parse .*supported forms are"):
        parse(text, ROBOTS)
