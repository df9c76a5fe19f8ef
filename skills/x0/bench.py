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


# --- roboos bench speculative -------------------------------------------------------------

SPECULATIVE_INSTRUCTION = "pick up the cup"


def run_speculative_bench(args: argparse.Namespace) -> int:
    """Greedy decoding against speculative decoding on the same inputs: identical tokens, decode time."""
    import numpy as np

    from skills.x0.cli import options_from_args
    from skills.x0.model import X0Model
    from skills.x0.samples import neutral_pose, sample_images

    plain = X0Model.load(options_from_args(args, draft="none"))
    if plain.embodiment.generation.do_sample:
        raise SystemExit(f"roboos bench speculative: {args.embodiment}'s contract samples its tokens; speculative "
                         "decoding keeps greedy decoding's tokens only: choose agilex, r1lite or a2d")
    loop = plain.with_options(draft="previous", max_draft=args.max_draft)  # given no previous chunk: the same loop, never a draft
    emb = embodiment(args.embodiment)
    images, pose = sample_images(emb, args.seed), neutral_pose(emb)
    rng = np.random.default_rng(args.seed)
    poses = [pose + np.concatenate([rng.normal(0, 0.005, 3), np.zeros(emb.pose_dim - 3)]) for _ in range(args.chunks)]
    plain.infer(SPECULATIVE_INSTRUCTION, images, pose)  # warm-up
    weights = " (untrained demo weights)" if plain.demo else ""
    print(f"speculative X0 decoding: {args.embodiment}, {args.chunks} chunks per scenario, backend "
          f"{plain.backend.name} on {plain.backend.device} ({plain.dtype_name}){weights}")
    print(f"  {'scenario':<44}{'identical':>10}{'accepted':>10}{'passes':>8}{'decode ms':>17}{'speed-up':>10}"
          f"{'vs HF generate':>26}")
    rows = {}
    reference = plain.infer(SPECULATIVE_INSTRUCTION, images, pose).generated
    unrelated = [t for t in range(1000, 3000) if t not in set(reference)][:len(reference)]  # plain text tokens
    scenarios = {  # name: (draft sources, the previous chunk's tokens given the last output)
        "consecutive chunks (drafts: the previous one)": ("both", lambda last: last),
        "another task's chunk (no draft can match)": ("previous", lambda last: unrelated),
    }
    for name, (source, drafts) in scenarios.items():
        drafting = plain.with_options(draft=source, max_draft=args.max_draft)
        identical, greedy_ms, spec_ms, generate_ms, accepted, drafted, passes = 0, [], [], [], 0, 0, []
        whole_ms = []
        last = reference
        for n in range(args.chunks):
            expected = plain.infer(SPECULATIVE_INSTRUCTION, images, poses[n])
            base = loop.infer(SPECULATIVE_INSTRUCTION, images, poses[n], previous=[])
            fast = drafting.infer(SPECULATIVE_INSTRUCTION, images, poses[n], previous=drafts(last))
            last = fast.generated
            identical += fast.generated == expected.generated == base.generated
            generate_ms.append(expected.timings["generate_s"] * 1000)
            greedy_ms.append(base.speculation["decode_s"] * 1000)
            spec_ms.append(fast.speculation["decode_s"] * 1000)
            whole_ms.append(fast.timings["generate_s"] * 1000)
            accepted += fast.speculation["accepted"]
            drafted += fast.speculation["drafted"]
            passes.append(fast.speculation["forwards"])
        before, after = statistics.median(greedy_ms), statistics.median(spec_ms)
        hf, whole = statistics.median(generate_ms), statistics.median(whole_ms)
        rows[name] = (identical, before / after)
        share = f"{accepted / drafted:.0%}" if drafted else "-"
        print(f"  {name:<44}{identical:>6}/{args.chunks:<3}{share:>10}{statistics.median(passes):>8.0f}"
              f"{before:>8.1f} -> {after:<6.1f}{before / after:>9.2f}x{hf:>11.1f} -> {whole:<6.1f}{hf / whole:>6.2f}x")
    print("  decode: the tokens after the prompt and images, greedy loop without drafts -> with drafts; "
          "vs HF generate: whole generation (prefill too), HF's generate (the non-speculative path) -> speculative")
    total = sum(identical for identical, _ in rows.values())
    accepted_speedup, none_speedup = (ratio for _, ratio in rows.values())
    print(f"speculative: {total / (len(rows) * args.chunks):.0%} identical tokens; {accepted_speedup:.2f}x decode "
          f"speed-up where drafts are accepted, {(1 / none_speedup - 1) * 100:+.0f} % where none is")
    return 0
