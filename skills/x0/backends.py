"""Compute backends for X0: FlagGems kernels on a supported accelerator, plain PyTorch elsewhere.

``auto`` picks FlagGems when a CUDA accelerator is present and ``flag_gems`` imports (without a GPU
its import raises, so it is only attempted with one), else PyTorch. The choice and the reason are
reported in ``/health``, ``/info`` and every result. FlagGems is enabled once per process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass

__all__ = ["BACKENDS", "BackendChoice", "BackendUnavailable", "enable_flaggems", "flaggems_status",
           "gems_scope", "select_backend"]

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "flaggems", "torch")

_enable_lock = threading.Lock()
_enabled = False


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here; the message says why."""


@dataclass(frozen=True)
class BackendChoice:
    name: str  # "torch" | "flaggems"
    device: str  # "cpu" | "cuda"
    reason: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def flaggems_status() -> tuple[bool, str]:
    """Whether FlagGems can run here, and why (not)."""
    if not cuda_available():
        return False, "no CUDA accelerator (torch.cuda.is_available() is False), FlagGems needs one"
    try:
        import flag_gems  # noqa: F401
    except ModuleNotFoundError:
        return False, "flag_gems is not installed (pip install flag-gems on a machine with a supported GPU)"
    except Exception as e:  # its import probes the device and raises anything on failure
        return False, f"flag_gems does not import: {type(e).__name__}: {e}"
    return True, "CUDA accelerator present and flag_gems imports"


def select_backend(requested: str = "auto", device: str = "auto") -> BackendChoice:
    """The backend to run, from ``auto`` / ``flaggems`` / ``torch`` and ``auto`` / ``cpu`` / ``cuda``."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown backend {requested!r}, should be one of: {', '.join(BACKENDS)}")
    if device == "auto":
        device = "cuda" if cuda_available() else "cpu"
    if requested == "torch":
        return BackendChoice("torch", device, "requested with --backend torch")
    available, why = flaggems_status() if device == "cuda" else (False, "running on CPU (FlagGems needs a GPU)")
    if requested == "flaggems":
        if not available:
            raise BackendUnavailable(f"FlagGems was requested but cannot run: {why}")
        return BackendChoice("flaggems", device, f"requested with --backend flaggems; {why}")
    if available:
        return BackendChoice("flaggems", device, f"auto: {why}")
    return BackendChoice("torch", device, f"auto: FlagGems unavailable: {why}")


# FlagGems kernels left to torch. mul: with flag_gems 5.0.2, torch 2.11.0+cu130 and transformers 5.17 on
# an H200, FlagGems' mul broke Qwen2.5-VL's vision encoder (torch.split got sizes that do not add up to
# the tensor, in its attention); with it excluded, every other kernel runs and X0 works (found by
# bisecting the registered ops on the demo model, 2026-11-26).
FLAGGEMS_EXCLUDED_OPS = ("mul",)


def enable_flaggems() -> None:
    """Route supported aten ops to FlagGems kernels for the rest of the process (once)."""
    global _enabled
    with _enable_lock:
        if _enabled:
            return
        import flag_gems

        flag_gems.enable(unused=list(FLAGGEMS_EXCLUDED_OPS))
        _enabled = True
        logger.info("FlagGems enabled for this process")


@contextlib.contextmanager
def gems_scope(choice: BackendChoice) -> Iterator[None]:
    """A scope where ``choice`` runs: FlagGems kernels (scoped when the library allows), or nothing."""
    if choice.name != "flaggems":
        yield
        return
    import flag_gems

    if _enabled or not hasattr(flag_gems, "use_gems"):
        enable_flaggems()
        yield
        return
    with flag_gems.use_gems(exclude=list(FLAGGEMS_EXCLUDED_OPS)):
        yield
