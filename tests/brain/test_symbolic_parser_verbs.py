"""Everyday verbs, deliveries with no stated destination, and what unreadable text is told."""

from __future__ import annotations

import pytest

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.grounding import build_goals
from brain.symbolic.parser import parse
from brain.symbolic.vocabulary import Vocabulary
from brain.world import WorldView
from tests.brain.conftest import WorldFactory
from tests.brain.test_symbolic_parser_forms import make_home


def _goals(text: str, world: WorldView) -> list[Goal]:
    return build_goals(parse(text, world.robots), Vocabulary(world))


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("retrieve the cup", [Hold("cup")]),
        ("fetch the cup", [Hold("cup")]),
        ("get the cup", [Hold("cup")]),
        ("go get the cup", [Hold("cup")]),
        ("go and grab the cup", [Hold("cup")]),
        ("grab the cup from the kitchen table", [Hold("cup", None, "kitchen_table")]),
        ("take the milk out of the fridge", [Hold("milk", None, "fridge")]),
        ("hold the bowl", [Hold("bowl")]),
        ("give the plate to the waiter", [Hold("plate", "waiter")]),
        ("hand the cup to the waiter", [Hold("cup", "waiter")]),
        ("deliver the cup to table 1", [Deliver("cup", "table_1", "on")]),
        ("bring the cup back to the kitchen table", [Deliver("cup", "kitchen_table", "on")]),
        ("bring back the plate to the serving table", [Deliver("plate", "serving_table", "on")]),
        ("move the cup to table 2", [Deliver("cup", "table_2", "on")]),
        ("return the cup to the kitchen table", [Deliver("cup", "kitchen_table", "on")]),
        ("carry the bowl over to table 1", [Deliver("bowl", "table_1", "on")]),
        ("load the apple into the fridge", [Deliver("apple", "fridge", "in")]),
        ("unload the plate from the pass counter onto the serving table",
         [Deliver("plate", "serving_table", "on", None, "pass_counter")]),
        ("drop off the cup at table 1", [Deliver("cup", "table_1", "on")]),
        ("drop the cup off at table 1", [Deliver("cup", "table_1", "on")]),
        ("set the cup down on table 1", [Deliver("cup", "table_1", "on")]),
        ("place the apple inside the fridge", [Deliver("apple", "fridge", "in")]),
        ("stock the fridge with the apple", [Deliver("apple", "fridge", "in")]),
        ("store the apple in the fridge", [Deliver("apple", "fridge", "in")]),
        ("put the apple away in the fridge", [Deliver("apple", "fridge", "in")]),
        ("put the apple on the fridge", [Deliver("apple", "fridge", "on")]),
        ("the cup should be on table 1", [Deliver("cup", "table_1", "on")]),
        ("the apple needs to go in the fridge", [Deliver("apple", "fridge", "in")]),
    ],
)
def test_everyday_verbs(world: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, world) == goals


@pytest.mark.parametrize(
    "text",
    ["hand me the cup", "give me the cup", "bring me the cup", "fetch me the cup", "get me the cup",
     "bring the cup to me", "bring the cup", "bring the cup here", "bring back the cup", "pass me the cup",
     "bring the cup to the customer", "find me the cup", "bring the cup through"],
)
def test_to_me_means_the_handoff_point(world: WorldView, text: str) -> None:
    assert _goals(text, world) == [Deliver("cup", "pass_counter", "on")]  # pass_counter has handoff: true


def test_to_me_prefers_a_node_named_for_a_person() -> None:
    world = make_home((("user_chair", "furniture", "hall", "at", {}),))
    assert _goals("hand me the hat", world) == [Deliver("hat", "user_chair", "on")]


def test_to_me_with_no_handoff_point_says_how_to_fix_it() -> None:
    with pytest.raises(PlanningError, match="this scene has no place to hand things to you; say where, e.g. 'bring it "
                                            "to <place>', or mark a furniture node with the prop 'handoff: true'"):
        _goals("hand me the hat", make_home())


def test_two_handoff_points_ask_which(make_world: WorldFactory) -> None:
    world = make_world(props={"serving_table": {"handoff": True}})
    with pytest.raises(PlanningError, match=r"several places to hand things over \(pass_counter, serving_table\)"):
        _goals("bring me the cup", world)


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("put away the hat", [Deliver("hat", "cupboard", "in")]),
        ("put the hat away", [Deliver("hat", "cupboard", "in")]),
        ("put the hat back", [Deliver("hat", "cupboard", "in")]),
        ("store the hat", [Deliver("hat", "cupboard", "in")]),
        ("return the hat", [Deliver("hat", "cupboard", "in")]),
        ("tidy away the hat and the plate", [Deliver("hat", "cupboard", "in"), Deliver("plate", "cupboard", "in")]),
        ("put away the coin", [Deliver("coin", "shoe_box", "in")]),  # its 'home' prop
        ("pick up the hat and put it away", [Deliver("hat", "cupboard", "in")]),
    ],
)
def test_put_away_goes_where_things_belong(text: str, goals: list[Goal]) -> None:
    assert _goals(text, make_home()) == goals


def test_put_away_says_where_it_went() -> None:
    vocab = Vocabulary(home := make_home())
    build_goals(parse("put away the hat", home.robots), vocab)
    assert vocab.notes == ["putting hat away in cupboard, the scene's storage"]


def test_put_away_with_no_obvious_place_asks_where(world: WorldView) -> None:
    with pytest.raises(PlanningError, match="cannot tell where to put cup away \\(the scene has no storage node\\); say "
                                            "where, e.g. 'put the cup in <place>', or give cup a 'home' prop"):
        _goals("put away the cup", world)


def test_a_storage_prop_settles_which_storage() -> None:
    world = make_home((("closet", "container", "hall", "at", {}),))
    with pytest.raises(PlanningError, match="it could be closet, cupboard"):
        _goals("put away the hat", world)
    world = make_home((("closet", "container", "hall", "at", {"storage": True}),))
    assert _goals("put away the hat", world) == [Deliver("hat", "closet", "in")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frobnicate the cup", "cannot parse 'frobnicate the cup': no known verb; try 'bring the cup to <place>'"),
        ("brnig the cup to table 1", "cannot parse 'brnig the cup to table 1': unknown verb 'brnig'; "
                                     "try 'bring the cup to table 1'"),
        ("put the cup", "cannot parse 'put the cup': 'put' needs where; try 'put the cup on <place>'"),
        ("move the cup near the sink", "cannot parse 'move the cup near the sink': 'move' needs where; "
                                       "try 'move the cup to the sink'"),
        ("go home", "cannot parse 'go home': 'go' needs where; try 'go to home'"),
        ("open", "cannot parse 'open': 'open' needs what; try 'open <container>'"),
        ("load the jeans", "cannot parse 'load the jeans': 'load' needs where; try 'load the jeans on <place>'"),
        ("can you move it?", "cannot parse 'move it': nothing says where it should go; try 'move it to <place>'"),
        ("the cup is on the table. fix that", "cannot parse 'fix that': nothing says where that should go; "
                                              "try 'move that to <place>'"),
        ("the apple", "cannot parse 'the apple': no known verb; try 'bring the apple to <place>'"),
        ("dance wildly", "cannot parse 'dance wildly': no known verb; try 'bring <object> to <place>'"),
        ("", "cannot parse '': it holds no instruction; try 'bring the <object> to <place>'"),
        ("Thanks!", "cannot parse 'Thanks!': it holds no instruction; try 'bring the <object> to <place>'"),
    ],
)
def test_unparsable_text_gets_one_reason_and_the_nearest_wording(text: str, message: str) -> None:
    with pytest.raises(PlanningError) as info:
        parse(text, ["waiter"])
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("I need the plate on table 1.", [Deliver("plate", "table_1", "on")]),
        ("I'd like the apple on the serving table.", [Deliver("apple", "serving_table", "on")]),
        ("The customer wants the cup on table 2.", [Deliver("cup", "table_2", "on")]),
        ("Can I have the plate on table 2?", [Deliver("plate", "table_2", "on")]),
        ("Table 2 needs a cup.", [Deliver("cup", "table_2", "on")]),
        ("I need the cup.", [Deliver("cup", "pass_counter", "on")]),
        ("Table 1 ordered the milk; please bring it over.", [Deliver("milk", "table_1", "on")]),
        ("Milk goes in the fridge, please.", [Deliver("milk", "fridge", "in")]),
        ("The milk is in the fridge. It belongs on table 1.", [Deliver("milk", "table_1", "on")]),
        ("The plate on the pass counter goes to table 2.", [Deliver("plate", "table_2", "on")]),
        ("Apple in the fridge, please.", [Deliver("apple", "fridge", "in")]),
        ("Open the fridge and put the apple inside.", [SetOpen("fridge", True), Deliver("apple", "fridge", "in")]),
        ("Would you mind bringing the cup to table 2?", [Deliver("cup", "table_2", "on")]),
        ("Could someone place the apple on the serving table?", [Deliver("apple", "serving_table", "on")]),
        ("Fetch the cup for table 2.", [Deliver("cup", "table_2", "on")]),
        ("Retrieve the milk from the fridge for table 1.", [Deliver("milk", "table_1", "on", None, "fridge")]),
        ("Put the milk back in the fridge before it goes off.", [Deliver("milk", "fridge", "in")]),
        ("Move the apple that's on the kitchen table to table 2.", [Deliver("apple", "table_2", "on")]),
        ("Serve the bowl at table 1.", [Deliver("bowl", "table_1", "on")]),
        ("Chill the apple in the fridge.", [Deliver("apple", "fridge", "in")]),
        ("Send the waiter to the pass.", [Reach("pass", "waiter")]),
        ("Runner, head over to the pass.", [Reach("pass", "runner")]),
        ("Bring the cup to table 1, then bring it back.", [Deliver("cup", "table_1", "on"),
                                                           Deliver("cup", "pass_counter", "on")]),
    ],
)
def test_wishes_needs_and_requests_that_name_no_verb_first(world: WorldView, text: str, goals: list[Goal]) -> None:
    assert _goals(text, world) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Take the hat to the bedroom.", [Deliver("hat", "bed_27", "on")]),  # the bedroom's only furniture
        ("Please get the coin of silver to bed 27.", [Deliver("coin", "bed_27", "on")]),  # "X of Y" as "Y X"
        ("Take the hat to the bedroom bed.", [Deliver("hat", "bed_27", "on")]),  # a name the phrase ends with
        ("Take the battery pack to bed 27.", [Deliver("battery", "bed_27", "on")]),  # ... or starts with
    ],
)
def test_names_inside_longer_phrases(text: str, goals: list[Goal]) -> None:
    assert _goals(text, make_home()) == goals
