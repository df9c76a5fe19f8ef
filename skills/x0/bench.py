"""``roboos bench x0``: p50 latency per chunk and tokens/s, per backend and attention implementation."""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from skills.x0.backends import flaggems_status
from skills.x0.contract import embodiment

__all__ = ["run_bench"]


def _configurations(args: argparse.Namespace) -> tuple[list[dict[str, str]], str | None]:
    import torch

    device = "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu"
    backends = ["torch"]
    available, why = flaggems_status() if device == "cuda" else (False, "no GPU here: FlagGems needs a CUDA accelerator")
    if available:
        backends.append("flaggems")
    configs = [{"backend": b, "device": device, "attn_implementation": a} for b in backends for a in ("eager", "sdpa")]
    return configs, None if available else why


def _measure(args: argparse.Namespace, overrides: dict[str, str]) -> dict[str, Any]:
    from skills.x0.cli import options_from_args
    from skills.x0.model import X0Model
    from skills.x0.samples import neutral_pose, sample_images

    model = X0Model.load(options_from_args(args, **overrides))
    emb = embodiment(args.embodiment)
    images, pose = sample_images(emb, args.seed), neutral_pose(emb)
    model.infer("pick up the cup", images, pose)  # warm-up
    runs = [model.infer("pick up the cup", images, pose) for _ in range(max(1, args.runs))]
    latencies = [r.timings["total_s"] for r in runs]
    rates = [r.generated_tokens / r.timings["generate_s"] for r in runs]
    return {**overrides, "dtype": model.dtype_name, "p50_latency_s": statistics.median(latencies),
            "tokens_per_s": statistics.median(rates), "tokens_per_chunk": runs[0].generated_tokens,
            "runs": len(runs), "demo": model.demo is not None}


def run_bench(args: argparse.Namespace) -> int:
    configs, flaggems_missing = _configurations(args)
    rows = [_measure(args, config) for config in configs]
    if args.json:
        print(json.dumps({"results": rows, "flaggems_unavailable": flaggems_missing}, indent=2))
        return 0
    demo = " (untrained demo weights)" if rows and rows[0]["demo"] else ""
    print(f"X0 benchmark, {args.embodiment}, {args.runs} chunk(s) per configuration{demo}")
    if flaggems_missing:
        print(f"  FlagGems unavailable: {flaggems_missing}; torch only")
    print(f"  {'backend':<9} {'device':<6} {'attention':<9} {'dtype':<9} {'p50 ms/chunk':>13} {'tokens/s':>9}")
    for row in rows:
        print(f"  {row['backend']:<9} {row['device']:<6} {row['attn_implementation']:<9} {row['dtype']:<9} "
              f"{row['p50_latency_s'] * 1000:>13.1f} {row['tokens_per_s']:>9.1f}")
    return 0
