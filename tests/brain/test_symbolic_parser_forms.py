"""Instructions as people write them, from words to goals (parser + grounding together).

The restaurant world comes from conftest; ``home`` is a small house with names that need care:
bed_27, salt_and_pepper beside salt, three cups in different spots, two boxes, a coin with aliases,
a cupboard to put things away in, and one robot of each body (drone, quadruped, humanoid, fixed arm).
"""

from __future__ import annotations

from typing import Any

import pytest

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.grounding import build_goals
from brain.symbolic.vocabulary import Vocabulary
from brain.symbolic.parser import parse
from brain.world import WorldView

_HOME_NODES: list[tuple[str, str, str | None, str | None, dict[str, Any]]] = [
    ("bedroom", "place", None, None, {}),
    ("hall", "place", None, None, {}),
    ("utility_room", "place", None, None, {}),
    ("bed_27", "furniture", "bedroom", "at", {}),
    ("hall_table", "furniture", "hall", "at", {}),
    ("shelf", "furniture", "utility_room", "at", {}),
    ("packing_box", "container", "utility_room", "at", {}),
    ("shoe_box", "container", "hall", "at", {}),
    ("cupboard", "container", "hall", "at", {"open": False}),
    ("fridge", "container", "hall", "at", {"open": False}),
    ("hat", "object", "hall_table", "on", {}),
    ("plate", "object", "hall_table", "on", {}),
    ("coin", "object", "hall_table", "on", {"aliases": ["silver coin", "dollar"], "home": "shoe_box"}),
    ("battery", "object", "shelf", "on", {}),
    ("salt", "object", "shelf", "on", {}),
    ("salt_and_pepper", "object", "hall_table", "on", {}),
    ("cup_1", "object", "hall_table", "on", {}),
    ("cup_2", "object", "shelf", "on", {}),
    ("cup_3", "object", "packing_box", "in", {}),
]
_HOME_ROBOTS = {"courier": "drone", "rover": "quadruped", "helper": "humanoid", "kitchen_arm": "fixed_single_arm"}


def make_home(extra_nodes: tuple[tuple[str, str, str | None, str | None, dict[str, Any]], ...] = (),
              robots: dict[str, str] | None = None) -> WorldView:
    nodes = [{"name": n, "kind": k, "parent": p, "relation": r, "props": props}
             for n, k, p, r, props in [*_HOME_NODES, *extra_nodes]]
    fleet = [{"name": name, "embodiment": body} for name, body in (robots or _HOME_ROBOTS).items()]
    return WorldView.from_dicts(fleet, {"nodes": nodes, "version": 1})


@pytest.fixture
def home() -> WorldView:
    return make_home()


def _goals(text: str, world: WorldView) -> list[Goal]:
    return build_goals(parse(text, world.robots), Vocabulary(world))


def _goals_and_notes(text: str, world: WorldView) -> tuple[list[Goal], list[str]]:
    vocab = Vocabulary(world)
    return build_goals(parse(text, world.robots), vocab), vocab.notes


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Put the silver coin and battery into the packing box.",
         [Deliver("coin", "packing_box", "in"), Deliver("battery", "packing_box", "in")]),
        ("put the hat, the plate and the battery on bed 27",
         [Deliver("hat", "bed_27", "on"), Deliver("plate", "bed_27", "on"), Deliver("battery", "bed_27", "on")]),
        ("put both the hat and the plate on bed 27", [Deliver("hat", "bed_27", "on"), Deliver("plate", "bed_27", "on")]),
        ("put the hat & the plate on bed 27", [Deliver("hat", "bed_27", "on"), Deliver("plate", "bed_27", "on")]),
        ("open the fridge and the cupboard", [SetOpen("fridge", True), SetOpen("cupboard", True)]),
        ("pick up the hat and the battery", [Hold("hat"), Hold("battery")]),
    ],
)
def test_several_objects_under_one_verb(home: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, home) == goals


def test_a_list_with_commas_in_the_restaurant(world: WorldView) -> None:
    assert _goals("bring the apple, the cup and the milk to table 1", world) == [
        Deliver("apple", "table_1", "on"), Deliver("cup", "table_1", "on"), Deliver("milk", "table_1", "on")]


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("put the salt and pepper on bed 27", [Deliver("salt_and_pepper", "bed_27", "on")]),
        ("put the Salt-and-Pepper on bed 27", [Deliver("salt_and_pepper", "bed_27", "on")]),
        ("put the salt on bed 27", [Deliver("salt", "bed_27", "on")]),
        ("put the hat and the salt and pepper on bed 27",
         [Deliver("hat", "bed_27", "on"), Deliver("salt_and_pepper", "bed_27", "on")]),
        ("put the salt and the hat on bed 27", [Deliver("salt", "bed_27", "on"), Deliver("hat", "bed_27", "on")]),
    ],
)
def test_a_name_with_and_in_it_is_not_split(home: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, home) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("pick up the cup and put it in the fridge", [Deliver("cup", "fridge", "in")]),
        ("pick up the cup and hand it to the waiter", [Hold("cup", "waiter")]),
        ("put the plate on table 1 and close the fridge", [Deliver("plate", "table_1", "on"), SetOpen("fridge", False)]),
        ("pick up the cup and the plate and put them on table 1",
         [Deliver("cup", "table_1", "on"), Deliver("plate", "table_1", "on")]),
        ("take the apple and the cup to table 2, then bring them to the serving table",
         [Deliver("apple", "table_2", "on"), Deliver("cup", "table_2", "on"),
          Deliver("apple", "serving_table", "on"), Deliver("cup", "serving_table", "on")]),
        ("put the apple in the fridge and close it", [Deliver("apple", "fridge", "in"), SetOpen("fridge", False)]),
    ],
)
def test_and_joins_clauses_and_pronouns_refer_back(world: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, world) == goals


@pytest.mark.parametrize(
    "text",
    ["Put the hat on the bed 27.", "put the hat on bed 27!", "Put the hat on the bed 27?", '"Put the hat on the bed 27."',
     "put the hat on 'bed 27'.", "Put the hat on the bed_27.", "put the hat on bed27", "put the hat on Bed-27 please.",
     "put the hat on bed twenty seven", "Could you put the hat on bed 27, please?"],
)
def test_punctuation_and_numbers_in_names(home: WorldView, text: str) -> None:
    assert _goals(text, home) == [Deliver("hat", "bed_27", "on")]


@pytest.mark.parametrize("text", ["bring the cup to table 2.", "Bring the cup to table two!", "bring the cup to table_2"])
def test_a_full_stop_after_a_number_ends_the_sentence(world: WorldView, text: str) -> None:
    assert _goals(text, world) == [Deliver("cup", "table_2", "on")]


@pytest.mark.parametrize(
    ("text", "goals", "notes"),
    [
        ("The cup is originally in the fridge. Bring it to table 2.", [Deliver("cup", "table_2", "on")],
         ["the instruction says cup is in fridge, but the scene has it on kitchen_table; planning from the scene"]),
        ("The milk is in the fridge. Bring the milk to table 1.", [Deliver("milk", "table_1", "on")], []),
        ("The milk is on the kitchen table. Bring the milk to table 1.", [Deliver("milk", "table_1", "on")],
         ["the instruction says milk is on kitchen_table, but the scene has it in fridge; planning from the scene"]),
        ("The fridge is closed, open it", [SetOpen("fridge", True)], []),
        ("The fridge is open. Put the apple in the fridge.", [Deliver("apple", "fridge", "in")],
         ["the instruction says fridge is open, but the scene has it closed; planning from the scene"]),
        ("The cup and the plate are on the pass counter. Go to the pass.", [Reach("pass")],
         ["the instruction says cup is on pass_counter, but the scene has it on kitchen_table; planning from the scene"]),
        ("There is an apple in the kitchen. Bring it to table 1.", [Deliver("apple", "table_1", "on")], []),
        ("The waiter is at the kitchen; go to the pass", [Reach("pass")],
         ["the instruction says waiter is at kitchen, but the scene has it at dining; planning from the scene"]),
        ("The sky is blue. Go to the pass.", [Reach("pass")],
         ["ignored 'the sky is blue': only 'X is in/on Y' and 'X is open/closed' are checked"]),
    ],
)
def test_statements_of_fact_are_checked_not_done(world: WorldView, text: str, goals: list[Goal], notes: list[str]) -> None:
    assert _goals_and_notes(text, world) == (goals, notes)


def test_a_fact_about_an_unknown_thing_is_ignored_with_a_note(world: WorldView) -> None:
    goals, notes = _goals_and_notes("The unicorn is in the fridge. Go to the pass.", world)
    assert goals == [Reach("pass")]
    assert notes[0].startswith("ignored 'the unicorn is in the fridge': unknown thing 'unicorn'")


def test_facts_alone_ask_for_nothing(world: WorldView) -> None:
    with pytest.raises(PlanningError, match="'the milk is on the kitchen table' states how things are but asks for "
                                            "nothing; add what to do"):
        _goals("The milk is on the kitchen table.", world)


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("put the hat in the box which is in the utility room", [Deliver("hat", "packing_box", "in")]),
        ("put the hat in the packing box which is in the utility room", [Deliver("hat", "packing_box", "in")]),
        ("put the hat in the box that is in the hall", [Deliver("hat", "shoe_box", "in")]),
        ("bring the cup that is on the shelf to bed 27", [Deliver("cup_2", "bed_27", "on")]),
        ("bring the cup which is located in the packing box to bed 27", [Deliver("cup_3", "bed_27", "on")]),
        ("pick up the cup on the hall table", [Hold("cup_1")]),
        ("pick up the cup in the hall", [Hold("cup_1")]),
        ("hand the cup from the packing box to the rover", [Hold("cup_3", "rover", "packing_box")]),
    ],
)
def test_a_location_picks_among_things_of_the_same_name(home: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, home) == goals


def test_a_location_that_fits_none_of_the_candidates_lists_where_they_are(home: WorldView) -> None:
    with pytest.raises(PlanningError, match=r"none of cup_1 \(on hall_table\), cup_2 \(on shelf\), cup_3 \(in packing_box\) "
                                            "is at bedroom; name one of them"):
        _goals("pick up the cup in the bedroom", home)


def test_a_location_qualifies_a_destination_in_the_restaurant(world: WorldView) -> None:
    assert _goals("bring the cup to the table in the pass", world) == [Deliver("cup", "serving_table", "on")]


def test_a_wrong_location_for_the_only_candidate_is_a_note(world: WorldView) -> None:
    assert _goals_and_notes("bring the apple in the fridge to table 1", world) == (
        [Deliver("apple", "table_1", "on")], ["apple is on kitchen_table, not at fridge; using it anyway"])


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("The quadrotor lands on the table with the plate in the basket.", [Hold("plate", "courier"),
                                                                            Reach("hall_table", "courier")]),
        ("the drone flies to the hall", [Reach("hall", "courier")]),
        ("The drone flies to bed 27 carrying the hat", [Hold("hat", "courier"), Reach("bed_27", "courier")]),
        ("the dog brings the hat to bed 27", [Deliver("hat", "bed_27", "on", "rover")]),
        ("the robot dog picks up the battery", [Hold("battery", "rover")]),
        ("the quadruped goes to the hall", [Reach("hall", "rover")]),
        ("the humanoid puts the hat on bed 27", [Deliver("hat", "bed_27", "on", "helper")]),
        ("the arm picks up the battery", [Hold("battery", "kitchen_arm")]),
        ("courier goes to the hall", [Reach("hall", "courier")]),
        ("rover fetches the hat and carries it to bed 27", [Deliver("hat", "bed_27", "on", "rover")]),
        ("the helper should take the hat to bed 27", [Deliver("hat", "bed_27", "on", "helper")]),
        ("the robot picks up the hat", [Hold("hat")]),
    ],
)
def test_a_robot_as_the_subject(home: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, home) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("waiter brings the cup to table 1", [Deliver("cup", "table_1", "on", "waiter")]),
        ("the waiter goes to the pass", [Reach("pass", "waiter")]),
        ("runner picks up the apple", [Hold("apple", "runner")]),
        ("pass_arm puts the plate on the serving table", [Deliver("plate", "serving_table", "on", "pass_arm")]),
        ("the humanoid carries the plate to table 2", [Deliver("plate", "table_2", "on", "waiter")]),
        ("the arm places the bowl on the serving table", [Deliver("bowl", "serving_table", "on", "pass_arm")]),
        ("the runner opens the fridge and closes it", [SetOpen("fridge", True, "runner"),
                                                       SetOpen("fridge", False, "runner")]),
    ],
)
def test_third_person_verbs_in_the_restaurant(world: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, world) == goals


def test_a_body_word_shared_by_two_robots_asks_for_the_name() -> None:
    world = make_home(robots={"courier": "drone", "scout": "drone"})
    with pytest.raises(PlanningError, match="'quadrotor' names no single robot: it could be courier, scout; name the robot"):
        _goals("the quadrotor flies to the hall", world)


@pytest.mark.parametrize(
    ("text", "objs"),
    [
        ("bring all the cups to bed 27", ["cup_1", "cup_2", "cup_3"]),
        ("bring all of the cups to bed 27", ["cup_1", "cup_2", "cup_3"]),
        ("bring the cups to bed 27", ["cup_1", "cup_2", "cup_3"]),
        ("bring every cup to bed 27", ["cup_1", "cup_2", "cup_3"]),
        ("bring each cup to bed 27", ["cup_1", "cup_2", "cup_3"]),
        ("bring the three cups to bed 27", ["cup_1", "cup_2", "cup_3"]),
        ("bring two cups to bed 27", ["cup_1", "cup_2"]),
        ("bring 2 cups to bed 27", ["cup_1", "cup_2"]),
        ("bring a cup to bed 27", ["cup_1"]),
        ("bring any cup to bed 27", ["cup_1"]),
        ("bring one of the cups to bed 27", ["cup_1"]),
        ("bring all the cups on the shelf to bed 27", ["cup_2"]),
        ("bring everything on the hall table to bed 27", ["coin", "cup_1", "hat", "plate", "salt_and_pepper"]),
        ("put the hats on bed 27", ["hat"]),
    ],
)
def test_plurals_and_determiners(home: WorldView, text: str, objs: list[str]) -> None:
    assert _goals(text, home) == [Deliver(obj, "bed_27", "on") for obj in objs]


def test_choosing_any_one_says_which_was_chosen(home: WorldView) -> None:
    assert _goals_and_notes("bring a cup to bed 27", home)[1] == ["'cup': chose cup_1 of cup_1, cup_2, cup_3"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bring both cups to bed 27", "'cups' asks for 2 but the scene has 3: cup_1, cup_2, cup_3"),
        ("bring four cups to bed 27", "'cups' asks for 4 but the scene has only: cup_1, cup_2, cup_3"),
        ("bring the cup to bed 27", "'cup' is ambiguous: it could be cup_1, cup_2, cup_3; say which, or 'a cup' "
                                    "for any one"),
        ("put the hat in the box", "'box' is ambiguous: it could be packing_box, shoe_box"),
    ],
)
def test_quantities_that_do_not_fit_are_explained(home: WorldView, text: str, message: str) -> None:
    with pytest.raises(PlanningError, match=message):
        _goals(text, home)
