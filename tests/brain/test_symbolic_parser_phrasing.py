"""Word knowledge the parser and the grounding share (brain/symbolic/phrasing.py)."""

from __future__ import annotations

import pytest

from brain.symbolic.phrasing import (
    NounPhrase,
    lemma,
    numbered,
    read_phrase,
    singular,
    split_list,
    split_qualifier,
    variants,
)


@pytest.mark.parametrize(
    ("word", "base"),
    [("brings", "bring"), ("puts", "put"), ("picks", "pick"), ("goes", "go"), ("opens", "open"), ("closes", "close"),
     ("carries", "carry"), ("flies", "fly"), ("fetches", "fetch"), ("passes", "pass"), ("lands", "land"),
     ("bringing", "bring"), ("placing", "place"), ("putting", "put"), ("dropping", "drop"),
     ("bring", "bring"), ("cups", "cups"), ("table", "table"), ("ceiling", "ceiling")],
)
def test_lemma_gives_the_base_form_of_known_verbs_only(word: str, base: str) -> None:
    assert lemma(word) == base


@pytest.mark.parametrize(
    ("words", "one"),
    [("apples", "apple"), ("packing boxes", "packing box"), ("cherries", "cherry"), ("dishes", "dish"),
     ("glass", "glass"), ("boxes", "box"), ("table 2", "table 2")],
)
def test_singular(words: str, one: str) -> None:
    assert singular(words) == one


@pytest.mark.parametrize(
    ("phrase", "read"),
    [
        ("the cup", NounPhrase("cup")),
        ("all the cups", NounPhrase("cups", every=True)),
        ("all of the cups", NounPhrase("cups", every=True)),
        ("each cup", NounPhrase("cup", every=True)),
        ("both cups", NounPhrase("cups", 2, every=True)),
        ("the two cups", NounPhrase("cups", 2, every=True)),
        ("two of the cups", NounPhrase("cups", 2)),
        ("3 cups", NounPhrase("cups", 3)),
        ("a cup", NounPhrase("cup", 1)),
        ("one of the cups", NounPhrase("cups", 1)),
        ("table two", NounPhrase("table 2")),
        ("the bed twenty seven", NounPhrase("bed 27")),
        ("them", NounPhrase("them")),
        ("all of them", NounPhrase("them", every=True)),
    ],
)
def test_read_phrase_takes_quantities_off_the_front(phrase: str, read: NounPhrase) -> None:
    assert read_phrase(phrase) == read


@pytest.mark.parametrize(
    ("phrase", "items"),
    [("the apple, the cup and the bread", ["the apple", "the cup", "the bread"]),
     ("the silver coin and battery", ["the silver coin", "battery"]),
     ("both the cup and the plate", ["the cup", "the plate"]),
     ("cup & plate", ["cup", "plate"]), ("the cup", ["the cup"])],
)
def test_split_list(phrase: str, items: list[str]) -> None:
    assert split_list(phrase) == items


@pytest.mark.parametrize(
    ("words", "split"),
    [("cup that is on the table", ("cup", "the table")), ("packing box which is in the utility room",
                                                            ("packing box", "the utility room")),
     ("apple in the fridge", ("apple", "the fridge")), ("cup located on the shelf", ("cup", "the shelf")),
     ("cup from the sink", ("cup", "the sink")), ("cup", ("cup", None))],
)
def test_split_qualifier(words: str, split: tuple[str, str | None]) -> None:
    assert split_qualifier(words) == split


@pytest.mark.parametrize(
    ("words", "others"),
    [("table2", ["table 2"]), ("bottle of water", ["water bottle"]), ("bag of rice", ["rice bag"]), ("cup", []),
     ("second table", ["table 2"])],
)
def test_variants(words: str, others: list[str]) -> None:
    assert variants(words) == others


@pytest.mark.parametrize(
    ("words", "name"),
    [("the third drone", "drone 3"), ("first tote drone", "tote drone 1"), ("2nd table", "table 2"),
     ("first", "first"), ("the apple", "the apple")],
)
def test_numbered_puts_an_ordinal_last_as_a_number(words: str, name: str) -> None:
    assert numbered(words) == name


@pytest.mark.parametrize(("phrase", "words"), [("one", "one"), ("the one", "one"), ("both", "both"), ("table one", "table 1")])
def test_pronouns_stay_words(phrase: str, words: str) -> None:
    assert read_phrase(phrase).words == words
