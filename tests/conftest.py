"""Shared fixtures: one real Redis server per test session, a fresh key prefix per test.

``--redis-url redis://host:port`` runs the suite against an existing server instead of the
embedded one; ``--redis-cluster`` against an embedded 3-master Redis Cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from memory import SharedMemory
from memory.server import EmbeddedCluster, EmbeddedRedis

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--redis-url", default=None, help="use this Redis server instead of an embedded one")
    parser.addoption("--redis-cluster", action="store_true", help="use an embedded 3-master Redis Cluster")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = request.config.getoption("--redis-url")
    if url:
        yield url
        return
    if request.config.getoption("--redis-cluster"):
        server: EmbeddedRedis | EmbeddedCluster = EmbeddedCluster(tmp_path_factory.mktemp("redis"), auth=False)
    else:
        server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), auth=False)  # a throwaway server
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def key_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def shared_memory(redis_url: str, key_prefix: str) -> AsyncIterator[SharedMemory]:
    memory = await SharedMemory.connect(redis_url, prefix=key_prefix)
    try:
        yield memory
    finally:
        await memory.clear()
        await memory.close()


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the project; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (fixtures live beside the project, not in it)")
    return SHARED
