from __future__ import annotations

import pytest

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Hold, Reach, SetOpen
from brain.symbolic.grounding import Vocabulary, build_goals
from brain.symbolic.parser import parse
from brain.world import WorldView
from tests.brain.test_symbolic_parser_forms import make_home


def _goals(text: str, world: WorldView) -> list[object]:
    return build_goals(parse(text, world.robots), Vocabulary(world))


@pytest.mark.parametrize(
    ("phrase", "name"),
    [("the apple", "apple"), ("apples", "apple"), ("Table 2", "table_2"), ("table_2", "table_2"),
     ("serving table", "serving_table"), ("the counter", "pass_counter"), ("the Soup Pot", "soup_pot")],
)
def test_phrases_name_scene_nodes(world: WorldView, phrase: str, name: str) -> None:
    assert Vocabulary(world).node(phrase, ("object", "furniture"), "thing") == name


def test_unknown_object_lists_the_known_ones(world: WorldView) -> None:
    with pytest.raises(PlanningError) as info:
        _goals("bring the banana to table 2", world)
    assert str(info.value) == "unknown object 'banana'; known objects: apple, bowl, cup, milk, plate, soup_pot"


def test_ambiguous_names_list_the_candidates(world: WorldView) -> None:
    with pytest.raises(PlanningError, match="'table' is ambiguous: it could be kitchen_table, serving_table, table_1, table_2"):
        _goals("bring the cup to the table", world)


def test_wrong_kind_is_explained(world: WorldView) -> None:
    with pytest.raises(PlanningError, match="'table 1' is table_1, a furniture; the object must be an object"):
        _goals("bring table 1 to the pass counter", world)
    with pytest.raises(PlanningError, match="the container must be a container"):
        _goals("open the pass counter", world)


def test_a_place_is_not_a_destination_for_things(world: WorldView) -> None:
    with pytest.raises(PlanningError, match="'dining' is a place; say where in it to put things: table_1, table_2"):
        _goals("bring the cup to the dining", world)


def test_unknown_robot_lists_the_known_ones(world: WorldView) -> None:
    with pytest.raises(PlanningError, match="unknown robot 'r2d2'; known robots: pass_arm, runner, waiter"):
        _goals("robot r2d2 go to the pass", world)


def test_pick_go_place_folds_into_one_goal(world: WorldView) -> None:
    goals = _goals("pick up the apple from the kitchen table, navigate to table 2, place it on table 2", world)
    assert goals == [Deliver("apple", "table_2", "on", None, "kitchen_table")]


def test_each_form_becomes_its_goal(world: WorldView) -> None:
    goals = _goals("pick up the cup; waiter: go to the pass; put the apple in the fridge and close it; "
                   "bring the plate to table 1", world)
    assert goals == [
        Hold("cup"),
        Reach("pass", "waiter"),
        Deliver("apple", "fridge", "in"),
        SetOpen("fridge", False),
        Deliver("plate", "table_1", "on"),
    ]


@pytest.mark.parametrize(
    ("phrase", "name"),
    [("Bed-27", "bed_27"), ("BED_27", "bed_27"), ("bed27", "bed_27"), ("the bed", "bed_27"), ("bed 27s", "bed_27"),
     ("the silver coin", "coin"), ("Silver-Coins", "coin"), ("a dollar", "coin"), ("coins", "coin"),
     ("salt-and-pepper", "salt_and_pepper"), ("Salt And Pepper", "salt_and_pepper"), ("the packing boxes", "packing_box"),
     ("the box in the hall", "shoe_box"), ("the box that is in the utility room", "packing_box"),
     ("the cup on the shelf", "cup_2")],
)
def test_near_miss_names_and_aliases(phrase: str, name: str) -> None:
    assert Vocabulary(make_home()).node(phrase, ("object", "furniture", "container"), "thing") == name


@pytest.mark.parametrize(
    ("phrase", "message"),
    [("the box", "'box' is ambiguous: it could be packing_box, shoe_box; say which, or 'a box' for any one"),
     ("the hatt", "unknown thing 'hatt'; did you mean 'hat'\\? known"),
     ("the cups", "'the cups' names 3 things \\(cup_1, cup_2, cup_3\\); name one thing")],
)
def test_names_that_fit_several_or_none_are_explained(phrase: str, message: str) -> None:
    with pytest.raises(PlanningError, match=message):
        Vocabulary(make_home()).node(phrase, ("object", "furniture", "container"), "thing")


def test_an_alias_shared_by_two_nodes_is_ambiguous() -> None:
    world = make_home((("penny", "object", "shelf", "on", {"aliases": ["coin", "dollar"]}),))
    assert Vocabulary(world).node("the coin", ("object",), "object") == "coin"  # a name beats an alias
    with pytest.raises(PlanningError, match="'dollar' is ambiguous: it could be coin, penny"):
        Vocabulary(world).node("the dollar", ("object",), "object")


@pytest.mark.parametrize(
    ("phrase", "robot"),
    [("courier", "courier"), ("the drone", "courier"), ("quadrotor", "courier"), ("the dog", "rover"),
     ("quadruped", "rover"), ("the humanoid", "helper"), ("the arm", "kitchen_arm"), ("robot rover", "rover"),
     ("Kitchen-Arm", "kitchen_arm")],
)
def test_robots_by_name_or_by_body(phrase: str, robot: str) -> None:
    assert Vocabulary(make_home()).robot(phrase) == robot


def test_a_body_no_robot_has_is_explained(world: WorldView) -> None:
    with pytest.raises(PlanningError, match="'the drone' names no single robot: no robot has a drone body; name the robot"):
        Vocabulary(world).robot("the drone")


def test_them_means_the_last_several_things(world: WorldView) -> None:
    vocab = Vocabulary(world)
    assert vocab.nodes("the cup and the plate", ("object",), "object") == ["cup", "plate"]
    assert vocab.nodes("table 1", ("furniture",), "table") == ["table_1"]
    assert vocab.nodes("them", ("object",), "object") == ["cup", "plate"]
    assert vocab.nodes("it", ("object",), "object") == ["plate"]


def test_where_the_words_take_it_from_chooses_among_same_names() -> None:
    vocab = Vocabulary(make_home())
    assert vocab.nodes("the cup", ("object",), "object", within="shelf") == ["cup_2"]
    assert vocab.nodes("the hat", ("object",), "object", within="shelf") == ["hat"]  # one candidate: the planner notes it
