"""Serve one robot's slaver until SIGTERM or SIGINT (``roboos slaver``, in ``deploy.components``).

Example (a simulated arm whose skill server the slaver spawns over stdio)::

    roboos slaver --robot arm-1 --embodiment fixed_single_arm --start-place kitchen \\
        --redis-url redis://127.0.0.1:6379 --prefix roboos: \\
        --skill-command "python -m skills.sim --robot arm-1 --embodiment fixed_single_arm \\
                         --redis-url redis://127.0.0.1:6379 --prefix roboos:"

or, for a skill server already running on the robot: ``--skill-url http://10.0.0.7:8101/mcp``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import signal
import sys

from brain.step import Stepper
from memory import SharedMemory
from memory.shared_memory import redact_url
from slaver.agent import Slaver
from slaver.config import SlaverConfig
from slaver.errors import SlaverError

__all__ = ["parse_skill_annotations", "parse_skill_command", "serve_slaver"]

logger = logging.getLogger(__name__)


def parse_skill_command(text: str) -> list[str]:
    """A JSON list (``["python", "-m", "x"]``) or a shell-style string, split without a shell."""
    text = text.strip()
    if text.startswith("["):
        argv = json.loads(text)
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ValueError(f"--skill-command as JSON must be a list of strings, got {text!r}")
        return argv
    return shlex.split(text)


def parse_skill_annotations(text: str) -> dict[str, dict[str, str]]:
    """``--skill-annotations``: a JSON object, or a YAML/JSON file holding one, of tool ->
    ``{kind, role: argument}`` (``slaver.foreign_skills``); checked here, so a typo stops the start."""
    from pathlib import Path

    import yaml

    from slaver.foreign_skills import parse_annotations

    text = text.strip()
    try:
        data = json.loads(text) if text.startswith("{") else yaml.safe_load(Path(text).read_text())
    except (OSError, ValueError, yaml.YAMLError) as e:
        raise ValueError(f"--skill-annotations: cannot read {text!r} as a JSON object or a YAML/JSON file: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"--skill-annotations must be a mapping of tool -> {{kind, roles}}, got {data!r}")
    parse_annotations(data)
    return data


def serve_slaver(config: SlaverConfig, redis_url: str, prefix: str, stepper: Stepper | None) -> int:
    """Run the slaver until a signal; 0 when stopped, 1 when it had to stop (e.g. its robot is taken)."""
    logger.info("starting slaver %s (%s) with skills at %s, shared memory %s prefix %r",
                config.robot, config.embodiment, config.skill_endpoint, redact_url(redis_url), prefix)
    try:
        asyncio.run(_serve(config, redis_url, prefix, stepper))
    except SlaverError as exc:
        logger.error("slaver %s stopped: %s", config.robot, exc)
        return 1
    return 0


async def _serve(config: SlaverConfig, redis_url: str, prefix: str, stepper: Stepper | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    memory = await SharedMemory.connect(redis_url, prefix=prefix)
    try:
        slaver = Slaver(config, memory, stepper=stepper)
        ready = asyncio.create_task(_announce_ready(slaver))
        try:
            await slaver.run(stop)
        finally:
            ready.cancel()
    finally:
        await memory.close()


async def _announce_ready(slaver: Slaver) -> None:
    await slaver.ready.wait()
    assert slaver.profile is not None
    print(f"slaver {slaver.name} ready ({len(slaver.profile.skills)} skills)", file=sys.stderr, flush=True)
