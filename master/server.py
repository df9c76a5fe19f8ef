"""Run the master: a threaded WSGI server in front of the service.

Example::

    python -m master.server --redis-url redis://127.0.0.1:6379 --port 5000
    curl -X POST localhost:5000/publish_task -H 'Content-Type: application/json' \\
         -d '{"task": "bring the apple to table 2"}'

``serve()`` blocks until SIGTERM or SIGINT, then stops the HTTP server and the service.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

from werkzeug.serving import make_server

from brain.errors import BrainError
from brain.planner import Planner
from master.app import create_app
from master.config import MasterConfig
from master.service import MasterService

__all__ = ["main", "serve", "build_planner"]

logger = logging.getLogger(__name__)


def serve(config: MasterConfig, memory_url: str, prefix: str, planner: Planner,
          stop_event: threading.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (main thread only) or until ``stop_event`` is set."""
    logger.info("master config: %s", config.redacted())
    service = MasterService(config, memory_url, prefix, planner)
    service.start()
    try:
        server = make_server(config.host, config.port, create_app(service), threaded=True)
    except OSError:
        service.stop()
        raise
    stop_event = stop_event or threading.Event()
    restore = _on_signals(stop_event.set)
    worker = threading.Thread(target=server.serve_forever, name="master-http", daemon=True)
    worker.start()
    logger.info("master listening on http://%s:%d", config.host, server.server_port)
    try:
        stop_event.wait()
    finally:
        logger.info("master stopping")
        server.shutdown()
        worker.join(10)
        server.server_close()
        service.stop()
        restore()


def _on_signals(handler: Callable[[], None]) -> Callable[[], None]:
    """Install SIGTERM/SIGINT handlers when on the main thread; return a function restoring them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        handler()

    for sig in previous:
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def build_planner(name: str, llm_config: str | None = None) -> Planner:
    """The planner registered as ``name``; one that uses the LLM reads its settings from ``llm_config``."""
    if Planner.type_of(name).uses_llm:
        from brain.llm.config import LLMConfig

        return Planner.create(name, config=LLMConfig.from_file(llm_config))
    return Planner.create(name)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="roboos master", description="Run the RoboOS master (HTTP API and scheduler).")
    defaults = MasterConfig()
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--redis-url", default=os.environ.get("ROBOOS_REDIS_URL", "redis://127.0.0.1:6379"))
    parser.add_argument("--prefix", default="roboos:", help="key prefix of this deployment in Redis")
    parser.add_argument("--auth-token", default=os.environ.get("ROBOOS_AUTH_TOKEN"),
                        help="bearer token for POST endpoints (or ROBOOS_AUTH_TOKEN)")
    parser.add_argument("--subtask-timeout", type=float, default=defaults.subtask_timeout_s)
    parser.add_argument("--max-replans", type=int, default=defaults.max_replans)
    parser.add_argument("--plan-timeout", type=float, default=defaults.plan_timeout_s,
                        help="seconds planning may take before publish answers 504")
    parser.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes,
                        help="larger request bodies get 413")
    parser.add_argument("--offline-check-interval", type=float, default=defaults.offline_check_interval_s,
                        help="seconds between liveness checks of robots with running subtasks")
    parser.add_argument("--bridge-timeout", type=float, default=defaults.bridge_timeout_s,
                        help="seconds an HTTP handler waits on the scheduler loop")
    parser.add_argument("--planner", choices=Planner.available(), default="symbolic")
    parser.add_argument("--llm-config", default=None,
                        help="JSON file of LLM settings for --planner llm or llm_goals (keys as in the llm: section)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> MasterConfig:
    """Every ``MasterConfig`` field from its flag; ``ValueError`` names a bad one."""
    return MasterConfig(host=args.host, port=args.port, auth_token=args.auth_token,
                        subtask_timeout_s=args.subtask_timeout, max_replans=args.max_replans,
                        plan_timeout_s=args.plan_timeout, max_body_bytes=args.max_body_bytes,
                        offline_check_interval_s=args.offline_check_interval,
                        bridge_timeout_s=args.bridge_timeout)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
    except ValueError as e:
        logger.error("invalid configuration: %s", e)
        return 2
    try:
        planner = build_planner(args.planner, args.llm_config)
    except BrainError as e:
        logger.error("cannot build the %s planner: %s", args.planner, e)
        return 2
    serve(config, args.redis_url, args.prefix, planner)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
