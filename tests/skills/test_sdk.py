"""The skill SDK through a real MCP client: schemas, descriptions, semantics, capabilities, errors."""

from __future__ import annotations

from typing import Annotated

import anyio
import pytest
from pydantic import Field

from memory import Effect
from skills.client import SkillClient
from skills.errors import SkillError
from skills.sdk import SEMANTICS_KEY, SkillFailure, SkillResult, SkillServer

pytestmark = pytest.mark.anyio


def make_server() -> SkillServer:
    server = SkillServer("arm-1", embodiment="fixed_single_arm",
                         capabilities={"arms": 1, "payload_kg": 2.0, "zones": ["bar"]})

    @server.skill(kind="place", object="object", target="target")
    async def place(
        object: Annotated[str, Field(description="The held object")],
        target: Annotated[str, Field(description="Where to put it")],
        gently: bool = False,
    ) -> SkillResult:
        """Place the held object on a surface."""
        if target == "floor":
            raise SkillFailure("cannot place on the floor: choose a table")
        return SkillResult(message=f"placed {object}", effects=[
            Effect(op="move", node=object, parent=target, relation="on", expect_parent="arm-1")])

    @server.skill()
    async def wait(seconds: float) -> SkillResult:
        """Wait a while."""
        await anyio.sleep(seconds)
        return SkillResult(message="waited")

    return server


async def test_skills_are_listed_with_schema_description_and_semantics() -> None:
    async with SkillClient.in_process(make_server()) as client:
        specs = {s.name: s for s in await client.list_skills()}
    place = specs["place"]
    assert place.description == "Place the held object on a surface."
    assert place.input_schema["required"] == ["object", "target"]
    assert place.input_schema["properties"]["target"]["description"] == "Where to put it"
    assert place.input_schema["properties"]["gently"]["type"] == "boolean"
    assert (place.semantics.kind, place.semantics.roles) == ("place", {"object": "object", "target": "target"})
    assert (specs["wait"].semantics.kind, specs["wait"].semantics.roles) == ("other", {})


async def test_semantics_ride_in_the_tool_meta_and_output_is_structured() -> None:
    server = make_server()
    [tool] = [t for t in await server.mcp.list_tools() if t.name == "place"]
    assert tool.meta[SEMANTICS_KEY] == {"kind": "place", "roles": {"object": "object", "target": "target"}}
    assert set(tool.output_schema["properties"]) == {"message", "effects"}


async def test_capabilities_resource() -> None:
    async with SkillClient.in_process(make_server()) as client:
        capabilities = await client.capabilities()
    assert capabilities == {"embodiment": "fixed_single_arm", "arms": 1, "payload_kg": 2.0, "zones": ["bar"]}


async def test_success_returns_message_and_effects() -> None:
    async with SkillClient.in_process(make_server()) as client:
        outcome = await client.call("place", {"object": "cup", "target": "table"})
    assert outcome.ok and outcome.message == "placed cup"
    assert outcome.effects == [Effect(op="move", node="cup", parent="table", relation="on", expect_parent="arm-1")]
    assert outcome.duration_s > 0


async def test_skill_failure_reaches_the_client_as_an_error_with_its_message() -> None:
    async with SkillClient.in_process(make_server()) as client:
        result = await client._mcp.call_tool("place", {"object": "cup", "target": "floor"})
        outcome = await client.call("place", {"object": "cup", "target": "floor"})
    assert result.is_error
    assert "cannot place on the floor: choose a table" in result.content[0].text
    assert not outcome.ok and outcome.message == "cannot place on the floor: choose a table"


async def test_bad_arguments_and_unknown_skill_are_failed_outcomes() -> None:
    async with SkillClient.in_process(make_server()) as client:
        missing = await client.call("place", {"object": "cup"})
        unknown = await client.call("fly", {})
    assert not missing.ok and "target" in missing.message
    assert not unknown.ok and "fly" in unknown.message


async def test_call_timeout_is_a_failed_outcome_and_the_client_stays_usable() -> None:
    async with SkillClient.in_process(make_server()) as client:
        slow = await client.call("wait", {"seconds": 5}, timeout_s=0.2)
        quick = await client.call("wait", {"seconds": 0}, timeout_s=5)
    assert not slow.ok and slow.message == "timed out after 0.2 s"
    assert 0.2 <= slow.duration_s < 2
    assert quick.ok


def test_roles_must_name_parameters_and_kinds_must_be_known() -> None:
    server = SkillServer("r", embodiment="humanoid")
    with pytest.raises(SkillError, match="role 'object' names parameter 'thing'"):
        @server.skill(kind="pick", object="thing")
        async def pick(object: str) -> SkillResult:
            """Pick."""
            return SkillResult(message="")
    with pytest.raises(SkillError, match="unknown skill kind 'dance'"):
        server.skill(kind="dance")


def test_skill_result_validates_effects() -> None:
    result = SkillResult(message="ok", effects=[Effect(op="set", node="fridge", props={"open": True}),
                                                {"op": "move", "node": "cup", "parent": "table"}])
    assert result.effects == [{"op": "set", "node": "fridge", "props": {"open": True}},
                              {"op": "move", "node": "cup", "parent": "table"}]
    with pytest.raises(ValueError, match="not an effect"):
        SkillResult(message="bad", effects=[{"node": "cup"}])


async def test_example_skill_server_lists_its_skills() -> None:
    from skills.examples.skill import robot

    async with SkillClient.in_process(robot) as client:
        specs = {s.name: s.semantics.kind for s in await client.list_skills()}
        picked = await client.call("pick", {"object": "bolt"})
        again = await client.call("pick", {"object": "nut"})
        await client.call("place", {"object": "bolt", "target": "tray"})
    assert specs == {"pick": "pick", "place": "place", "wave": "other"}
    assert picked.ok and picked.effects[0].expect_parent == "workbench"
    assert not again.ok and "place it first" in again.message
