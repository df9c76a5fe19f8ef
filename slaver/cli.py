"""Run one robot's slaver until SIGTERM or SIGINT.

Example (a simulated arm whose skill server the slaver spawns over stdio)::

    python -m slaver --robot arm-1 --embodiment fixed_single_arm --start-place kitchen \\
        --redis-url redis://127.0.0.1:6379 --prefix roboos: \\
        --skill-command "python -m skills.sim --robot arm-1 --embodiment fixed_single_arm \\
                         --redis-url redis://127.0.0.1:6379 --prefix roboos:"

or, for a skill server already running on the robot: ``--skill-url http://10.0.0.7:8101/mcp``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import signal
import sys

from brain.errors import BrainError
from brain.step import Stepper
from memory import SharedMemory
from memory.shared_memory import redact_url
from slaver.agent import Slaver
from slaver.config import SlaverConfig
from slaver.errors import SlaverError

__all__ = ["main", "parse_skill_command"]

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos slaver", description="Run one robot's slaver.")
    parser.add_argument("--robot", required=True, help="robot name")
    parser.add_argument("--embodiment", required=True, help="embodiment, e.g. fixed_single_arm")
    parser.add_argument("--start-place", default=None, help="place the robot starts at")
    parser.add_argument("--redis-url", default=os.environ.get("ROBOOS_REDIS_URL", "redis://127.0.0.1:6379"),
                        help="shared memory (default: $ROBOOS_REDIS_URL or redis://127.0.0.1:6379)")
    parser.add_argument("--prefix", default="roboos:", help="key prefix in shared memory")
    endpoint = parser.add_mutually_exclusive_group(required=True)
    endpoint.add_argument("--skill-command", help="spawn the skill server over stdio (JSON list or string)")
    endpoint.add_argument("--skill-url", help="reach the skill server over streamable HTTP")
    parser.add_argument("--heartbeat-interval", type=float, default=1.0, help="seconds between heartbeats")
    parser.add_argument("--liveness-ttl", type=float, default=3.0, help="seconds a heartbeat keeps it online")
    parser.add_argument("--call-timeout", type=float, default=30.0,
                        help="seconds one skill call may take (bounded by what is left of the subtask's timeout)")
    parser.add_argument("--stepper", choices=("llm",), default=None,
                        help="work out subtasks given without tool calls with this step planner")
    parser.add_argument("--llm-config", default=None,
                        help="JSON file of LLM settings for --stepper llm (keys as in the llm: config section)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING...")
    return parser


def _stepper(args: argparse.Namespace) -> Stepper | None:
    if args.stepper is None:
        return None
    from brain.llm.config import LLMConfig

    return Stepper.create(args.stepper, config=LLMConfig.from_file(args.llm_config))


def _config(args: argparse.Namespace) -> SlaverConfig:
    return SlaverConfig(
        robot=args.robot,
        embodiment=args.embodiment,
        start_place=args.start_place,
        skill_command=parse_skill_command(args.skill_command) if args.skill_command else [],
        skill_url=args.skill_url or "",
        heartbeat_interval_s=args.heartbeat_interval,
        liveness_ttl_s=args.liveness_ttl,
        default_call_timeout_s=args.call_timeout,
    )


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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = _config(args)
        stepper = _stepper(args)
    except (SlaverError, BrainError, ValueError) as exc:
        print(f"roboos slaver: {exc}", file=sys.stderr)
        return 2
    logger.info("starting slaver %s (%s) with skills at %s, shared memory %s prefix %r",
                config.robot, config.embodiment, config.skill_endpoint, redact_url(args.redis_url), args.prefix)
    try:
        asyncio.run(_serve(config, args.redis_url, args.prefix, stepper))
    except SlaverError as exc:
        logger.error("slaver %s stopped: %s", config.robot, exc)
        return 1
    return 0
