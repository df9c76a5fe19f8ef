"""Schemathesis against the document the master serves at ``GET /openapi.yaml``.

Every operation, ``/events`` included, gets generated requests, valid and invalid, against a real
master (waitress on loopback, real Redis, a scene and two robots), a bounded number per operation
and with a fixed seed, so CI sees the same requests each run. Every answer must be no 5xx, with a
documented status code, content type and headers and a body that matches its schema; a request
the document says is invalid must be refused, and a method it does not list gets 405.

``/events`` never ends by itself: schemathesis reads an event stream for the request timeout, then
checks each complete event against the schema. Two passes: with the master's bearer token, and
the POST operations without it (each must answer the documented 401).
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from memory import SharedMemory
from tests.master.conftest import Masters
from tests.master.fakes import FixedPlanner, plan_of, setup_world, step

TOKEN = "fuzz-token"
SEED = 20240909
MAX_EXAMPLES = 25  # per operation, for the fuzzing phase (the examples and coverage phases add theirs)
REQUEST_TIMEOUT_S = 10
STREAM_READ_S = 0.5  # how long one /events answer is read before its events are checked
# That timeout also bounds the wait for the answer's headers (about 15 ms here). In the full suite a
# pause of this shared process (a full garbage collection, CI neighbours) once took longer, so a
# header timeout is retried; a stream that never answers still fails, after the retries.
STREAM_RETRIES = 2
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "unsupported_method",
]


def fuzz_config(base: str, *, token: bool) -> SchemathesisConfig:
    operations = [
        {"include-path": "/events", "request-timeout": STREAM_READ_S, "request-retries": STREAM_RETRIES},
        {"include-path": "/openapi.yaml", "enabled": True},  # the document's own operation runs only if named
    ]
    if not token:  # reads stay open: only the POST operations answer differently without the token
        operations.append({"exclude-method": "POST", "enabled": False})
    return SchemathesisConfig.from_dict({
        "seed": SEED,
        "base-url": base,
        "headers": {"Authorization": f"Bearer {TOKEN}"} if token else {},
        "request-timeout": REQUEST_TIMEOUT_S,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "operations": operations,
    })


async def load_world(redis_url: str, prefix: str) -> None:
    memory = await SharedMemory.connect(redis_url, prefix=prefix)
    try:
        await setup_world(memory, ttl_s=600)  # online for the whole run: publishes plan and dispatch
    finally:
        await memory.close()


async def clear_world(redis_url: str, prefix: str) -> None:
    memory = await SharedMemory.connect(redis_url, prefix=prefix)
    try:
        await memory.clear()
    finally:
        await memory.close()


@pytest.fixture(params=["token", "no token"])
def served_schema(request: pytest.FixtureRequest, masters: Masters) -> Iterator[OpenApiSchema]:
    if not hasattr(request.node, "_nodeid"):  # schemathesis 4.32's lazy schemas read it; pytest 9.2 dropped it
        request.node._nodeid = request.node.nodeid
    anyio.run(load_world, masters.redis_url, masters.prefix)
    try:
        with masters.serve(FixedPlanner(plan_of(step("s1", "r1"))), auth_token=TOKEN) as base:
            config = fuzz_config(base, token=request.param == "token")
            yield schemathesis.openapi.from_url(f"{base}/openapi.yaml", config=config)
    finally:
        anyio.run(clear_world, masters.redis_url, masters.prefix)


schema = schemathesis.pytest.from_fixture("served_schema")


@pytest.mark.timeout(90)
@schema.parametrize()
def test_every_operation_answers_as_documented(case: Case) -> None:
    case.call_and_validate()
