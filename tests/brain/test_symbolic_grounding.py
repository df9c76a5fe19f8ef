from __future__ import annotations

import pytest

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Hold, Reach, SetOpen
from brain.symbolic.grounding import Vocabulary, build_goals
from brain.symbolic.parser import parse
from brain.world import WorldView


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
