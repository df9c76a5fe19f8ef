"""The ``roboos`` command line.

Examples::

    roboos demo --scene restaurant            # start the stack, run the demo task, check, stop
    roboos up --scene household               # start the stack and keep it running (data in run/data)
    roboos task "bring the cup to table 2"    # publish to a running master and follow it live
    roboos status                             # robots, tasks and scene version of a running master
    roboos ui --master http://127.0.0.1:5000  # the web UI on http://127.0.0.1:8888/ (also started by `up`)
    roboos bench dispatch                     # the system's own overhead, in milliseconds
    roboos plan --scene restaurant --simulate "bring the cup to table 2"   # offline: no servers, no Redis
    roboos bench brain                        # the planner on the scene suites and synthetic fleets
    roboos bench brain --planner llm_goals --scene restaurant --limit 10 --no-scaling   # a local model

One subcommand per component, each with its own ``--help``: ``roboos master``, ``roboos slaver``,
``roboos skill sim``, ``roboos skill x0``, ``roboos brain serve``, ``roboos x0 compare``,
``roboos bench plan``, ``roboos bench x0``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deploy.errors import DeployError

__all__ = ["main"]

logger = logging.getLogger(__name__)

# Subcommands that hand their arguments to a component's own command line: (module, function).
COMPONENTS: dict[tuple[str, ...], tuple[str, str]] = {
    ("master",): ("master.server", "main"),
    ("slaver",): ("slaver.cli", "main"),
    ("skill", "sim"): ("skills.sim.cli", "main"),
    ("skill", "x0"): ("skills.x0.cli", "main"),
    ("x0", "compare"): ("skills.x0.cli", "compare_main"),
    ("brain", "serve"): ("brain.server.cli", "main"),
    ("bench", "plan"): ("brain.llm.bench", "bench_plan_main"),
    ("bench", "x0"): ("skills.x0.cli", "bench_main"),
    ("ui",): ("deploy.ui.server", "main"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for words, (module, function) in COMPONENTS.items():
        if tuple(argv[: len(words)]) == words:
            return _component(module, function)(argv[len(words):])
    args = build_parser().parse_args(argv)
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
    up.add_argument("--ui-port", type=int, default=8888, help="web UI port on 127.0.0.1 (default 8888; 0: a free one)")
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

    status = sub.add_parser("status", help="what a running master knows: robots, tasks, scene")
    _master_options(status)
    status.set_defaults(handler=_status)

    plan = sub.add_parser("plan", help="plan an instruction offline against a scene (no servers, no Redis)")
    _plan_arguments(plan)
    plan.set_defaults(handler=_plan)

    bench = sub.add_parser("bench", help="benchmarks: dispatch, chaos, ui, brain (also: plan, x0)")
    bench_sub = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    dispatch = bench_sub.add_parser("dispatch", help="handoff latency and throughput of the embedded stack")
    dispatch.add_argument("--handoffs", type=int, default=200, help="handoffs to time (default 200)")
    dispatch.add_argument("--robots", type=int, default=50, help="robots in the throughput run (default 50)")
    dispatch.add_argument("--subtasks", type=int, default=2000, help="subtasks in the throughput run")
    dispatch.add_argument("--redis-url", default=None, help="an existing Redis (default: embedded)")
    dispatch.set_defaults(handler=_bench_dispatch)
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
    for name in ("plan", "x0"):
        bench_sub.add_parser(name, help=f"see 'roboos bench {name} --help'", add_help=False)

    for words in COMPONENTS:
        if len(words) == 1:
            sub.add_parser(words[0], help=f"run the {words[0]} alone (see 'roboos {words[0]} --help')",
                           add_help=False)
    for group in {w[0] for w in COMPONENTS if len(w) == 2 and w[0] != "bench"}:
        names = ", ".join(w[1] for w in COMPONENTS if w[0] == group)
        sub.add_parser(group, help=f"{group} components: {names}", add_help=False)
    return parser


def _stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scene", default=None, help="scene name or YAML path (default: config's, restaurant)")
    parser.add_argument("--config", default=os.environ.get("ROBOOS_CONFIG"), help="YAML config file")
    parser.add_argument("--redis-url", default=None, help="use this Redis instead of the embedded one")
    parser.add_argument("--port", type=int, default=None, help="master port (default 5000; 0 for a free one)")
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
        "master.port": args.port,
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
    ui_port = None if args.no_ui else args.ui_port
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


def _status(args: argparse.Namespace) -> int:
    from deploy.follow import MasterClient

    client = MasterClient(args.master, token=args.token)
    try:
        system = client.request("GET", "/system_status")
        robots = client.request("GET", "/robots")
    finally:
        client.close()
    fleet = robots.get("data", [])
    online = sum(bool(r.get("online")) for r in fleet)
    print(f"master {args.master}: {system.get('message', '')}; {online} of {len(fleet)} robots online")
    for key, value in (system.get("data") or {}).items():
        print(f"  {key}: {value}")
    for robot in fleet:
        holding = ", ".join(robot.get("holding") or []) or "nothing"
        state = "degraded" if robot.get("degraded") else robot["status"]
        print(f"  {robot['profile']['name']:<14} {robot['profile'].get('embodiment', ''):<18} {state:<8} "
              f"at {robot.get('position') or '?':<14} holding {holding}")
    return 0


def _bench_dispatch(args: argparse.Namespace) -> int:
    from deploy.bench import run_dispatch_bench

    return run_dispatch_bench(args, sys.stdout)


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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def _planners() -> list[str]:
    from brain.planner import Planner

    return Planner.available()


def _bench_brain(args: argparse.Namespace) -> int:
    from deploy.bench_brain import run_brain_bench

    return run_brain_bench(args, sys.stdout)


def _component(module: str, function: str) -> Callable[[list[str]], int]:
    try:
        return getattr(importlib.import_module(module), function)
    except ImportError as e:
        raise SystemExit(f"error: {module} cannot be loaded ({e}); is the optional extra installed? "
                         "Try: pip install -e '.[x0,llm]'") from e


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
