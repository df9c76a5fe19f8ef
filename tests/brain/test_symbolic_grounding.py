from __future__ import annotations

from functools import cache

import pytest

from brain.errors import PlanningError
from brain.symbolic.goals import Deliver, Hold, Reach, SetOpen
from brain.symbolic.grounding import build_goals
from brain.symbolic.parser import parse
from brain.symbolic.vocabulary import Vocabulary
from brain.world import WorldView
from memory.profiles import SceneSnapshot
from scene import load_scene
from tests.brain.test_symbolic_parser_forms import make_home


def _goals(text: str, world: WorldView) -> list[object]:
    return build_goals(parse(text, world.robots), Vocabulary(world))


def _goals_and_notes(text: str, world: WorldView) -> tuple[list[object], list[str]]:
    vocab = Vocabulary(world)
    return build_goals(parse(text, world.robots), vocab), vocab.notes


@cache
def _bundled(name: str) -> WorldView:
    """A bundled scene's nodes (robots and their cargo included) and fleet: all that the grounding reads."""
    scene = load_scene(name)
    fleet = [{"name": entry.name, "embodiment": entry.embodiment} for entry in scene.fleet]
    return WorldView.from_dicts(fleet, SceneSnapshot(1, {n.name: n for n in scene.world_nodes()}).to_dict())


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
    with pytest.raises(PlanningError, match="the thing to open must be a container or door; known containers and doors"):
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


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("apartment", "Take the ring out of the jewelry box, which is in the drawer in the bedroom, and put it on the "
                      "nightstand.", [Deliver("ring", "nightstand", "on", None, "jewelry_box")]),
        ("apartment", "Put the tea bags, which are in the tea box in the kitchen cabinet, on the storage shelf in the "
                      "utility room.", [Deliver("tea_bags", "storage_shelf", "on")]),
        ("warehouse", "Put the webcam in the small parts box, which is in the parts drawer.",
         [Deliver("webcam", "small_parts_box", "in")]),
    ],
)
def test_a_locating_phrase_after_a_name_is_a_hint(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


def test_a_hint_that_names_no_known_place_is_a_note_when_the_name_is_enough() -> None:
    assert _goals_and_notes("put the hat in the shoe box, which is in the garage", make_home()) == (
        [Deliver("hat", "shoe_box", "in")], ["could not check that shoe_box is at 'garage': unknown place 'garage'"])


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("apartment", "Put the milk on the nightstand and the alarm clock on the kitchen counter.",
         [Deliver("milk", "nightstand", "on"), Deliver("alarm_clock", "kitchen_counter", "on")]),
        ("warehouse", "Pack the bubble wrap in the small box and the packing tape in the large box.",
         [Deliver("bubble_wrap", "box_1", "in"), Deliver("tape_roll", "box_2", "in")]),
        ("warehouse", "Put the mouse on the staging table and the headphones on the middle rack in aisle B.",
         [Deliver("mouse", "staging_table", "on"), Deliver("headphones", "rack_b_mid", "on")]),
    ],
)
def test_one_verb_with_several_things_each_to_its_place(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("bring the hat to the hall and put it in the shoe box", [Deliver("hat", "shoe_box", "in")]),
        ("pick up the hat, take it to the hall, then put it on the hall table", [Deliver("hat", "hall_table", "on")]),
        ("take the hat to the bedroom", [Deliver("hat", "bed_27", "on")]),
    ],
)
def test_a_place_the_words_later_refine_is_only_the_way_there(text: str, goals: list[object]) -> None:
    assert _goals(text, make_home()) == goals


def test_a_place_stands_for_its_one_handoff_furniture() -> None:
    world = make_home((("hall_counter", "furniture", "hall", "at", {"handoff": True}),))
    note = "'the hall' is a place; putting things on hall_counter, its handoff point"
    assert _goals_and_notes("take the hat to the hall", world) == ([Deliver("hat", "hall_counter", "on")], [note])
    with pytest.raises(PlanningError, match="'hall' is a place; say where in it to put things: cupboard, fridge, "):
        _goals("take the hat to the hall", make_home())


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Fetch the hat and the plate and put both on bed 27.", [Deliver("hat", "bed_27", "on"),
                                                                 Deliver("plate", "bed_27", "on")]),
        ("Give the rover a hat: put one on bed 27.", [Deliver("hat", "bed_27", "on")]),
        ("Bring the hat and the plate: both go in the shoe box.", [Deliver("hat", "shoe_box", "in"),
                                                                  Deliver("plate", "shoe_box", "in")]),
        ("Tidy up: the hat and the plate go in the cupboard.", [Deliver("hat", "cupboard", "in"),
                                                                Deliver("plate", "cupboard", "in")]),
    ],
)
def test_both_one_and_headings_refer_to_what_was_named(text: str, goals: list[object]) -> None:
    assert _goals(text, make_home()) == goals


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("apartment", "Hand the butler the TV remote.", [Hold("remote", "butler")]),
        ("apartment", "Give the dog an apple.", [Hold("apple", "rex")]),
        ("warehouse", "Have the packer hold the tape gun.", [Hold("tape_gun", "packer")]),
        ("warehouse", "The first tote drone should hold the shipping labels.",
         [Hold("shipping_labels", "tote_drone_1")]),
        ("apartment", "Could the workshop arm put the tape measure in the toolbox?",
         [Deliver("tape_measure", "toolbox", "in", "workshop_arm")]),
    ],
)
def test_robots_as_recipients_and_as_subjects(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


@pytest.mark.parametrize(
    ("phrase", "robot"), [("the first tote drone", "tote_drone_1"), ("third drone", "tote_drone_3"),
                          ("the 2nd tote drone", "tote_drone_2"), ("tote drone 2", "tote_drone_2")],
)
def test_robots_by_number(phrase: str, robot: str) -> None:
    assert Vocabulary(_bundled("warehouse")).robot(phrase) == robot


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("apartment", "Put the thermometer from the first aid box in the basket on the drone.",
         [Deliver("thermometer", "basket", "in", None, "first_aid_box")]),
        ("apartment", "Put the mug in the drone.", [Deliver("mug", "basket", "in")]),
        ("apartment", "Give the mug to the drone.", [Hold("mug", "courier")]),
        ("warehouse", "Put the packing slip into tote 3, the one on the third drone.",
         [Deliver("packing_slip", "tote_3", "in")]),
        ("warehouse", "Put the packing slip on the second tote drone.", [Deliver("packing_slip", "tote_2", "on")]),
    ],
)
def test_in_or_on_a_robot_is_its_cargo_container(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("apartment", "Glue from the tool cabinet to the nightstand, please.",
         [Deliver("glue", "nightstand", "on", None, "tool_cabinet")]),
        ("apartment", "The rubber duck is on the bath mat. Could it go in the washing machine?",
         [Deliver("rubber_duck", "washing_machine", "in")]),
        ("apartment", "I left my reading glasses in the bedroom; bring them to the bathroom sink.",
         [Deliver("glasses", "sink_counter", "on")]),
        ("warehouse", "Ship the tablet and the keyboard: load both into the truck.",
         [Deliver("tablet", "truck", "in"), Deliver("keyboard", "truck", "in")]),
    ],
)
def test_sentences_without_a_leading_verb_ground_to_goals(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("warehouse", "Open the office door and put the stapler on the staging table.",
         [SetOpen("office_door", True), Deliver("stapler", "staging_table", "on")]),
        ("apartment", "Open the bedroom door.", [SetOpen("bedroom_door", True)]),
        ("warehouse", "Close the cold room door.", [SetOpen("cold_room_door", False)]),
        ("apartment", "Shut the laundry door.", [SetOpen("utility_door", False)]),
        ("apartment", "Open the utility room door.", [SetOpen("utility_door", True)]),  # the one door into it
    ],
)
def test_doors_open_and_close_like_containers(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


def test_a_container_door_is_the_container() -> None:
    assert _goals("open the fridge door and close the shoe box door", make_home()) == [
        SetOpen("fridge", True), SetOpen("shoe_box", False)]


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("Put the headlamp and the gloves in tote 3 and fly it over to packing.",
         [Deliver("headlamp", "tote_3", "in"), Deliver("gloves", "tote_3", "in"), Reach("packing", "tote_drone_3")]),
        ("Take tote 3 to packing.", [Reach("packing", "tote_drone_3")]),
        ("Fly the third drone to staging.", [Reach("staging", "tote_drone_3")]),
    ],
)
def test_sending_a_cargo_container_sends_its_robot(text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled("warehouse")) == goals


def test_a_thing_flown_somewhere_is_carried_there() -> None:
    assert _goals("pick up the hat and fly it to bed 27", make_home()) == [Deliver("hat", "bed_27", "on")]


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("restaurant", "The milk's been left out on the kitchen table. Put it in the fridge and close the fridge "
                       "afterwards.", [Deliver("milk", "fridge", "in"), SetOpen("fridge", False)]),
        ("apartment", "The magazine on the coffee table, can it go on the breakfast bar?",
         [Deliver("magazine", "bar_table", "on")]),
        ("supermarket", "A customer at the till needs batteries, put them on the checkout counter.",
         [Deliver("batteries", "checkout_counter", "on")]),
        ("household", "Can you grab my glasses off the nightstand and bring them to the kitchen? Just leave them on "
                      "the counter.", [Deliver("glasses", "kitchen_counter", "on", None, "nightstand")]),
        ("supermarket", "The yogurt should be in the freezer, not the cooler. Can you move it?",
         [Deliver("yogurt", "freezer", "in")]),
    ],
)
def test_pronouns_across_sentences_and_topics(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("the hat, put it on bed 27", [Deliver("hat", "bed_27", "on")]),
        ("the fridge, can you open it?", [SetOpen("fridge", True)]),
        ("The hat should be on bed 27, not the shelf. Can you fix that?", [Deliver("hat", "bed_27", "on")]),
        ("bring the hat to me and put it on bed 27", [Deliver("hat", "bed_27", "on")]),
    ],
)
def test_topics_contrasts_and_later_words_in_the_house(text: str, goals: list[object]) -> None:
    assert _goals(text, make_home()) == goals


def test_a_located_person_is_where_they_are(world: WorldView) -> None:
    assert _goals("The customer at table 2 wants the cup.", world) == [Deliver("cup", "table_2", "on")]


def test_moving_what_nothing_sends_anywhere_is_explained() -> None:
    message = "'move it': nothing says where plate should go; try 'move plate to <place>'"
    with pytest.raises(PlanningError, match=message):
        _goals("The hat should be on bed 27. The plate is on the hall table. Can you move it?", make_home())


@pytest.mark.parametrize(
    ("scene", "text", "goals"),
    [
        ("supermarket", "Bananas to the checkout counter, please.", [Deliver("bananas", "checkout_counter", "on")]),
        ("warehouse", "Tablet to the packing bench.", [Deliver("tablet", "packing_bench", "on")]),
        ("restaurant", "Bread and a cup for table one.",
         [Deliver("bread", "table_1", "on"), Deliver("cup", "table_1", "on")]),
        ("apartment", "Open the washing machine and load the jeans.",
         [SetOpen("washing_machine", True), Deliver("jeans", "washing_machine", "in")]),
        ("warehouse", "We need the fuses from the small parts box in the parts drawer on aisle B's middle rack, up at "
                      "packing station 1.", [Deliver("fuses", "pack_table_1", "on", None, "small_parts_box")]),
        ("restaurant", "Lift the soup pot off the stove and onto the kitchen table, please.",
         [Deliver("soup_pot", "kitchen_table", "on", None, "stove")]),
        ("restaurant", "Can I get the juice from the bar shelf brought to table 1?",
         [Deliver("juice", "table_1", "on", None, "bar_shelf")]),
        ("warehouse", "Unpack the cable reel from the inbound crate and leave it on the staging table.",
         [Deliver("cable_reel", "staging_table", "on", None, "inbound_crate")]),
    ],
)
def test_verbless_implied_and_particle_forms(scene: str, text: str, goals: list[object]) -> None:
    assert _goals(text, _bundled(scene)) == goals


def test_of_several_the_one_named_last_is_meant() -> None:
    goals, notes = _goals_and_notes("put the hat in the shoe box, then close the box", make_home())
    assert goals == [Deliver("hat", "shoe_box", "in"), SetOpen("shoe_box", False)]
    assert notes == ["'box' read as shoe_box, named just before"]
    with pytest.raises(PlanningError, match="'box' is ambiguous: it could be packing_box, shoe_box"):
        _goals("close the box", make_home())


def test_a_lid_or_door_no_node_is_named_for_is_the_container_named_last() -> None:
    vocab = Vocabulary(make_home())
    vocab.nodes("the fridge", ("container",), "container")
    assert vocab.openables("the lid") == ["fridge"]
    assert vocab.openables("its door") == ["fridge"]


def test_holding_on_to_a_picked_thing_is_one_hold() -> None:
    text = "rover, pick up the hat from the hall table, then hang on to it"
    assert _goals(text, make_home()) == [Hold("hat", "rover", "hall_table")]


def test_a_task_read_again_in_the_same_world_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import brain.symbolic.grounding as grounding

    parses: list[str] = []
    monkeypatch.setattr(grounding, "parse", lambda text, robots: parses.append(text) or parse(text, robots))
    world = _bundled("household")
    text = "bring the apple to the sofa"
    goals, notes = grounding.read_task(text, world)
    assert (goals, notes) == _goals_and_notes(text, world)
    goals.clear()  # the caller's own lists
    assert grounding.read_task(text, world) == _goals_and_notes(text, world)
    assert parses == [text]
    grounding.read_task("bring the mug to the sofa", world)  # another task
    other = WorldView(robots=dict(world.robots), nodes=dict(world.nodes), version=world.version)
    grounding.read_task("bring the mug to the sofa", other)  # another world, equal or not
    assert parses == [text, "bring the mug to the sofa", "bring the mug to the sofa"]
