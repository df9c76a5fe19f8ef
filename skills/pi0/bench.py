r"""``roboos bench pi0``: what the pi0 client adds to a chunk's round trip.

Starts the reference pi0 server in its own process (or asks ``--server``), sends ``--requests``
sequential requests with three 640x480 JPEG camera frames and the aloha joint state, and prints
the round trip, the model time the server reports (``X-Model-Time``), and their difference, the
client overhead: JSON and base64 on both sides, HTTP, the server decoding the images, the chunk's
parse and shape checks. FlagScale's server reports no model time: against it only the round trip
is printed. Example::

    roboos bench pi0 --requests 200 --model-time-ms 50
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from skills.pi0.protocol import EMBODIMENTS, VARIANTS

__all__ = ["main"]

WARMUP = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos bench pi0", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100, help="timed requests (default 100)")
    parser.add_argument("--server", metavar="URL", help="a pi0 server to ask (default: start the reference one)")
    parser.add_argument("--embodiment", choices=sorted(EMBODIMENTS), default="aloha")
    parser.add_argument("--protocol", choices=VARIANTS, default="flagscale")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--model-time-ms", type=float, default=0.0, help="reference server: time per inference")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.requests < 1:
        print("error: --requests must be at least 1", file=sys.stderr)
        return 2
    return run_bench(args, sys.stdout)


def run_bench(args: argparse.Namespace, out: TextIO) -> int:
    from deploy.launcher import Launcher, free_port, port_ready, python_module

    if args.server:
        return asyncio.run(_bench(args, args.server, out))
    with tempfile.TemporaryDirectory(prefix="roboos-bench-pi0-") as tmp, Launcher(Path(tmp) / "logs") as launcher:
        port = free_port()
        argv = python_module("deploy.cli", "skill", "pi0", "--serve-reference", "--embodiment", args.embodiment,
                             "--protocol", args.protocol, "--port", str(port), "--model-time-ms",
                             str(args.model_time_ms), "--log-level", "WARNING")
        print("bench: starting the reference pi0 server...", file=out, flush=True)
        launcher.start("pi0-reference", argv, ready=port_ready(port), timeout_s=30.0)
        return asyncio.run(_bench(args, f"http://127.0.0.1:{port}", out))


async def _bench(args: argparse.Namespace, url: str, out: TextIO) -> int:
    from deploy.bench import percentiles
    from skills.pi0.client import Pi0Client
    from skills.images import sample_frames

    embodiment = EMBODIMENTS[args.embodiment]
    started = time.perf_counter()
    frames = sample_frames(embodiment.cameras, width=args.width, height=args.height)
    encode_ms = (time.perf_counter() - started) * 1000
    size_kb = sum(len(f) for f in frames.values()) / 1024
    state = [0.0] * embodiment.state_dim
    round_trips, models, overheads = [], [], []
    async with Pi0Client(url, embodiment, variant=args.protocol) as pi0:
        for n in range(WARMUP + args.requests):
            chunk = await pi0.infer(f"fold the towel, step {n}", frames, state)
            if n < WARMUP:
                continue
            round_trips.append(chunk.round_trip_s * 1000)
            if chunk.model_s is not None and chunk.overhead_s is not None:
                models.append(chunk.model_s * 1000)
                overheads.append(chunk.overhead_s * 1000)
            if (n - WARMUP + 1) % max(1, args.requests // 4) == 0:
                print(f"  {n - WARMUP + 1}/{args.requests} requests", file=out, flush=True)
    what = (f"{args.requests} requests, {len(frames)} frames of {args.width}x{args.height} JPEG, "
            f"{size_kb:.0f} KB of base64 per request")
    print(f"frames encoded once: {encode_ms:.1f} ms for {len(frames)} (not in the figures below)", file=out)
    print(f"round trip: {percentiles(round_trips)} ({what})", file=out)
    if overheads:
        print(f"model time (reported by the server): {percentiles(models)}", file=out)
        print(f"client overhead (round trip minus model time): {percentiles(overheads)}", file=out, flush=True)
    else:
        print("the server reports no model time (FlagScale's does not): no overhead figure", file=out, flush=True)
    return 0
