"""Tools of a server without RoboOS extensions: annotations, and reported state as effects."""

from __future__ import annotations

import logging

import pytest

from memory.messages import Effect, ToolCall
from memory.profiles import ActionSemantics, SceneNode, SceneSnapshot, SkillSpec
from slaver.errors import SlaverConfigError
from slaver.foreign_skills import annotate, parse_annotations, reported_effects

ANNOTATIONS = {
    "navigate_to_target": {"kind": "navigate", "target": "target"},
    "grasp_object": {"kind": "pick", "object": "object"},
    "place_to_affordance": {"kind": "place", "object": "object", "target": "affordance"},
}


def _schema(*names: str) -> dict:
    return {"type": "object", "properties": {n: {"type": "string"} for n in names}, "required": list(names[:1])}


SPECS = [SkillSpec("navigate_to_target", input_schema=_schema("target")),
         SkillSpec("grasp_object", input_schema=_schema("object")),
         SkillSpec("place_to_affordance", input_schema=_schema("affordance", "object"))]


def scene(cup_parent: str = "kitchen_table", relation: str = "on") -> SceneSnapshot:
    nodes = [SceneNode("kitchen", "place"), SceneNode("dining_room", "place"),
             SceneNode("kitchen_table", "furniture", "kitchen", "at"),
             SceneNode("table_2", "furniture", "dining_room", "at"),
             SceneNode("porter", "robot", "kitchen", "at"),
             SceneNode("cup", "object", cup_parent, relation)]
    return SceneSnapshot(1, {n.name: n for n in nodes})


def test_annotations_give_the_listed_tools_their_semantics() -> None:
    annotated = {s.name: s.semantics for s in annotate(SPECS, parse_annotations(ANNOTATIONS))}
    assert annotated["place_to_affordance"] == ActionSemantics("place", {"object": "object", "target": "affordance"})
    assert annotated["navigate_to_target"].kind == "navigate"


@pytest.mark.parametrize(("annotations", "match"), [
    ({"grasp": {"kind": "pick", "object": "object"}}, "'grasp', which the skill server does not have"),
    ({"grasp_object": {"kind": "pick", "object": "thing"}}, "argument 'thing', which the tool does not take"),
    ({"grasp_object": {"kind": "grab"}}, "kind must be one of"),
])
def test_bad_annotations_name_the_tool_and_the_fix(annotations: dict, match: str) -> None:
    with pytest.raises(SlaverConfigError, match=match):
        annotate(SPECS, parse_annotations(annotations))


def semantics(tool: str) -> ActionSemantics:
    return ActionSemantics.from_annotation(ANNOTATIONS[tool])


def test_a_reported_position_moves_the_robot_to_the_place_of_that_node() -> None:
    call = ToolCall("navigate_to_target", {"target": "table_2"})
    effects = reported_effects("porter", call, ActionSemantics(), {"position": "table_2"}, scene())
    assert effects == [Effect(op="move", node="porter", parent="dining_room", relation="at")]


def test_grasped_and_released_move_the_object() -> None:
    call = ToolCall("grasp_object", {"object": "cup"})
    assert reported_effects("porter", call, ActionSemantics(), {"grasped": "cup"}, scene()) == [
        Effect(op="move", node="cup", parent="porter", relation="held_by")]
    held = scene("porter", "held_by")
    put = ToolCall("place_to_affordance", {"affordance": "table_2", "object": "cup"})
    expected = [Effect(op="move", node="cup", parent="table_2", relation="on")]
    assert reported_effects("porter", put, semantics("place_to_affordance"), {"grasped": "None"}, held) == expected
    # without annotations: the one argument naming furniture is where it went
    assert reported_effects("porter", put, ActionSemantics(), {"grasped": "None"}, held) == expected


def test_an_unknown_place_is_a_warning_and_unknown_keys_are_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="slaver.foreign_skills")
    call = ToolCall("navigate_to_target", {"target": "kitchenTable"})
    assert reported_effects("porter", call, ActionSemantics(), {"position": "kitchenTable", "battery": 0.8},
                            scene()) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "'kitchenTable', which is not in the scene" in warnings[0].getMessage()
    assert any(r.levelno == logging.DEBUG and "battery" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_annotated_tool_that_reports_no_state_acts_as_its_kind() -> None:
    call = ToolCall("navigate_to_target", {"target": "table_2"})
    effects = reported_effects("porter", call, semantics("navigate_to_target"), {}, scene())
    assert effects == [Effect(op="move", node="porter", parent="dining_room", relation="at")]
