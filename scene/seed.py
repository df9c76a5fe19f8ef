"""Putting a scene's world into shared memory, once: the one rule for ``roboos up`` and ``roboos master --scene``."""

from __future__ import annotations

import logging

from memory import SharedMemory
from scene.profile import SceneProfile

__all__ = ["seed_scene", "seed_scene_at"]

logger = logging.getLogger(__name__)


async def seed_scene(memory: SharedMemory, scene: SceneProfile, *, reset: bool = False) -> tuple[int, bool]:
    """Load ``scene`` into an empty deployment (or over any world when ``reset``); keep a world already
    there. Returns the scene version and whether it was loaded."""
    version = await memory.scene.version()
    if version and not reset:
        logger.info("kept the world in Redis (scene version %d)", version)
        return version, False
    nodes = scene.world_nodes()
    version = await memory.scene.load(nodes)
    logger.info("scene %s loaded (%d nodes, version %d)", scene.name, len(nodes), version)
    return version, True


async def seed_scene_at(
    redis_url: str, prefix: str, scene: SceneProfile, *, reset: bool = False, password: str | None = None
) -> tuple[int, bool]:
    """``seed_scene`` on a connection of its own to the Redis at ``redis_url``."""
    memory = await SharedMemory.connect(redis_url, prefix=prefix, password=password)
    try:
        return await seed_scene(memory, scene, reset=reset)
    finally:
        await memory.close()
