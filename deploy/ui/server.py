"""``roboos ui``: the web UI on :8888, served by waitress like the master.

Example::

    roboos ui --master http://127.0.0.1:5000          # then open http://127.0.0.1:8888/
    ROBOOS_AUTH_TOKEN=... roboos ui --host 0.0.0.0    # beyond loopback only with the master's token

The master's token comes from ``$ROBOOS_AUTH_TOKEN`` (never a flag: argv is visible to every user
of the machine). With it, every browser logs in with that token once; without it, a browser logs in
only when the master turns out to need one.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from waitress.server import create_server

from deploy.ui.app import create_ui_app
from deploy.ui.settings import DEFAULT_MASTER, DEFAULT_PORT, UIError, UISettings

__all__ = ["main", "parse_args", "settings_from_args"]

logger = logging.getLogger(__name__)

TOKEN_ENV = "ROBOOS_AUTH_TOKEN"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="roboos ui", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; "
                                                             f"beyond loopback needs ${TOKEN_ENV})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: a free one)")
    parser.add_argument("--master", default=os.environ.get("ROBOOS_MASTER_URL", DEFAULT_MASTER),
                        help=f"the master's URL (default {DEFAULT_MASTER}, or $ROBOOS_MASTER_URL)")
    parser.add_argument("--configs-dir", default="configs", type=Path,
                        help="where the Setup page saves named configs (default: configs, in the working directory)")
    parser.add_argument("--stack-run-dir", default=None, type=Path,
                        help="the run folder of the stack that started this UI (set by `roboos up`): "
                             "the Launch page shows its components")
    parser.add_argument("--log-level", default=os.environ.get("ROBOOS_LOG_LEVEL", "INFO"), help="log level")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> UISettings:
    return UISettings(master_url=args.master, host=args.host, port=args.port,
                      token=os.environ.get(TOKEN_ENV) or None, configs_dir=args.configs_dir,
                      stack_run_dir=args.stack_run_dir)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
    except UIError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        server = create_server(create_ui_app(settings), host=settings.host, port=settings.port,
                               threads=settings.threads + settings.max_streams, ident="roboos-ui",
                               channel_request_lookahead=1)  # notices a browser that left a live stream
    except OSError as e:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {e}; choose another --port", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    login = "with the token" if settings.token else "if the master asks"
    logger.info("roboos ui listening on http://%s:%s (master %s, login %s)", settings.host,
                server.effective_port, settings.master_url, login)
    try:
        server.run()
    except KeyboardInterrupt:
        logger.info("roboos ui stopping")
    finally:
        server.close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
