"""The ``roboos`` command line.

Examples::

    roboos demo --scene restaurant            # start the stack, run the demo task, check, stop
    roboos up --scene household               # start the stack and keep it running (data in run/data)
    roboos task "bring the cup to table 2"    # publish to a running master and follow it live
    roboos status                             # robots, tasks and scene version of a running master
    roboos ui --master http://127.0.0.1:5000  # the web UI on http://127.0.0.1:8888/ (also started by `up`)
    roboos bench dispatch                     # the system's own overhead, in milliseconds
    roboos bench scale                        # the same figures with 10, 100 and 1000 robots
    roboos plan --scene restaurant --simulate "bring the cup to table 2"   # offline: no servers, no Redis
    roboos bench brain                        # the planner on the scene suites and synthetic fleets
    roboos bench brain --planner llm_goals --scene restaurant --limit 10 --no-scaling   # a local model

One subcommand per component, each with its own ``--help``: ``roboos master``, ``roboos slaver``,
``roboos skill sim``, ``roboos skill x0``, ``roboos skill pi0``, ``roboos brain serve``, ``roboos x0 compare``,
``roboos bench plan``, ``roboos bench x0``, ``roboos bench pi0``, ``roboos bench actions``,
``roboos bench adaptive``, ``roboos bench speculative``.

Ports of ``roboos up --base-port N`` (also ``roboos demo``): the master on N, the web UI on N+1,
the brain server on N+2 (when the stack starts one), HTTP skill servers on N+10, N+11... in fleet
order. ``--port``, ``--ui-port`` and ``--skill-port-base`` win over it. Without it: the master on
5000, the UI on 8888, the others on free ports (or the config's ``skills.http_port_base``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from deploy.errors import DeployError

__all__ = ["COMPONENTS", "PORT_OFFSETS", "Component", "build_parser", "main", "version"]

logger = logging.getLogger(__name__)


class Component(NamedTuple):
    """A subcommand that hands its arguments to a component's own command line: ``module.function(argv)``."""

    module: str
    function: str
    help: str


# One or two words each; the first word of a two-word command is a group (``roboos skill --help`` lists it).
COMPONENTS: dict[tuple[str, ...], Component] = {
    ("master",): Component("deploy.components", "master_main", "run the master alone (HTTP API and scheduler)"),
    ("slaver",): Component("deploy.components", "slaver_main", "run one robot's slaver alone"),
    ("skill", "sim"): Component("skills.sim.cli", "main", "a simulated robot's skill server (MCP)"),
    ("skill", "x0"): Component("skills.x0.cli", "main", "the RoboBrain-X0 action model's skill server (MCP)"),
    ("skill", "pi0"): Component("skills.pi0.cli", "main",
                                "a pi0 skill server (MCP) asking a FlagScale pi0 server, or a reference server"),
    ("x0", "compare"): Component("skills.x0.cli", "compare_main", "compare two X0 backends on one input"),
    ("brain", "serve"): Component("brain.server.cli", "main", "an OpenAI-compatible server for local models"),
    ("bench", "plan"): Component("brain.llm.bench", "bench_plan_main", "the LLM planning prompt against RoboOS's"),
    ("bench", "x0"): Component("skills.x0.cli", "bench_main", "X0 latency per action chunk, per backend"),
    ("bench", "pi0"): Component("skills.pi0.bench", "main", "what the pi0 client adds to a chunk's round trip"),
    ("bench", "actions"): Component("deploy.bench_actions", "main",
                                    "one action model shared by robots: shares, fairness, underruns, latency"),
    ("bench", "adaptive"): Component("deploy.bench_adaptive", "main",
                                     "model calls saved by adaptive chunking, and the MAPE it costs"),
    ("bench", "speculative"): Component("skills.x0.cli", "speculative_main",
                                        "speculative X0 decoding: identical tokens, decode speed-up"),
    ("ui",): Component("deploy.ui.server", "main", "run the web UI alone, against a running master"),
}
GROUP_HELP = {
    "skill": "robot-side skill servers: sim, x0, pi0",
    "x0": "the X0 action model: compare",
    "brain": "the brain's servers: serve",
}

# Offsets from `--base-port N` (see the module's docstring); skill servers take one port each from N+10.
PORT_OFFSETS = {"master": 0, "ui": 1, "brain_server": 2, "skills": 10}
DEFAULT_UI_PORT = 8888


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for words, component in COMPONENTS.items():  # before building the parser: it imports the planners
        if tuple(argv[: len(words)]) == words:
            return _run_component(component, argv[len(words):])
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "component", None):  # reached through global options, e.g. `roboos --log-level INFO master`
        return _run_component(COMPONENTS[args.component], rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    _setup_logging(args.log_level)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background (SIG_IGN)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except DeployError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--log-level", default=os.environ.get("ROBOOS_LOG_LEVEL", "WARNING"),
                        help="log level of this command (components log to run/<time>/logs)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start the whole stack for a scene and keep it running")
    _stack_options(up)
    up.add_argument("--data-dir", type=Path, default=None,
                    help="the embedded Redis' data (append-only file, password), kept across restarts "
                         "(default: <run_dir>/data)")
    up.add_argument("--reset-scene", action="store_true",
                    help="load the scene even when Redis already holds a world (default: keep that world)")
    up.add_argument("--ui-port", type=_port, default=None,
                    help="web UI port on 127.0.0.1 (default 8888, or base port + 1; 0: a free one)")
    up.add_argument("--no-ui", action="store_true", help="do not start the web UI")
    up.set_defaults(handler=_up)

    demo = sub.add_parser("demo", help="start the stack, run a scene's demo task, check the result, stop")
    _stack_options(demo)
    demo.add_argument("--task", default=None, help="name of the scene's demo task (default: its first)")
    demo.add_argument("--timeout", type=float, default=300.0, help="seconds the task may take (default 300)")
    demo.set_defaults(handler=_demo)

    task = sub.add_parser("task", help="publish a task to a running master and follow it")
    task.add_argument("text", help="the instruction, e.g. 'bring the cup to table 2'")
    _master_options(task)
    task.add_argument("--timeout", type=float, default=300.0, help="seconds to follow it (default 300)")
    task.set_defaults(handler=_task)

    status = sub.add_parser("status", help="what a running master knows: robots, latest tasks, scene version")
    _master_options(status)
    _status_arguments(status)
    status.set_defaults(handler=_status)

    plan = sub.add_parser("plan", help="plan an instruction offline against a scene (no servers, no Redis)")
    _plan_arguments(plan)
    plan.set_defaults(handler=_plan)

    bench = sub.add_parser("bench", help="benchmarks: dispatch, scale, chaos, ui, brain "
                                         "(also: plan, x0, pi0, actions, adaptive, speculative)")
    bench.set_defaults(handler=_group_help(bench))
    bench_sub = bench.add_subparsers(dest="bench", metavar="BENCH")
    dispatch = bench_sub.add_parser("dispatch", help="handoff latency and throughput of the embedded stack")
    dispatch.add_argument("--handoffs", type=int, default=200, help="handoffs to time (default 200)")
    dispatch.add_argument("--robots", type=int, default=50, help="robots in the throughput run (default 50)")
    dispatch.add_argument("--subtasks", type=int, default=2000, help="subtasks in the throughput run")
    dispatch.add_argument("--redis-url", default=None, help="an existing Redis (default: embedded)")
    dispatch.set_defaults(handler=_bench_dispatch)
    scale = bench_sub.add_parser("scale", help="dispatch figures, master and Redis memory with 10 to 1000 robots")
    _scale_bench_arguments(scale)
    scale.set_defaults(handler=_bench_scale)
    chaos = bench_sub.add_parser("chaos", help="fault injection (kill -9 of each component...) and load: "
                                               "lost, duplicated, stuck, 5xx")
    _chaos_arguments(chaos)
    chaos.set_defaults(handler=_bench_chaos)
    ui_bench = bench_sub.add_parser("ui", help="event-to-screen latency of the web UI's dashboard in headless Chromium")
    _ui_bench_arguments(ui_bench)
    ui_bench.set_defaults(handler=_bench_ui)
    brain = bench_sub.add_parser("brain", help="the planner on the suites in deploy/suites/brain, and at scale")
    _bench_brain_arguments(brain)
    brain.set_defaults(handler=_bench_brain)
    _component_parsers(sub, {"bench": bench_sub})
    return parser


def _component_parsers(sub: Any, groups: dict[str, Any]) -> None:
    """A subcommand per component (its own parser answers ``--help``) and a group per first word."""
    for words, component in COMPONENTS.items():
        if len(words) == 1:
            parent = sub
        elif words[0] in groups:
            parent = groups[words[0]]
        else:
            summary = GROUP_HELP.get(words[0], f"{words[0]} components")
            group = sub.add_parser(words[0], help=summary, description=f"{summary}; each has its own --help")
            group.set_defaults(handler=_group_help(group))
            parent = groups[words[0]] = group.add_subparsers(dest=words[0], metavar="COMPONENT")
        parser = parent.add_parser(words[-1], help=component.help, add_help=False)
        parser.set_defaults(component=words)


def _group_help(group: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """The handler of a group named alone (``roboos skill``): its help on stderr, exit status 2."""

    def show(_: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return 2

    return show


def _stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", default=None, help="scene name or YAML path (default: config's, restaurant)")
    parser.add_argument("--config", default=os.environ.get("ROBOOS_CONFIG"), help="YAML config file")
    parser.add_argument("--redis-url", default=None,
                        help="use this Redis instead of the embedded one (a cluster node's URL selects the cluster)")
    parser.add_argument("--redis-cluster", action="store_true", default=None,
                        help="embed a 3-master Redis Cluster instead of one server")
    parser.add_argument("--port", type=_port, default=None,
                        help="master port (default 5000, or the base port; 0 for a free one)")
    parser.add_argument("--base-port", type=_port, default=None, metavar="N",
                        help="move every port of the stack: master N, web UI N+1, brain server N+2, "
                             "HTTP skill servers from N+10")
    parser.add_argument("--skill-port-base", type=_port, default=None, metavar="N",
                        help="HTTP skill servers on N, N+1... (default: free ports, or base port + 10)")
    parser.add_argument("--brain", choices=_planners(), default=None, help="planner (default symbolic)")
    parser.add_argument("--speed", type=float, default=None, help="scale of simulated skill durations (0: instant)")


def _master_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master", default=os.environ.get("ROBOOS_MASTER_URL", "http://127.0.0.1:5000"),
                        help="master URL (default http://127.0.0.1:5000, or ROBOOS_MASTER_URL)")
    parser.add_argument("--token", default=os.environ.get("ROBOOS_AUTH_TOKEN"), help="bearer token, if set")


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from deploy.config import load_config
    from scene import SceneError, load_scene

    config = load_config(args.config, {
        "redis_url": args.redis_url,
        "redis_cluster": args.redis_cluster,
        "master.port": _chosen_port(args.port, args.base_port, "master"),
        "skills.http_port_base": _chosen_port(args.skill_port_base, args.base_port, "skills"),
        "brain_server.port": _chosen_port(None, args.base_port, "brain_server"),
        "planner": args.brain,
        "skills.speed": args.speed,
        "scene": args.scene,
    })
    logger.info("configuration: %s", config.redacted())
    try:
        return config, load_scene(config.scene)
    except SceneError as e:
        raise DeployError(str(e)) from e


def _up(args: argparse.Namespace) -> int:
    from deploy.demo import wait_forever
    from deploy.stack import Stack

    config, scene = _load(args)
    data_dir = args.data_dir or config.run_dir / "data"
    ui_port = None if args.no_ui else _chosen_port(args.ui_port, args.base_port, "ui", DEFAULT_UI_PORT)
    with Stack(config, scene, data_dir=data_dir, reset_scene=args.reset_scene, ui_port=ui_port) as stack:
        if stack.ui_url:
            print(f"web UI at {stack.ui_url}/", flush=True)
        return wait_forever(stack, sys.stdout)


def _demo(args: argparse.Namespace) -> int:
    from deploy.demo import run_demo
    from scene import SceneError

    config, scene = _load(args)
    try:
        task = scene.demo_task(args.task)
    except SceneError as e:
        raise DeployError(str(e)) from e
    return run_demo(config, scene, task, sys.stdout, args.timeout)


def _task(args: argparse.Namespace) -> int:
    from deploy.follow import MasterClient, TaskFollower, summary

    client = MasterClient(args.master, token=args.token, timeout_s=args.timeout)
    try:
        record = TaskFollower(client, sys.stdout).run(args.text, args.timeout)
    finally:
        client.close()
    for line in summary(record):
        print(line)
    return 0 if record["state"] == "succeeded" else 1


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gone-after", type=float, default=60.0, metavar="SECONDS",
                        help="hide robots offline for longer than this (default 60; earlier runs' robots)")
    parser.add_argument("--all", action="store_true", help="show every registered robot, however long gone")
    parser.add_argument("--tasks", type=int, default=10, metavar="N", help="the N latest tasks (default 10; 0: none)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def _status(args: argparse.Namespace) -> int:
    from deploy.follow import MasterClient
    from deploy.status import fetch_status, write_status, write_status_json

    client = MasterClient(args.master, token=args.token, timeout_s=10.0)
    try:
        status = fetch_status(client, tasks=max(0, min(args.tasks, 500)))
    finally:
        client.close()
    write = write_status_json if args.json else write_status
    write(status, sys.stdout, gone_after_s=args.gone_after, show_all=args.all)
    return 0


def _bench_dispatch(args: argparse.Namespace) -> int:
    from deploy.bench import run_dispatch_bench

    return run_dispatch_bench(args, sys.stdout)


def _scale_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--robots", type=_sizes, default=[10, 100, 1000], help="fleet sizes (default 10,100,1000)")
    parser.add_argument("--workers", type=_positive, default=4, help="processes the slavers share (default 4)")
    parser.add_argument("--tasks", type=_positive, default=100, help="publishes timed per size (default 100)")
    parser.add_argument("--handoffs", type=_positive, default=30, help="handoffs timed per size (default 30)")
    parser.add_argument("--subtasks", type=_positive, default=1000, help="subtasks in each throughput run")
    parser.add_argument("--concurrency", type=_positive, default=16, help="throughput tasks in flight (default 16)")
    parser.add_argument("--throughput-s", type=float, default=20.0, help="no new throughput task after (default 20)")
    parser.add_argument("--throughput-robots", type=_positive, default=200,
                        help="the size of the closing throughput line, run on its own if not in --robots")
    parser.add_argument("--cluster", action="store_true", help="on an embedded 3-master Redis Cluster")


def _bench_scale(args: argparse.Namespace) -> int:
    from deploy.bench_scale import run_scale_bench

    try:
        return run_scale_bench(args, sys.stdout)
    except (RuntimeError, TimeoutError) as e:  # a task the bench needed failed: say which and why
        raise DeployError(f"bench scale stopped: {e}") from e


def _chaos_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=_positive, default=5, help="trials per scenario (default: 5)")
    parser.add_argument("--scenario", action="append", default=None, metavar="NAME",
                        help="run this scenario, e.g. 'slaver kill -9' (repeatable; default: all; "
                             "an unknown name lists them)")
    parser.add_argument("--publish-clients", type=int, default=1000,
                        help="concurrent publishes of the load line (0: skip it; default: 1000)")
    parser.add_argument("--event-clients", type=int, default=300,
                        help="concurrent /events streams of the load line (0: skip it; default: 300)")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="keep the stack's logs here (default: a temporary folder, removed)")


def _bench_chaos(args: argparse.Namespace) -> int:
    from deploy.chaos import run_chaos_from_args

    return run_chaos_from_args(args, sys.stdout)


def _ui_bench_arguments(parser: argparse.ArgumentParser) -> None:
    from deploy.bench_ui import add_ui_bench_arguments  # standard library only at import

    add_ui_bench_arguments(parser)


def _bench_ui(args: argparse.Namespace) -> int:
    from deploy.bench_ui import run_ui_bench

    options = {k: getattr(args, k) for k in ("robots", "events", "gap_ms", "miss_after_s", "chromium")}
    return run_ui_bench(sys.stdout, **options)


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="the instruction, e.g. 'bring the cup to table 2'")
    parser.add_argument("--scene", required=True, help="scene name (restaurant, household...) or YAML path")
    parser.add_argument("--simulate", action="store_true",
                        help="run the plan in-process with the world rules; print the goals' end state")
    parser.add_argument("--json", action="store_true", help="print one JSON object (see README) instead of text")


def _plan(args: argparse.Namespace) -> int:
    from deploy.plan_cli import run_plan

    return run_plan(args, sys.stdout, sys.stderr)


def _bench_brain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default=None, help="folder of suite YAML files (default deploy/suites/brain)")
    parser.add_argument("--scene", nargs="+", default=None, metavar="NAME", help="only these scenes' suites")
    parser.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=True,
                        help="also plan on synthetic worlds of 10, 100 and 1000 robots (default: yes)")
    parser.add_argument("--budget-s", type=float, default=60.0,
                        help="seconds each synthetic world size may take in all (default 60)")
    parser.add_argument("--planner", choices=_planners(), default="symbolic",
                        help="planner of the suites' cases (default symbolic; scaling is always symbolic)")
    parser.add_argument("--limit", type=_positive, default=None, metavar="N",
                        help="at most N cases per suite, spread evenly over it")
    parser.add_argument("--base-url", default=None,
                        help="an OpenAI-compatible endpoint for an LLM planner (default: start `roboos brain serve`)")
    parser.add_argument("--model", default=None, help="the served model for an LLM planner (default: the server's)")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 0-65535, got {text}")
    return value


def _chosen_port(explicit: int | None, base: int | None, component: str, default: int | None = None) -> int | None:
    """The port of ``component``: its own flag, else ``--base-port`` plus its offset, else ``default``."""
    if explicit is not None:
        return explicit
    return default if base is None else base + PORT_OFFSETS[component]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def _sizes(text: str) -> list[int]:
    return [_positive(part) for part in text.split(",")]


def _planners() -> list[str]:
    from brain.planner import Planner

    return Planner.available()


def _bench_brain(args: argparse.Namespace) -> int:
    from deploy.bench_brain import run_brain_bench

    return run_brain_bench(args, sys.stdout)


def _run_component(component: Component, argv: list[str]) -> int:
    return _component(component.module, component.function)(argv)


def _component(module: str, function: str) -> Callable[[list[str]], int]:
    try:
        return getattr(importlib.import_module(module), function)
    except ImportError as e:
        raise SystemExit(f"error: {module} cannot be loaded ({e}); is the optional extra installed? "
                         "Try: pip install -e '.[x0,llm]'") from e


def version() -> str:
    """The installed package's version; pyproject.toml's in a source tree that was never installed."""
    try:
        return importlib.metadata.version("roboos")
    except importlib.metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
