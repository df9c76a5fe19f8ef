"""``roboos master`` and ``roboos slaver``: each component reads the stack's one config file.

Examples::

    roboos master --config roboos.yaml                       # the master: section, llm:, redis_url...
    roboos master --redis-url redis://127.0.0.1:6379 --port 5000 --set master.subtask_timeout_s=30
    roboos slaver --config roboos.yaml --robot arm-1 --embodiment fixed_single_arm --start-place kitchen \\
        --skill-url http://10.0.0.7:8101/mcp

The file, then the environment (``deploy.config.ENV_OVERRIDES``), then ``--set KEY=VALUE`` and the
flags: flags exist only for what people type by hand. ``roboos up`` writes the resolved config once
to ``<run dir>/config.yaml`` (without secrets: those travel in the environment) and starts every
component with ``--config`` on it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from brain.errors import BrainError
from deploy.config import RoboOSConfig, load_config, parse_assignment
from deploy.errors import ConfigError

__all__ = ["DEFAULT_REDIS_URL", "master_main", "slaver_main"]

logger = logging.getLogger(__name__)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"  # a master or slaver alone starts no Redis


def master_main(argv: list[str] | None = None) -> int:
    from master.log_format import configure_logging
    from master.server import build_planner, serve

    args = _master_parser().parse_args(argv)
    config = _load_or_report(args, {"master.host": args.host, "master.port": args.port, "planner": args.planner},
                             configure_logging)
    if config is None:
        return 2
    try:
        planner = build_planner(config.planner, config.llm)
    except BrainError as e:
        logger.error("cannot build the %s planner: %s", config.planner, e)
        return 2
    redis_url = config.redis_url or DEFAULT_REDIS_URL
    if args.scene and not _seeded(args.scene, redis_url, config.prefix):
        return 1
    serve(config.master, redis_url, config.prefix, planner, own_process=True)
    return 0


def _seeded(name: str, redis_url: str, prefix: str) -> bool:
    """``--scene``: its world loaded into an empty deployment (a world already there is kept)."""
    from memory import SharedMemoryError
    from scene import SceneError, load_scene
    from scene.seed import seed_scene_at

    try:
        asyncio.run(seed_scene_at(redis_url, prefix, load_scene(name)))
    except (SceneError, SharedMemoryError) as e:
        logger.error("cannot load the scene %s: %s", name, e)
        return False
    return True


def slaver_main(argv: list[str] | None = None) -> int:
    from slaver.cli import parse_skill_annotations, parse_skill_command, serve_slaver
    from slaver.config import SlaverConfig

    args = _slaver_parser().parse_args(argv)
    config = _load_or_report(args, {}, _plain_logging)
    if config is None:
        return 2
    try:
        robot = SlaverConfig.for_robot(
            config.slaver, robot=args.robot, embodiment=args.embodiment, start_place=args.start_place,
            skill_command=parse_skill_command(args.skill_command) if args.skill_command else [],
            skill_url=args.skill_url or "",
            skill_annotations=parse_skill_annotations(args.skill_annotations) if args.skill_annotations else {})
        stepper = _stepper(config, args.stepper)
    except (BrainError, ValueError) as e:
        print(f"roboos slaver: {e}", file=sys.stderr)
        return 2
    return serve_slaver(robot, config.redis_url or DEFAULT_REDIS_URL, config.prefix, stepper)


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=os.environ.get("ROBOOS_CONFIG"),
                        help="the stack's YAML config file (default: $ROBOOS_CONFIG; none: the defaults)")
    parser.add_argument("--redis-url", default=None,
                        help=f"shared memory (default: the config's redis_url, $ROBOOS_REDIS_URL, or {DEFAULT_REDIS_URL})")
    parser.add_argument("--prefix", default=None, help="key prefix of this deployment in Redis (default roboos:)")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="any config key, e.g. --set master.subtask_timeout_s=30 (repeatable; value as YAML)")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO (default), WARNING, ERROR")


def _master_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roboos master", description="Run the RoboOS master (HTTP API and scheduler).",
        epilog="Every other setting comes from the --config file (docs/configuration.md) or --set.")
    _common_options(parser)
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 5000; 0 picks a free one)")
    parser.add_argument("--planner", default=None, help="symbolic (default), llm or llm_goals")
    parser.add_argument("--scene", default=None,
                        help="load this scene (name or YAML path) into an empty deployment first; a world "
                             "already in Redis is kept")
    return parser


def _slaver_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roboos slaver", description="Run one robot's slaver until SIGTERM or SIGINT.",
        epilog="Heartbeat, timeouts and reconnection come from the slaver: section of --config, or --set.")
    _common_options(parser)
    parser.add_argument("--robot", required=True, help="robot name")
    parser.add_argument("--embodiment", required=True, help="embodiment, e.g. fixed_single_arm")
    parser.add_argument("--start-place", default=None, help="place the robot starts at")
    endpoint = parser.add_mutually_exclusive_group(required=True)
    endpoint.add_argument("--skill-command", help="spawn the skill server over stdio (JSON list or string)")
    endpoint.add_argument("--skill-url", help="reach the skill server over streamable HTTP")
    parser.add_argument("--skill-annotations", default=None, metavar="FILE-or-JSON",
                        help="semantics for the tools of a server without them (a RoboOS skill.py): "
                             '{"grasp_object": {"kind": "pick", "object": "object"}, ...}')
    parser.add_argument("--stepper", choices=("llm", "none"), default=None,
                        help="work out subtasks given without tool calls with the LLM step loop "
                             "(default: llm when the config's planner uses the LLM, else none)")
    return parser


def _load_or_report(args: argparse.Namespace, flags: dict[str, object], configure) -> RoboOSConfig | None:
    """The config from the file, the environment, ``--set`` and the flags; None after logging why not."""
    try:
        overrides = dict(parse_assignment(text) for text in args.assignments)
        flags = {**flags, "redis_url": args.redis_url, "prefix": args.prefix, "log_level": args.log_level}
        overrides.update({key: value for key, value in flags.items() if value is not None})
        config = load_config(args.config, overrides)
    except ConfigError as e:
        configure((args.log_level or "INFO").upper())
        logger.error("invalid configuration: %s", e)
        return None
    configure(config.log_level)
    return config


def _plain_logging(level: str) -> None:
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _stepper(config: RoboOSConfig, choice: str | None):
    from brain.step import Stepper

    if choice == "none" or (choice is None and not config.uses_llm):
        return None
    return Stepper.create("llm", config=config.llm)
