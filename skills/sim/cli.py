"""Run one simulated robot as an MCP skill server.

Example::

    python -m skills.sim --robot chef --embodiment wheeled_dual_arm \
        --redis-url redis://127.0.0.1:6379 --prefix roboos: --zones kitchen,pass \
        --transport streamable-http --port 18101

Drive the arm with RoboBrain-X0 (the untrained demo model, or a checkpoint)::

    python -m skills.sim --robot kitchen_arm --embodiment fixed_single_arm \
        --redis-url redis://127.0.0.1:6379 --x0-demo-model --x0-embodiment franka

or with a pi0 policy served over FlagScale's protocol (``roboos skill pi0 --serve-reference``
starts a reference one)::

    python -m skills.sim --robot folder --embodiment wheeled_dual_arm \
        --redis-url redis://127.0.0.1:6379 --pi0-server http://127.0.0.1:5000

Over stdio, stdout is the MCP protocol and every log line goes to stderr. Over HTTP, the server
binds 127.0.0.1 unless told otherwise and logs ``skill server NAME ready on URL`` when it listens
(with X0, only after the model has loaded).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import anyio

from memory import SharedMemory, SharedMemoryError
from skills.errors import SkillError
from skills.pi0.protocol import EMBODIMENTS as PI0_EMBODIMENTS
from skills.pi0.protocol import VARIANTS as PI0_VARIANTS
from skills.sim.embodiments import EMBODIMENTS, embodiment_spec
from skills.sim.pi0_arm import Pi0Arm, default_pi0_embodiment
from skills.sim.server import build_sim_server
from skills.sim.x0_arm import Arm, X0Arm, default_x0_embodiment
from skills.x0.contract import EMBODIMENTS as X0_EMBODIMENTS

__all__ = ["build_arg_parser", "main", "run_sim"]

logger = logging.getLogger(__name__)


def build_arg_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The flags of a simulated skill server; pass a parser (a subcommand's) to fill it."""
    if parser is None:
        parser = argparse.ArgumentParser(prog="roboos skill sim", description=__doc__.split("\n")[0])
    parser.add_argument("--robot", required=True, help="the robot's name (its scene node)")
    parser.add_argument("--embodiment", required=True, choices=sorted(EMBODIMENTS), help="the body")
    parser.add_argument("--redis-url", required=True, help="shared memory, e.g. redis://127.0.0.1:6379")
    parser.add_argument("--prefix", default="roboos:", help="shared-memory key prefix (default: roboos:)")
    parser.add_argument("--zones", default="", type=_names,
                        help="comma-separated places the robot may go (default: anywhere)")
    parser.add_argument("--body", type=_body_overrides, default={},
                        help="JSON object overriding the embodiment's body: grippers, payload_kg, reach, "
                        "can_open, station, cargo (a scene fleet entry's keys)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="time scale of skill durations: 1 real, 0.1 ten times faster, 0 instant")
    parser.add_argument("--failure-probability", type=float, default=0.0,
                        help="chance that a skill fails on purpose after acting (0..1)")
    parser.add_argument("--added-latency", type=float, default=0.0, dest="added_latency_s",
                        help="seconds added to every skill call")
    parser.add_argument("--seed", type=int, default=None, help="seed of the injected faults")
    parser.add_argument("--transport", choices=("stdio", "streamable-http", "http"), default="stdio",
                        help="stdio (spawned by the slaver) or streamable-http (http is the same)")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8101, help="HTTP port; 0 picks a free one (default: 8101)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    x0 = parser.add_mutually_exclusive_group()
    x0.add_argument("--x0-demo-model", action="store_true",
                    help="drive the arm with the untrained X0 demo model (built locally, needs roboos[x0])")
    x0.add_argument("--x0-model", type=Path, default=None, help="drive the arm with this X0 checkpoint folder")
    parser.add_argument("--x0-embodiment", choices=sorted(X0_EMBODIMENTS), default=None,
                        help="X0 embodiment of the arm (default: franka for one arm, agilex or a2d for two)")
    x0.add_argument("--pi0-server", default=None, metavar="URL",
                    help="drive the arm with the pi0 server at URL (FlagScale's protocol; see roboos skill pi0)")
    parser.add_argument("--pi0-embodiment", choices=sorted(PI0_EMBODIMENTS), default=None,
                        help="pi0 embodiment of the arm (default: aloha for two grippers, franka for one)")
    parser.add_argument("--pi0-protocol", choices=PI0_VARIANTS, default="flagscale",
                        help="the pi0 server's protocol variant (default flagscale)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_sim(args)


def run_sim(args: argparse.Namespace) -> int:
    """Serve one simulated robot from parsed :func:`build_arg_parser` flags until stopped."""
    logger.info("simulated %s %s: zones=%s speed=%g failure_probability=%g added_latency_s=%g seed=%s "
                "transport=%s", args.embodiment, args.robot, ",".join(args.zones) or "anywhere", args.speed,
                args.failure_probability, args.added_latency_s, args.seed, args.transport)
    try:
        anyio.run(_check_shared_memory, args.redis_url, args.prefix)
        server = build_sim_server(
            args.robot, args.embodiment, redis_url=args.redis_url, prefix=args.prefix, zones=args.zones,
            speed=args.speed, failure_probability=args.failure_probability,
            added_latency_s=args.added_latency_s, seed=args.seed, arm=_arm(args), body_overrides=args.body,
        )
        transport = "streamable-http" if args.transport == "http" else args.transport
        server.run(transport, host=args.host, port=args.port)
    except SkillError as e:
        logger.error("%s", e)
        return 2
    except KeyboardInterrupt:
        logger.info("%s stopped", args.robot)
    return 0


def _arm(args: argparse.Namespace) -> Arm | None:
    """The action-model arm the flags ask for (an X0 model loads in seconds), or None."""
    if args.pi0_server:
        pi0_embodiment = args.pi0_embodiment or default_pi0_embodiment(embodiment_spec(args.embodiment))
        return Pi0Arm.connect(args.pi0_server, pi0_embodiment, variant=args.pi0_protocol, robot=args.robot)
    if not (args.x0_demo_model or args.x0_model):
        return None
    x0_embodiment = args.x0_embodiment or default_x0_embodiment(embodiment_spec(args.embodiment))
    logger.info("%s: loading X0 (%s) for the %s embodiment", args.robot,
                args.x0_model or "demo model", x0_embodiment)
    return X0Arm.load(x0_embodiment, args.x0_model)


async def _check_shared_memory(url: str, prefix: str) -> None:
    """Fail fast, in one line, when Redis is unreachable."""
    try:
        memory = await SharedMemory.connect(url, prefix=prefix)
    except SharedMemoryError as e:
        raise SkillError(f"the simulated robot needs the shared memory: {e}") from e
    await memory.close()


def _body_overrides(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"--body must be a JSON object: {e}") from e
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"--body must be a JSON object, got {type(value).__name__}")
    return value


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]
