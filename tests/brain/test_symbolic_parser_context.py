"""Words around a request: remarks, facts that name things, a robot addressed by name, a destination narrowed
afterwards, "X too", verbless pairs, and "it"/"the lid"/"the box" for what was just named (the house world)."""

from __future__ import annotations

import pytest

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.grounding import build_goals
from brain.symbolic.parser import parse
from brain.symbolic.vocabulary import Vocabulary
from tests.brain.test_symbolic_parser_forms import make_home


def _goals(text: str) -> list[Goal]:
    world = make_home()
    return build_goals(parse(text, world.robots), Vocabulary(world))


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("I spilled my tea. Bring the hat to bed 27.", [Deliver("hat", "bed_27", "on")]),
        ("I'm off to bed, take the plate through and leave it on bed 27 for me.", [Deliver("plate", "bed_27", "on")]),
        ("We have guests tonight; put the salt on the hall table.", [Deliver("salt", "hall_table", "on")]),
    ],
)
def test_a_remark_before_a_request_is_only_context(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


def test_a_remark_alone_is_still_unreadable() -> None:
    with pytest.raises(PlanningError, match=r"cannot parse 'i cut my finger': no known verb; try 'bring <object> "):
        _goals("I cut my finger.")


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Somebody left the hat on the hall table. Take it to the bedroom.", [Deliver("hat", "bed_27", "on")]),
        ("Someone left the battery on the shelf, put it in the packing box.",
         [Deliver("battery", "packing_box", "in")]),
        ("Can someone bring the hat to bed 27?", [Deliver("hat", "bed_27", "on")]),  # "someone" asked: a filler
    ],
)
def test_somebody_left_x_is_a_fact_that_names_it(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Can you find my silver coin? It's on the hall table. Put it in the packing box.",
         [Deliver("coin", "packing_box", "in")]),
        ("Could you find the battery and put it on bed 27?", [Deliver("battery", "bed_27", "on")]),
        ("Locate a cup and hold it.", [Hold("cup_1")]),
    ],
)
def test_find_only_says_which_thing_later_words_are_about(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


def test_find_alone_asks_for_nothing_and_an_unknown_thing_is_named() -> None:
    with pytest.raises(PlanningError, match="'find the hat' states how things are but asks for nothing"):
        _goals("find the hat")
    with pytest.raises(PlanningError, match="unknown thing 'wallet'"):
        _goals("Could you find my wallet and put it on bed 27?")


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("take the hat to the hall, the shoe box is fine", [Deliver("hat", "shoe_box", "in")]),
        ("bring the plate to the utility room, on the shelf is fine", [Deliver("plate", "shelf", "on")]),
        ("carry the coin to the hall, the hall table will do", [Deliver("coin", "hall_table", "on")]),
    ],
)
def test_a_spot_named_after_a_place_is_where_in_it(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


def test_x_is_fine_with_nothing_moved_states_only() -> None:
    with pytest.raises(PlanningError, match="'the hat is fine' states how things are but asks for nothing"):
        _goals("The hat is fine.")


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Put the hat in the fridge and shut it.", [Deliver("hat", "fridge", "in"), SetOpen("fridge", False)]),
        ("Chuck the plate in the cupboard and close the door.",
         [Deliver("plate", "cupboard", "in"), SetOpen("cupboard", False)]),
        ("Pop the coin into the fridge, then close the lid.",
         [Deliver("coin", "fridge", "in"), SetOpen("fridge", False)]),
        ("Throw the hat and the plate in the shoe box, then close the box.",
         [Deliver("hat", "shoe_box", "in"), Deliver("plate", "shoe_box", "in"), SetOpen("shoe_box", False)]),
        ("Toss the battery in the packing box.", [Deliver("battery", "packing_box", "in")]),
        ("Keep the salt in the cupboard.", [Deliver("salt", "cupboard", "in")]),
    ],
)
def test_new_verbs_and_the_container_just_named(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


def test_the_lid_with_nothing_named_before_is_still_unknown() -> None:
    with pytest.raises(PlanningError, match="unknown thing to open 'lid'"):
        _goals("close the lid")


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Put the hat on bed 27, and the plate too.",
         [Deliver("hat", "bed_27", "on"), Deliver("plate", "bed_27", "on")]),
        ("Put the hat in the shoe box, the coin as well.",
         [Deliver("hat", "shoe_box", "in"), Deliver("coin", "shoe_box", "in")]),
        ("The hat is on the hall table, put it in the fridge and the battery too.",
         [Deliver("hat", "fridge", "in"), Deliver("battery", "fridge", "in")]),
        ("pick up the hat and the plate too", [Hold("hat"), Hold("plate")]),
    ],
)
def test_x_too_is_the_clause_before_again(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Hat on bed 27 and plate on the shelf, please.",
         [Deliver("hat", "bed_27", "on"), Deliver("plate", "shelf", "on")]),
        ("put batteries in the packing box and salt and pepper on bed 27",
         [Deliver("battery", "packing_box", "in"), Deliver("salt_and_pepper", "bed_27", "on")]),
    ],
)
def test_pairs_without_determiners(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Courier, go and wait in the hall.", [Reach("hall", "courier")]),
        ("Drone, wait at the utility room.", [Reach("utility_room", "courier")]),
        ("Helper, grab the hat from the hall table and keep hold of it.", [Hold("hat", "helper", "hall_table")]),
        ("Rover, hang on to the plate.", [Hold("plate", "rover")]),
        ("hold on to the coin", [Hold("coin")]),
    ],
)
def test_a_robot_addressed_by_name_and_holding_on(text: str, goals: list[Goal]) -> None:
    assert _goals(text) == goals
