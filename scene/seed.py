"""Putting a scene's world into shared memory, once: the one rule for ``roboos up`` and ``roboos master --scene``."""

from __future__ import annotations

import logging

from memory import SharedMemory
from scene.profile import SceneProfile

__all__ = ["seed_scene"]

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
