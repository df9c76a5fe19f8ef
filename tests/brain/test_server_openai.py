"""`roboos brain serve` as a drop-in for vLLM's server: the real `openai` client over real HTTP.

The app serves the tiny random-weight model (`brain.server.tiny`): its text is noise, but tokens,
grammars, streaming and log-probabilities run through the same code as with SmolLM2.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
from collections.abc import Iterator

import httpx
import jsonschema
import openai
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from brain.server.app import create_app
from brain.server.tiny import TINY_MODEL_NAME, tiny_model

pytestmark = pytest.mark.timeout(60)

PICK = {"type": "function", "function": {
    "name": "pick", "description": "Pick up an object.",
    "parameters": {"type": "object", "properties": {"object": {"type": "string", "enum": ["apple", "cup"]}},
                   "required": ["object"], "additionalProperties": False}}}
HI = [{"role": "user", "content": "hi"}]


class _Served:
    """The app on 127.0.0.1 (a free port), served by uvicorn from a thread."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.root = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(tiny_model(), max_tokens=64), log_level="warning", log_config=None,
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])),
                                        daemon=True)

    def __enter__(self) -> _Served:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@pytest.fixture(scope="module")
def served() -> Iterator[_Served]:
    with _Served() as served:
        yield served


@pytest.fixture
def client(served: _Served) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{served.root}/v1", api_key="none", max_retries=0, timeout=30) as client:
        yield client


@pytest.fixture
def http(served: _Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.root, timeout=30) as http:
        yield http


def test_streamed_text_matches_the_whole_answer(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=12, temperature=0)
    stream = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=12, temperature=0,
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_ends_with_done(http: httpx.Client) -> None:
    body = {"model": TINY_MODEL_NAME, "messages": HI, "max_tokens": 3, "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)
    assert "usage" not in json.loads(events[0].removeprefix("data: "))  # only with stream_options.include_usage


def test_streamed_tool_call_reassembles_to_schema_valid_arguments(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, tools=[PICK], tool_choice="required",
                                            max_tokens=64, temperature=0, stream=True)
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            call["name"] += (delta.function.name or "") if delta.function else ""
            call["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert finish == "tool_calls" and list(calls) == [0]
    assert calls[0]["name"] == "pick" and calls[0]["id"].startswith("call_")
    jsonschema.validate(json.loads(calls[0]["arguments"]), PICK["function"]["parameters"])


def test_n_choices_whole_and_streamed(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=4, n=2, seed=3)
    assert [c.index for c in whole.choices] == [0, 1]
    single = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=4)
    assert whole.usage.prompt_tokens == single.usage.prompt_tokens and 2 <= whole.usage.completion_tokens <= 8
    stream = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=4, n=2, stream=True)
    finished = {c.choices[0].index for c in stream if c.choices and c.choices[0].finish_reason}
    assert finished == {0, 1}


def test_logprobs_are_the_models_own(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=5, temperature=0,
                                            logprobs=True, top_logprobs=3)
    content = answer.choices[0].logprobs.content
    assert len(content) == answer.usage.completion_tokens
    for token in content:
        assert token.logprob <= 0 and len(token.top_logprobs) == 3
        assert token.top_logprobs[0].logprob == pytest.approx(token.logprob)  # greedy: the chosen one is the top
        assert sum(math.exp(t.logprob) for t in token.top_logprobs) <= 1.0001
    stream = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=5, temperature=0,
                                            logprobs=True, stream=True)
    streamed = [t.logprob for c in stream if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert streamed == pytest.approx([t.logprob for t in content], abs=1e-4)


def test_completions_with_list_prompt_echo_stop_and_logprobs(client: openai.OpenAI) -> None:
    answer = client.completions.create(model=TINY_MODEL_NAME, prompt=["one", "two"], max_tokens=4, temperature=0,
                                       n=2, logprobs=2)
    assert answer.object == "text_completion" and [c.index for c in answer.choices] == [0, 1, 2, 3]
    assert len(answer.choices[0].logprobs.tokens) == len(answer.choices[0].logprobs.token_logprobs)
    echoed = client.completions.create(model=TINY_MODEL_NAME, prompt="one", max_tokens=4, temperature=0, echo=True)
    assert echoed.choices[0].text == "one" + answer.choices[0].text
    streamed = client.completions.create(model=TINY_MODEL_NAME, prompt="one", max_tokens=4, temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == answer.choices[0].text


def test_structured_outputs_choice_and_json(client: openai.OpenAI) -> None:
    picked = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=8,
                                            extra_body={"structured_outputs": {"choice": ["yes", "no"]}})
    assert picked.choices[0].message.content in ("yes", "no")
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    shaped = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=16,
                                            extra_body={"structured_outputs": {"json": schema}})
    jsonschema.validate(json.loads(shaped.choices[0].message.content), schema)
    with pytest.raises(openai.BadRequestError, match="structural_tag is not supported"):
        client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI,
                                       extra_body={"structured_outputs": {"structural_tag": "{}"}})


def test_image_parts_are_refused(client: openai.OpenAI) -> None:
    image = [{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                          {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}]
    with pytest.raises(openai.BadRequestError, match="text-only"):
        client.chat.completions.create(model=TINY_MODEL_NAME, messages=image)


def test_unknown_fields_are_ignored(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=2,
                                            extra_body={"no_such_field": 1, "presence_penalty": 0.5})
    assert answer.choices[0].finish_reason in ("stop", "length")


def test_tokenize_and_detokenize(http: httpx.Client) -> None:
    tokens = http.post("/tokenize", json={"model": TINY_MODEL_NAME, "prompt": "hi"}).json()
    assert tokens["count"] == len(tokens["tokens"]) and tokens["max_model_len"] == 2048
    assert http.post("/detokenize", json={"model": TINY_MODEL_NAME, "tokens": tokens["tokens"]}).json() == {
        "prompt": "hi"}
    chat = http.post("/tokenize", json={"model": TINY_MODEL_NAME, "messages": HI}).json()
    assert chat["count"] > tokens["count"]
    assert http.post("/tokenize", json={"model": "gpt-9", "prompt": "hi"}).status_code == 404


def test_health_and_metrics(client: openai.OpenAI, http: httpx.Client) -> None:
    health = http.get("/health")
    assert health.status_code == 200 and health.content == b""
    client.chat.completions.create(model=TINY_MODEL_NAME, messages=HI, max_tokens=3)
    families = {f.name: f for f in text_string_to_metric_families(http.get("/metrics").text)}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    model = (("model_name", TINY_MODEL_NAME),)
    assert samples[("vllm:prompt_tokens_total", model)] > 0
    assert samples[("vllm:generation_tokens_total", model)] >= 3
    assert samples[("vllm:time_to_first_token_seconds_count", model)] >= 1
    assert samples[("vllm:e2e_request_latency_seconds_count", model)] >= 1
    ok = (("route", "/v1/chat/completions"), ("status", "200"))
    assert samples[("roboos_brain_http_requests_total", ok)] >= 1
