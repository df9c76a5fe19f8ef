r"""Command lines for X0: ``roboos skill x0``, ``roboos x0 compare`` and ``roboos bench x0``.

Serve the demo model for the agilex embodiment (MCP at /mcp, the X0 HTTP API beside it)::

    roboos skill x0 --demo-model --embodiment agilex --port 5001
    curl http://127.0.0.1:5001/health

Serve a real checkpoint over stdio for a local slaver::

    roboos skill x0 --model /models/X0 --embodiment franka --stats stats.json \
        --action-tokenizer /models/fast_plus --transport stdio

Share one model between robots (each request names its robot: ``robot`` in /infer and in the tool)::

    roboos skill x0 --demo-model --embodiment agilex --budget left_cell=2 --budget right_cell=1 \
        --priority left_cell --max-wait 2
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from skills.serving import SharingOptions, add_sharing_arguments
from skills.x0.backends import BACKENDS
from skills.x0.contract import EMBODIMENTS, MODES, embodiment
from skills.x0.speculative import DRAFT_SOURCES

__all__ = ["add_model_arguments", "bench_main", "compare_main", "main", "options_from_args"]

logger = logging.getLogger(__name__)


def add_model_arguments(parser: argparse.ArgumentParser, *, default_embodiment: str | None = None) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a local RoboBrain-X0 (Qwen2.5-VL) checkpoint folder")
    source.add_argument("--demo-model", action="store_true",
                        help="build and use a tiny untrained model of the X0 architecture (zero setup)")
    parser.add_argument("--embodiment", choices=sorted(EMBODIMENTS), default=default_embodiment,
                        required=default_embodiment is None)
    parser.add_argument("--stats", type=Path, help="action stats JSON (default: in the checkpoint folder)")
    parser.add_argument("--action-tokenizer", type=Path,
                        help="FAST tokenizer folder (default: <model>/action_tokenizer)")
    parser.add_argument("--mode", choices=MODES, default="subtask")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"), default="auto")
    parser.add_argument("--attn", choices=("eager", "sdpa"), default="eager",
                        help="attention implementation (eager lets FlagGems cover more ops)")
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--constrained", action=argparse.BooleanOptionalAction, default=None,
                        help="constrain output to the action grammar (default: on for the demo model only)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where --demo-model builds its checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draft", choices=DRAFT_SOURCES, default="none",
                        help="speculative decoding, the same tokens in fewer passes: draft from the robot's previous "
                             "chunk, by prompt lookup, or both (default none)")
    parser.add_argument("--max-draft", type=int, default=8, help="tokens per draft at most (default 8)")


def options_from_args(args: argparse.Namespace, **overrides):
    from skills.x0.demo_model import build_demo_checkpoint
    from skills.x0.model import X0Options

    model_path = build_demo_checkpoint(args.cache_dir, seed=args.seed) if args.demo_model else args.model
    fields = dict(
        model_path=model_path, embodiment=args.embodiment, mode=args.mode, stats_path=args.stats,
        action_tokenizer_path=args.action_tokenizer, backend=args.backend, device=args.device,
        dtype=args.dtype, attn_implementation=args.attn, max_new_tokens=args.max_new_tokens,
        constrained=args.constrained, seed=args.seed, draft=args.draft, max_draft=args.max_draft,
    )
    return X0Options(**{**fields, **overrides})


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


# --- roboos skill x0 ------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``roboos skill x0``: serve generate_actions over MCP and the X0 HTTP API."""
    parser = argparse.ArgumentParser(prog="roboos skill x0", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_arguments(parser)
    parser.add_argument("--transport", choices=("http", "stdio"), default="http",
                        help="http: MCP at /mcp plus /health, /info, /infer; stdio: MCP only")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: the embodiment's X0 port")
    parser.add_argument("--name", default=None, help="skill server name (default x0-<embodiment>)")
    parser.add_argument("-v", "--verbose", action="store_true")
    add_sharing_arguments(parser)
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)

    from skills.x0.model import X0Error, X0Model
    from skills.x0.server import X0Service, build_skill_server

    try:
        sharing = SharingOptions.from_args(args)
        model = X0Model.load(options_from_args(args))
    except (X0Error, ValueError) as e:
        parser.exit(2, f"roboos skill x0: error: {e}\n")
    server = build_skill_server(X0Service(model, sharing), name=args.name)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port or embodiment(args.embodiment).port)
    return 0


# --- roboos x0 compare / roboos bench x0 ----------------------------------------------------

def compare_main(argv: list[str] | None = None) -> int:
    """``roboos x0 compare``: the same inputs through two backends; MAPE, max error, tokens, latency."""
    from skills.x0.compare import run_compare

    parser = argparse.ArgumentParser(prog="roboos x0 compare", description=compare_main.__doc__)
    add_model_arguments(parser, default_embodiment="agilex")
    parser.add_argument("--epsilon", type=float, default=1e-3, help="floor of |reference| in the MAPE")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    _configure_logging(False)
    return run_compare(args)


def bench_main(argv: list[str] | None = None) -> int:
    """``roboos bench x0``: p50 latency per chunk and tokens/s per backend and attention."""
    from skills.x0.bench import run_bench

    parser = argparse.ArgumentParser(prog="roboos bench x0", description=bench_main.__doc__)
    add_model_arguments(parser, default_embodiment="agilex")
    parser.add_argument("--runs", type=int, default=3, help="timed chunks per configuration")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    _configure_logging(False)
    return run_bench(args)


def speculative_main(argv: list[str] | None = None) -> int:
    """``roboos bench speculative``: greedy against speculative X0 decoding, identical tokens, decode speed-up."""
    from skills.x0.bench import run_speculative_bench

    parser = argparse.ArgumentParser(prog="roboos bench speculative", description=speculative_main.__doc__
                                     + " Greedy embodiments only (franka's contract samples).")
    add_model_arguments(parser, default_embodiment="agilex")
    parser.add_argument("--chunks", type=int, default=6, help="chunks per scenario (default 6)")
    args = parser.parse_args(argv)
    if args.chunks < 1:
        parser.error("--chunks must be at least 1")
    _configure_logging(False)
    return run_speculative_bench(args)


if __name__ == "__main__":
    sys.exit(main())
