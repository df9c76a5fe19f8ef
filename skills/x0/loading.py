"""Loading an X0 checkpoint from local paths: weights, processor, action tokenizer, stats.

Nothing is downloaded: every path must exist locally (``local_files_only``). Defaults for a
checkpoint folder: the action tokenizer in ``<model>/action_tokenizer/`` and the stats in
``<model>/stats/<embodiment>.json`` or ``<model>/stats.json``; flags override both.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skills.x0.backends import BackendChoice, select_backend
from skills.x0.codec import FastTokenizer
from skills.x0.contract import ACTION_TOKEN_END, ACTION_TOKEN_OFFSET, embodiment
from skills.x0.demo_model import demo_info
from skills.x0.processor import X0Processor
from skills.x0.stats import ActionStats

if TYPE_CHECKING:
    from skills.x0.model import X0Options

__all__ = ["load_parts", "resolve_dtype"]

logger = logging.getLogger(__name__)


def load_parts(options: X0Options) -> dict[str, Any]:
    from skills.x0.model import X0Error

    folder = options.model_path
    if not (folder / "config.json").is_file():
        raise X0Error(f"{folder} is not a local checkpoint folder (no config.json); pass a Qwen2.5-VL "
                      "folder with --model, or --demo-model")
    try:
        backend = select_backend(options.backend, options.device)
        codec = _action_tokenizer(options)
        stats = _stats(options)
        processor = X0Processor.load(folder)
    except (OSError, ValueError, RuntimeError) as e:
        raise X0Error(str(e)) from e
    dtype_name = resolve_dtype(options.dtype, backend)
    model = _model(folder, backend, dtype_name, options.attn_implementation)
    demo = demo_info(folder)
    logger.info("X0 loaded: %s (%s, %s mode), backend %s on %s (%s), %s, attention %s%s", folder,
                options.embodiment, options.mode, backend.name, backend.device, backend.reason, dtype_name,
                options.attn_implementation, "; untrained demo weights" if demo else "")
    return {"model": model, "processor": processor, "codec": codec, "stats": stats, "backend": backend,
            "dtype_name": dtype_name, "demo": demo}


def resolve_dtype(dtype: str, backend: BackendChoice) -> str:
    if dtype == "auto":
        return "bfloat16" if backend.device == "cuda" else "float32"
    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"Unknown dtype {dtype!r}, should be auto, float32, bfloat16 or float16")
    return dtype


def _model(folder: Path, backend: BackendChoice, dtype_name: str, attn: str):
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
        folder, dtype=getattr(torch, dtype_name), attn_implementation=attn, local_files_only=True,
    )
    return model.to(backend.device).eval()


def _action_tokenizer(options: X0Options) -> FastTokenizer:
    path = options.action_tokenizer_path or options.model_path / "action_tokenizer"
    if not path.is_dir():
        raise FileNotFoundError(f"no action tokenizer at {path}: pass --action-tokenizer DIR "
                                "(a FAST+ folder with tokenizer.json and processor_config.json)")
    codec = FastTokenizer.load(path)
    if codec.bpe.get_vocab_size() > ACTION_TOKEN_END - ACTION_TOKEN_OFFSET:
        raise ValueError(f"action tokenizer {path} has {codec.bpe.get_vocab_size()} tokens, X0 has "
                         f"{ACTION_TOKEN_END - ACTION_TOKEN_OFFSET} action slots")
    return codec


def _stats(options: X0Options) -> ActionStats:
    emb = embodiment(options.embodiment)
    candidates = [options.stats_path] if options.stats_path else [
        options.model_path / "stats" / f"{emb.name}.json", options.model_path / "stats.json"]
    for path in candidates:
        if path.is_file():
            return ActionStats.load(path, emb.stats_key[options.mode], emb.action_dim)
    raise FileNotFoundError(f"no action stats at {' or '.join(map(str, candidates))}: pass --stats STATS.json "
                            f"(needs key {emb.stats_key[options.mode]!r})")
