"""Backend comparison: the same inputs through two backends with fixed seeds.

On CPU: torch float32 against torch bfloat16; on a GPU: torch against FlagGems. Reports the MAPE of
the decoded action tensor (``|a - b| / max(|a|, epsilon)``, in percent), the max absolute error,
whether the action tokens are identical, and the latency ratio (candidate / reference).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from skills.adaptive import mape
from skills.x0.backends import flaggems_status
from skills.x0.codec import ActionDecodeError
from skills.x0.contract import embodiment

__all__ = ["Comparison", "compare_results", "run_compare"]


@dataclass
class Comparison:
    reference: str
    candidate: str
    mape_percent: float | None
    max_abs_error: float | None
    tokens_identical: bool
    latency_ratio: float
    reference_latency_s: float
    candidate_latency_s: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_results(ref, cand, *, epsilon: float, labels: tuple[str, str]) -> Comparison:
    """A Comparison of two X0Results (the decoded normalised action tensors)."""
    ratio = cand.timings["generate_s"] / max(ref.timings["generate_s"], 1e-9)
    return Comparison(
        reference=labels[0], candidate=labels[1],
        mape_percent=mape(ref.normalised, cand.normalised, epsilon),
        max_abs_error=float(np.max(np.abs(cand.normalised - ref.normalised))),
        tokens_identical=list(ref.action_tokens) == list(cand.action_tokens),
        latency_ratio=ratio, reference_latency_s=ref.timings["generate_s"],
        candidate_latency_s=cand.timings["generate_s"],
    )


def _pairs(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str], str]:
    import torch

    if args.device != "cpu" and torch.cuda.is_available():
        available, why = flaggems_status()
        if available:
            return ({"backend": "torch", "device": "cuda"}, {"backend": "flaggems", "device": "cuda"},
                    "GPU: torch against FlagGems")
        return ({"backend": "torch", "device": "cuda", "dtype": "float32"},
                {"backend": "torch", "device": "cuda", "dtype": "bfloat16"},
                f"GPU without FlagGems ({why}): torch float32 against torch bfloat16")
    return ({"backend": "torch", "device": "cpu", "dtype": "float32"},
            {"backend": "torch", "device": "cpu", "dtype": "bfloat16"},
            "CPU: torch float32 against torch bfloat16 (FlagGems needs a GPU)")


def _deterministic() -> None:
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def _run(args: argparse.Namespace, overrides: dict[str, str]):
    import torch

    from skills.x0.cli import options_from_args
    from skills.x0.model import X0Model
    from skills.x0.samples import neutral_pose, sample_images

    model = X0Model.load(options_from_args(args, **overrides))
    emb = embodiment(args.embodiment)
    images, pose = sample_images(emb, args.seed), neutral_pose(emb)
    torch.manual_seed(args.seed)
    model.infer("pick up the cup", images, pose)  # warm-up
    torch.manual_seed(args.seed)
    return model, model.infer("pick up the cup", images, pose)


def _label(model) -> str:
    return f"{model.backend.name}/{model.backend.device}/{model.dtype_name}"


def run_compare(args: argparse.Namespace) -> int:
    _deterministic()
    reference, candidate, setting = _pairs(args)
    try:
        ref_model, ref = _run(args, reference)
        cand_model, cand = _run(args, candidate)
    except ActionDecodeError as e:
        print(f"compare: a backend produced an undecodable chunk: {e}")
        return 1
    report = compare_results(ref, cand, epsilon=args.epsilon, labels=(_label(ref_model), _label(cand_model)))
    report.note = setting + ("; untrained demo weights" if ref.demo else "")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"X0 backend comparison ({report.note})")
    print(f"  reference  {report.reference}: {report.reference_latency_s * 1000:.1f} ms")
    print(f"  candidate  {report.candidate}: {report.candidate_latency_s * 1000:.1f} ms")
    print(f"  MAPE (epsilon {args.epsilon:g}): {report.mape_percent:.4f} %  (FlagRelease reference: 2.2994 %)")
    print(f"  max abs error: {report.max_abs_error:.6f}")
    print(f"  action tokens identical: {'yes' if report.tokens_identical else 'no'}")
    print(f"  latency ratio (candidate / reference): {report.latency_ratio:.3f}")
    return 0
