"""Words said around a request: dashes between clauses, urgency and endearments at the end, remarks that
name things, a place alone, wishes ("X should be on Y", "Y needs X") against commands, and "them"/"there"
for who or where was just named (the house world, and the restaurant from conftest)."""

from __future__ import annotations

import pytest

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Goal, Hold
from brain.symbolic.grounding import build_goals
from brain.symbolic.parser import parse
from brain.symbolic.phrasing import split_qualifier
from brain.symbolic.vocabulary import Vocabulary
from brain.world import WorldView
from tests.brain.test_symbolic_parser_forms import make_home


def _goals_and_notes(text: str, world: WorldView) -> tuple[list[Goal], list[str]]:
    vocab = Vocabulary(world)
    return build_goals(parse(text, world.robots), vocab), vocab.notes


def _goals(text: str, world: WorldView | None = None) -> list[Goal]:
    return _goals_and_notes(text, world or make_home())[0]


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("The plate is getting dusty \u2013 put it in the cupboard.", [Deliver("plate", "cupboard", "in")]),
        ("Those cups on the shelf are dirty \u2014 bring them to the hall table.",
         [Deliver("cup_2", "hall_table", "on")]),
        ("The hat should be in the hall - bring it to bed 27 please.", [Deliver("hat", "bed_27", "on")]),
        ("Salt and battery - into the packing box.",  # no command after it: a pause, not a clause
         [Deliver("salt", "packing_box", "in"), Deliver("battery", "packing_box", "in")]),
    ],
)
def test_a_dash_before_a_command_separates_clauses(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Put the hat on bed 27, quick.", [Deliver("hat", "bed_27", "on")]),
        ("Bring the plate to the hall table, dear.", [Deliver("plate", "hall_table", "on")]),
        ("Put the coin in the shoe box asap", [Deliver("coin", "shoe_box", "in")]),
        ("Take the battery to bed 27 if you can.", [Deliver("battery", "bed_27", "on")]),
        ("Put the hat on the shelf now, mate.", [Deliver("hat", "shelf", "on")]),
        ("Move the plate to bed 27 when you get a chance, thanks.", [Deliver("plate", "bed_27", "on")]),
        ("Helper, hold on to the plate until I get back.", [Hold("plate", "helper")]),
    ],
)
def test_urgency_thanks_and_how_long_are_no_part_of_the_request(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


def test_after_at_the_end_is_when_not_what() -> None:
    assert _goals("Put the salt in the cupboard and shut it after.")[1:] == _goals("Shut the cupboard.")


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Lay the plate out on bed 27.", [Deliver("plate", "bed_27", "on")]),
        ("Set out the hat on the hall table.", [Deliver("hat", "hall_table", "on")]),
        ("Put the salt out on the shelf.", [Deliver("salt", "shelf", "on")]),
        ("Bring the coin to me at the hall table.", [Deliver("coin", "hall_table", "on")]),
    ],
)
def test_set_out_is_put_and_to_me_at_a_place_is_to_that_place(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("I lost my hat. Bring it to bed 27.", [Deliver("hat", "bed_27", "on")]),
        ("I can't find my silver coin. It should be on the hall table - put it in the shoe box.",
         [Deliver("coin", "shoe_box", "in")]),
        ("Somebody made a mess in the utility room. Put the battery in the box there.",
         [Deliver("battery", "packing_box", "in")]),
    ],
)
def test_a_remark_names_what_a_pronoun_or_there_means_next(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


def test_a_remark_about_unknown_things_adds_no_note() -> None:
    assert _goals_and_notes("I dropped my wallet. Put the hat on bed 27.", make_home()) == (
        [Deliver("hat", "bed_27", "on")], [])


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("My son left the plate on the hall table. Cupboard, please.", [Deliver("plate", "cupboard", "in")]),
        ("There's a hat on the hall table. Into the fridge, please.", [Deliver("hat", "fridge", "in")]),
    ],
)
def test_a_place_alone_after_a_thing_is_named_puts_it_there(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


def test_a_place_alone_with_nothing_named_is_still_unreadable() -> None:
    with pytest.raises(PlanningError, match=r"cannot parse 'shoe box': no known verb; try 'bring <object> "):
        _goals("Shoe box, please.")


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Table 1 needs the plate. Put it on table 2.", [Deliver("plate", "table_2", "on")]),
        ("Table 2 just ordered the apple. Get it from the kitchen table and take it to them.",
         [Deliver("apple", "table_2", "on", None, "kitchen_table")]),
        ("Table 1 asked for the milk; get the milk out of the fridge and bring it over to them.",
         [Deliver("milk", "table_1", "on", None, "fridge")]),
        ("The runner wants the bowl. Hand it to him.", [Hold("bowl", "runner")]),
    ],
)
def test_a_command_replaces_a_wish_and_them_is_who_wished(world: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, world) == goals


def test_a_wish_after_a_command_is_only_a_note(world: WorldView) -> None:
    assert _goals_and_notes("Bring the cup over to table 2. The waiter needs it.", world) == (
        [Deliver("cup", "table_2", "on")], ["'the waiter needs it' is context: the words already say where cup goes"])


def test_there_after_a_name_is_where_it_is() -> None:
    assert split_qualifier("the floor rack there") == ("the floor rack", "there")
