r"""``roboos skill pi0``: the pi0 skill (a client of a FlagScale pi0 server), or a reference server.

Serve ``generate_joint_actions`` to a slaver, the model being FlagScale's pi0 server on a GPU box::

    roboos skill pi0 --server http://gpu-box:5000 --embodiment aloha --port 5101      # MCP at /mcp
    roboos skill pi0 --server http://gpu-box:5000 --embodiment aloha --transport stdio

Run the reference pi0-protocol server (a scripted policy, no GPU, no download) and point the skill
at it::

    roboos skill pi0 --serve-reference --embodiment aloha --port 5000
    roboos skill pi0 --server http://127.0.0.1:5000 --embodiment aloha --port 5101

``--protocol legacy`` speaks the older variant (qpos, eef_pose, cam_high...) on both sides.

Several robots may share one skill server over HTTP, and so the pi0 server behind it (which takes
one request at a time), through the MCP tool or through ``POST /infer`` in the pi0 protocol, which
it relays (point a robot's pi0 client at it): each call names its ``robot``, and ``--budget``,
``--priority`` and ``--max-wait`` decide who goes next and when to answer "busy, retry after"
(skills.serving)::

    roboos skill pi0 --server http://gpu-box:5000 --budget left=2 --budget right=1 --priority left
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from skills.pi0.protocol import DEFAULT_HORIZON, EMBODIMENTS, VARIANTS
from skills.serving import SharingOptions, add_sharing_arguments

__all__ = ["main"]

logger = logging.getLogger(__name__)

REFERENCE_PORT = 5000  # FlagScale's default
REFERENCE_THREADS = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos skill pi0", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    role = parser.add_mutually_exclusive_group(required=True)
    role.add_argument("--server", metavar="URL", help="the pi0 server to ask (FlagScale's, e.g. http://gpu-box:5000)")
    role.add_argument("--serve-reference", action="store_true",
                      help="run the reference pi0-protocol server (scripted policy) instead")
    parser.add_argument("--embodiment", choices=sorted(EMBODIMENTS), default="aloha",
                        help="state and action sizes, cameras (default aloha: 14 and 14, three cameras)")
    parser.add_argument("--protocol", choices=VARIANTS, default="flagscale",
                        help="the request and answer layout (default: flagscale, the current one)")
    parser.add_argument("--horizon", type=int, default=DEFAULT_HORIZON, help="actions per chunk (default 50)")
    parser.add_argument("--transport", choices=("http", "stdio"), default="http",
                        help="how the skill is served to a slaver (default http: MCP at /mcp)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port (default: the skill 8101; the reference server {REFERENCE_PORT}; 0: a free one)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request to the pi0 server")
    parser.add_argument("--retries", type=int, default=2,
                        help="retries while the pi0 server is unreachable or busy (503), with backoff")
    parser.add_argument("--model-time-ms", type=float, default=0.0,
                        help="reference server: make each inference take at least this long")
    parser.add_argument("--log-level", default="INFO")
    add_sharing_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.horizon < 1:
        print("error: --horizon must be at least 1", file=sys.stderr)
        return 2
    if args.serve_reference:
        return _serve_reference(args)
    return _serve_skill(args)


def _serve_skill(args: argparse.Namespace) -> int:
    from skills.errors import SkillError
    from skills.pi0.client import Pi0Client
    from skills.pi0.server import build_pi0_skill_server

    try:
        sharing = SharingOptions.from_args(args)
        client = Pi0Client(args.server, EMBODIMENTS[args.embodiment], variant=args.protocol, horizon=args.horizon,
                           timeout_s=args.timeout, retries=args.retries)
    except ValueError as e:  # Pi0RequestError is one
        print(f"error: {e}", file=sys.stderr)
        return 2
    server = build_pi0_skill_server(client, sharing=sharing)
    logger.info("pi0 skill for %s: model server %s (%s protocol)", args.embodiment, client.server_url, args.protocol)
    try:
        server.run("stdio" if args.transport == "stdio" else "streamable-http", host=args.host,
                   port=8101 if args.port is None else args.port)
    except SkillError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


def _serve_reference(args: argparse.Namespace) -> int:
    from waitress.server import create_server

    from skills.images import sample_frames
    from skills.pi0.reference import ScriptedPolicy, create_reference_app

    embodiment = EMBODIMENTS[args.embodiment]
    policy = ScriptedPolicy(embodiment, args.horizon, args.model_time_ms / 1000)
    policy.act("warm up", {}, [0.0] * embodiment.state_dim)  # as FlagScale: warm before the port opens
    sample_frames(embodiment.cameras, width=64, height=48)  # and the image path
    port = REFERENCE_PORT if args.port is None else args.port
    try:
        server = create_server(create_reference_app(policy, variant=args.protocol), host=args.host, port=port,
                               threads=REFERENCE_THREADS, ident="roboos-pi0-reference")
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{port}: {e}; choose another --port", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    logger.info("pi0 reference server (%s, %s protocol, scripted policy) on http://%s:%s/infer",
                args.embodiment, args.protocol, args.host, server.effective_port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
