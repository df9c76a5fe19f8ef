"""Request checking and tool-call parsing of `roboos brain serve` (no model loaded)."""

from __future__ import annotations

import json

import pytest

from brain.server.errors import APIError
from brain.server.protocol import ChatRequest, CompletionRequest
from brain.server.structure import Structure, StructureKind
from brain.server.tool_calls import call_schema, parse_tool_calls
from brain.templates import CHATML_TOOLS, read_template

TOOL = {"type": "function", "function": {"name": "pick", "parameters": {
    "type": "object", "properties": {"object": {"type": "string"}}, "required": ["object"]}}}
BASE = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_request_with_tools_schema_and_sampling() -> None:
    chat = ChatRequest.from_dict({**BASE, "tools": [TOOL], "tool_choice": {"type": "function",
                                                                           "function": {"name": "pick"}},
                                  "max_tokens": 32, "temperature": 0, "stop": "END", "seed": 7},
                                 max_tokens_limit=64)
    assert chat.forced_call == "pick"
    assert (chat.sampling.max_tokens, chat.sampling.temperature, chat.sampling.stop, chat.sampling.seed) == (
        32, 0.0, ["END"], 7)
    schema = {"type": "object"}
    as_format = ChatRequest.from_dict({**BASE, "response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": schema}}}, max_tokens_limit=64)
    legacy = ChatRequest.from_dict({**BASE, "guided_json": schema}, max_tokens_limit=64)
    newer = ChatRequest.from_dict({**BASE, "structured_outputs": {"json": schema}}, max_tokens_limit=64)
    assert as_format.structure == legacy.structure == newer.structure == Structure(StructureKind.JSON, schema)
    assert as_format.forced_call is None


def test_streaming_choices_and_logprobs() -> None:
    chat = ChatRequest.from_dict({**BASE, "stream": True, "stream_options": {"include_usage": True}, "n": 3,
                                  "logprobs": True, "top_logprobs": 2}, max_tokens_limit=64)
    assert (chat.options.stream, chat.options.include_usage, chat.options.n, chat.options.logprobs) == (
        True, True, 3, 2)
    plain = ChatRequest.from_dict({**BASE, "logprobs": False}, max_tokens_limit=64)
    assert plain.options.logprobs is None and not plain.options.include_usage


def test_structured_outputs_regex_and_choice() -> None:
    regex = ChatRequest.from_dict({**BASE, "structured_outputs": {"regex": "[a-z]+"}}, max_tokens_limit=64)
    choice = ChatRequest.from_dict({**BASE, "guided_choice": ["yes", "no"]}, max_tokens_limit=64)
    assert regex.structure == Structure(StructureKind.REGEX, "[a-z]+")
    assert choice.structure == Structure(StructureKind.CHOICE, ["yes", "no"])


def test_completion_request() -> None:
    request = CompletionRequest.from_dict({"model": "m", "prompt": ["a", "b"], "logprobs": 1, "n": 2, "stop": "x"},
                                          max_tokens_limit=64)
    assert (request.prompts, request.options.logprobs, request.options.n) == (["a", "b"], 1, 2)
    for bad, param in [({"prompt": [1, 2]}, "prompt"), ({"prompt": "a", "logprobs": 99}, "logprobs"),
                       ({"prompt": "a", "echo": True, "logprobs": 1}, "echo")]:
        with pytest.raises(APIError) as caught:
            CompletionRequest.from_dict({"model": "m", **bad}, max_tokens_limit=64)
        assert caught.value.param == param


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        ({"model": ""}, "model"),
        ({"stream": "yes"}, "stream"),
        ({"n": 0}, "n"),
        ({"n": 99}, "n"),
        ({"logprobs": 3}, "logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
         "messages[0].content[0]"),
        ({"messages": [{"role": "user", "content": [{"type": "sticker"}]}]}, "messages[0].content[0]"),
        ({"structured_outputs": {"structural_tag": "{}"}}, "structured_outputs.structural_tag"),
        ({"structured_outputs": {"choice": []}}, "structured_outputs.choice"),
        ({"structured_outputs": {"regex": "a"}, "guided_json": {}}, "structured_outputs.regex"),
        ({"max_tokens": 1000}, "max_tokens"),
        ({"temperature": -1}, "temperature"),
        ({"tools": [{"type": "function"}]}, "tools[0]"),
        ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "fly"}}}, "tool_choice"),
        ({"response_format": {"type": "json_schema", "json_schema": {}}}, "response_format"),
        ({"response_format": "json"}, "response_format"),
    ],
)
def test_bad_requests_name_the_parameter(change: dict[str, object], param: str) -> None:
    with pytest.raises(APIError) as caught:
        ChatRequest.from_dict({**BASE, **change}, max_tokens_limit=64)
    assert caught.value.status == 400 and caught.value.param == param
    assert caught.value.to_dict()["error"]["type"] == "invalid_request_error"


def test_parse_hermes_tool_calls_keeps_the_rest_as_content() -> None:
    text = ('Let me pick it.\n<tool_call>\n{"name": "pick", "arguments": {"object": "apple"}}\n</tool_call>\n'
            '<tool_call>{"name": "pick", "arguments": "{\\"object\\": \\"pear\\"}"}</tool_call>'
            "<tool_call>not json</tool_call>")
    content, calls = parse_tool_calls(text)
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"object": "apple"}, {"object": "pear"}]
    assert content == "Let me pick it.\n\n<tool_call>not json</tool_call>"
    assert parse_tool_calls('<tool_call>{"name": "pick", "arguments": {}}</tool_call>')[0] is None
    assert parse_tool_calls("no calls here") == ("no calls here", [])


def test_call_schema_constrains_name_and_arguments() -> None:
    other = {"type": "function", "function": {"name": "wave"}}
    both = call_schema([TOOL, other])
    assert [o["properties"]["name"] for o in both["anyOf"]] == [{"const": "pick"}, {"const": "wave"}]
    only = call_schema([TOOL, other], only="pick")
    assert only["properties"]["arguments"] == TOOL["function"]["parameters"]


def test_shipped_template_renders_tools_calls_and_results() -> None:
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment()
    env.filters["tojson"] = json.dumps
    template = env.from_string(read_template(CHATML_TOOLS.name))
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "pick the apple"}, {"type": "image_url"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "pick", "arguments": '{"object": "apple"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok: picked"},
    ]
    text = template.render(messages=messages, tools=[TOOL], add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\n# Tools")
    assert json.dumps(TOOL["function"]) in text
    assert "pick the apple<|vision_start|><|image_pad|><|vision_end|><|im_end|>" in text
    assert '<|im_start|>assistant\n<tool_call>\n{"name": "pick", "arguments": {"object": "apple"}}\n</tool_call>' in text
    assert "<|im_start|>user\n<tool_response>\nok: picked\n</tool_response><|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")
