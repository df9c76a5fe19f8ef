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
        ("open", "the fridge"), ("close", "the fridge door"), ("go", "the pass"), ("go", "the dining")]


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
def test_unparsable_text_says_what_to_write_instead(text: str) -> None:
    with pytest.raises(PlanningError, match=r"^cannot parse .*; try 'bring .* to <place>'$"):
        parse(text, ROBOTS)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("put the silver coin and battery into the box",
         [("place", "the silver coin and battery", "the box", "in")]),
        ("bring the apple, the cup and the bread to table 1", [("carry", "the apple, the cup and the bread", "table 1")]),
        ("pick up the cup and put it in the sink", [("pick", "the cup"), ("place", "it", "the sink", "in")]),
        ("pick up the cup and the plate, then put them on table 1",
         [("pick", "the cup and the plate"), ("place", "them", "table 1", "on")]),
        ("put the salt and pepper on the table", [("place", "the salt and pepper", "the table", "on")]),
        ("open the fridge and the cupboard and go to the pass", [("open", "the fridge and the cupboard"), ("go", "the pass")]),
        ("the cup and the plate are on the table", [("fact", "the cup and the plate", "the table", "on")]),
        ("open the fridge and put the bread inside", [("open", "the fridge"), ("place", "the bread", "there", "in")]),
        ("put the milk on the table and the cup goes in the sink",
         [("place", "the milk", "the table", "on"), ("place", "the cup", "the sink", "in")]),
        ("the cup and the plate go in the sink", [("place", "the cup and the plate", "the sink", "in")]),
        ("the cup is in the fridge and the milk is on the table",
         [("fact", "the cup", "the fridge", "in"), ("fact", "the milk", "the table", "on")]),
    ],
)
def test_and_splits_commands_but_not_the_things_under_one_verb(text: str, clauses: list[tuple[str, ...]]) -> None:
    assert _verbs(text) == clauses


@pytest.mark.parametrize(
    ("text", "obj", "target"),
    [
        ("put the cup that is on the table in the sink", "the cup on the table", "the sink"),
        ("put the hat in the packing box which is in the utility room", "the hat", "the packing box in the utility room"),
        ("put the cup which sits on the shelf into the box", "the cup on the shelf", "the box"),
        ("put the cup located on top of the shelf into the box", "the cup on top of the shelf", "the box"),
        ("bring the apple in the fridge to table 1", "the apple in the fridge", "table 1"),
    ],
)
def test_a_relative_clause_stays_with_its_noun(text: str, obj: str, target: str) -> None:
    (clause,) = parse(text, ROBOTS)
    assert (clause.obj, clause.target) == (obj, target)


@pytest.mark.parametrize(
    ("text", "robot", "verb"),
    [
        ("waiter brings the cup to table 1", "waiter", "carry"),
        ("The waiter picks up the cup", "waiter", "pick"),
        ("runner goes to the pass", "runner", "go"),
        ("pass_arm puts the plate on the serving table", "pass arm", "place"),
        ("the drone flies to the kitchen", "drone", "go"),
        ("The quadrotor lands on the table", "quadrotor", "go"),
        ("the robot dog carries the cup to table 2", "dog", "carry"),
        ("the humanoid opens the fridge", "humanoid", "open"),
        ("the arm closes the fridge", "arm", "close"),
        ("the waiter will bring the cup to table 1", "waiter", "carry"),
        ("robot r2d2 fetches the cup", "r2d2", "pick"),
    ],
)
def test_a_robot_as_the_subject_with_third_person_verbs(text: str, robot: str, verb: str) -> None:
    (clause,) = parse(text, ROBOTS)
    assert (clause.robot, clause.verb) == (robot, verb)


def test_landing_with_a_thing_is_carrying_it_there() -> None:
    assert _verbs("The quadrotor lands on the table with the plate in the basket.") == [
        ("pick", "the plate", "quadrotor"), ("go", "the table", "quadrotor")]


@pytest.mark.parametrize(
    ("text", "target"),
    [("Put the hat on the bed 27.", "the bed 27"), ("put the hat on bed 27!", "bed 27"),
     ('"Put the hat on the bed 27"', "the bed 27"), ("put the hat on 'bed 27'?", "bed 27"),
     ("put the hat on bed 2.5", "bed 2.5"), ("Put the hat on the bed 27. Thanks!", "the bed 27")],
)
def test_punctuation_is_not_part_of_names(text: str, target: str) -> None:
    assert [c.target for c in parse(text, ROBOTS)] == [target]


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("The cup is originally in the fridge.", ("fact", "the cup", "the fridge", "in")),
        ("The milk is on the kitchen table", ("fact", "the milk", "the kitchen table", "on")),
        ("the fridge is closed", ("fact", "the fridge", "closed")),
        ("there is a cup in the sink", ("fact", "a cup", "the sink", "in")),
        ("the cup is currently located inside the cupboard", ("fact", "the cup", "the cupboard", "in")),
        ("the sky is blue", ("fact", "the sky")),
    ],
)
def test_statements_of_fact_parse_as_facts(text: str, clause: tuple[str, ...]) -> None:
    assert _verbs(text) == [clause]


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("hand me the cup", ("carry", "the cup", "me")),
        ("bring the cup", ("carry", "the cup")),  # where the instruction wants it, else to "me"
        ("bring the cup back", ("carry", "the cup", "me")),
        ("send the waiter to the pass", ("go", "the pass", "waiter")),
        ("give it to the waiter", ("carry", "it", "the waiter")),
        ("put away the cup", ("store", "the cup")),
        ("put the cup back", ("store", "the cup")),
        ("take the cup out of the fridge", ("pick", "the cup", "the fridge")),
        ("go get the cup", ("pick", "the cup")),
        ("unload the cereal from the cart onto the shelf", ("place", "the cereal", "the cart", "the shelf", "on")),
        ("stock the shelf with cereal", ("place", "cereal", "the shelf")),
        ("drop off the cup at table 1", ("place", "the cup", "table 1")),
        ("return the cup to the cupboard", ("carry", "the cup", "the cupboard")),
        ("the cup should be on table 1", ("place", "the cup", "table 1", "on")),
    ],
)
def test_everyday_verbs_parse_to_the_basic_forms(text: str, clause: tuple[str, ...]) -> None:
    assert _verbs(text) == [clause]


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("put the milk on the table and the cup in the sink",
         [("place", "the milk", "the table", "on"), ("place", "the cup", "the sink", "in")]),
        ("bring the cup to table 1, the plate to table 2 and the bowl to the pass",
         [("carry", "the cup", "table 1"), ("carry", "the plate", "table 2"), ("carry", "the bowl", "the pass")]),
        ("put the cup on the salt and pepper shelf", [("place", "the cup", "the salt and pepper shelf", "on")]),
        ("put the cup on the table and the plate", [("place", "the cup", "the table and the plate", "on")]),
    ],
)
def test_one_verb_may_name_several_thing_and_place_pairs(text: str, clauses: list[tuple[str, ...]]) -> None:
    assert _verbs(text) == clauses


def test_a_heading_only_names_what_its_details_act_on() -> None:
    assert parse("Ship the cup and the plate: load both into the truck.", ROBOTS) == [
        Clause("carry", "ship the cup and the plate", obj="the cup and the plate", context=True),
        Clause("place", "load both into the truck", obj="both", target="the truck", relation="in")]
    assert _verbs("Please tidy up: the cup goes in the sink.") == [("place", "the cup", "the sink", "in")]
    assert _verbs("Open the fridge: put the milk in it.") == [("open", "the fridge"), ("place", "the milk", "it", "in")]
    assert [c.context for c in parse("Bring the cup: it is in the fridge.", ROBOTS)] == [False, False]


@pytest.mark.parametrize(
    ("text", "obj", "source", "target"),
    [
        ("take the ring out of the box, which is in the drawer in the bedroom, and put it on the nightstand",
         "the ring", "the box in the drawer in the bedroom", None),
        ("put the tea, which is in the tea box in the cabinet, on the shelf in the hall",
         "the tea in the tea box in the cabinet", None, "the shelf in the hall"),
        ("put the slip into tote 3, the one on the third drone", "the slip", None, "tote 3 on the third drone"),
        ("put the webcam in the parts box, which is in the drawer.", "the webcam", None, "the parts box in the drawer"),
    ],
)
def test_a_relative_clause_set_off_by_commas_keeps_all_its_places(text: str, obj: str, source: str | None,
                                                                  target: str | None) -> None:
    clause = parse(text, ROBOTS)[0]
    assert (clause.obj, clause.source, clause.target) == (obj, source, target)


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("hand the waiter the cup", ("carry", "the cup", "the waiter")),
        ("give the dog an apple", ("carry", "an apple", "the dog")),
        ("give the guest the menu", ("carry", "the menu", "the guest")),
        ("give me the cup", ("carry", "the cup", "me")),
        ("bring the cup and the plate", ("carry", "the cup and the plate")),
    ],
)
def test_give_a_robot_or_a_person_a_thing(text: str, clause: tuple[str, ...]) -> None:
    assert _verbs(text) == [clause]


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("Have the waiter hold the cup.", ("pick", "the cup", "waiter")),
        ("Tell the runner to go to the pass.", ("go", "the pass", "runner")),
        ("Could the waiter put the cup on table 1?", ("place", "the cup", "table 1", "on", "waiter")),
        ("The first tote drone should hold the labels.", ("pick", "the labels", "first tote drone")),
        ("the third drone flies to the pass", ("go", "the pass", "third drone")),
    ],
)
def test_a_robot_asked_through_someone_or_by_number(text: str, clause: tuple[str, ...]) -> None:
    assert [(c.verb, *(x for x in (c.obj, c.target, c.relation, c.robot) if x))
            for c in parse(text, [*ROBOTS, "tote_drone_1"])] == [clause]


@pytest.mark.parametrize(
    ("text", "clause"),
    [
        ("Glue from the tool cabinet to the nightstand, please.",
         ("carry", "glue", "the tool cabinet", "the nightstand")),
        ("Could it go in the washing machine?", ("place", "it", "the washing machine", "in")),
        ("Can the cup be put on the shelf?", ("place", "the cup", "the shelf", "on")),
        ("I left my glasses in the bedroom", ("fact", "my glasses", "the bedroom", "in")),
        ("Can I have the plate on table 2?", ("place", "the plate", "table 2", "on")),
    ],
)
def test_sentences_without_a_leading_verb(text: str, clause: tuple[str, ...]) -> None:
    assert _verbs(text) == [clause]


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("open the office door", [("open", "the office door")]),  # which door, or whose, is for the grounding
        ("bananas to the checkout counter, please", [("carry", "bananas", "the checkout counter")]),
        ("bread and a cup for table one", [("carry", "bread and a cup", "table one")]),
        ("just leave them on the counter", [("place", "them", "the counter", "on")]),
        ("lift the pot off the stove and onto the table", [("place", "the pot", "the stove", "the table", "on")]),
        ("can i get the juice from the bar shelf brought to table 1",
         [("place", "the juice", "the bar shelf", "table 1")]),
        ("we need the fuses from the box in the drawer on the rack, up at station 1",
         [("place", "the fuses", "the box in the drawer on the rack", "station 1")]),
        ("open the washer and load the jeans", [("open", "the washer"), ("place", "the jeans", "the washer", "in")]),
        ("put the socks in tote 3 and fly it over to packing",
         [("place", "the socks", "tote 3", "in"), ("go", "it", "packing")]),
        ("unpack the reel from the crate", [("pick", "the reel", "the crate")]),
        ("close the fridge afterwards", [("close", "the fridge")]),
    ],
)
def test_verbless_implied_and_particle_forms(text: str, clauses: list[tuple[str, ...]]) -> None:
    assert _verbs(text) == clauses


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("The milk's been left out on the table. Put it in the fridge.",
         [("fact", "the milk", "the table", "on"), ("place", "it", "the fridge", "in")]),
        ("The cup should be in the sink, not the cupboard. Can you move it?",
         [("place", "the cup", "the sink", "in"), ("confirm", "it")]),
        ("A customer at the pass needs the cup, put it on table 2.",
         [("carry", "the cup", "a customer at the pass"), ("place", "it", "table 2", "on")]),
    ],
)
def test_facts_wishes_and_the_pronouns_after_them(text: str, clauses: list[tuple[str, ...]]) -> None:
    assert _verbs(text) == clauses


def test_a_topic_before_a_command_only_names_what_its_pronoun_means() -> None:
    assert parse("The cup on the table, can it go in the sink?", ROBOTS) == [
        Clause("fact", "the cup on the table", obj="the cup on the table", context=True),
        Clause("place", "it go in the sink", obj="it", target="the sink", relation="in", wish=True)]
