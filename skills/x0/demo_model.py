"""A tiny, randomly initialised model of the X0 architecture, built locally for zero setup.

The folder it writes is a real checkpoint layout, loaded through the same path as a real one:
a small Qwen2.5-VL (``config.json`` + safetensors), a byte-level BPE tokenizer trained here with
Qwen2.5's special tokens at their real ids (``<boa>`` = 151665, ``<eoa>`` = 151667), the chat
template, a FAST action tokenizer fitted on synthetic smooth trajectories (``action_tokenizer/``)
and action stats per embodiment (``stats/<embodiment>.json``). Its weights are untrained: the
subtask text is noise and the trajectory is only as meaningful as a random walk; everything built
from it reports itself as demo weights. Deterministic for a seed; nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from skills.x0.codec import FastTokenizer
from skills.x0.contract import ACTION_TOKEN_OFFSET, EMBODIMENTS, HORIZON, Embodiment
from skills.x0.processor import DEFAULT_CHAT_TEMPLATE
from skills.x0.stats import ActionStats

__all__ = ["DEMO_MARKER", "build_demo_checkpoint", "demo_info"]

logger = logging.getLogger(__name__)

DEMO_VERSION = 1
DEMO_MARKER = "roboos_demo.json"
DEMO_DESCRIPTION = "untrained demo weights (random tiny Qwen2.5-VL): actions are not meaningful"
TEXT_VOCAB_SIZE = 512
VOCAB_SIZE = 151668

# Qwen2.5's special tokens from id 151643 on; X0 adds <boa>, a reserved one and <eoa>.
SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>", "<boa>", "<|x0_reserved|>", "<eoa>",
)
FIRST_SPECIAL_ID = 151643


def default_cache_dir() -> Path:
    return Path(os.environ.get("ROBOOS_CACHE_DIR") or Path(tempfile.gettempdir()) / "roboos-cache")


def demo_info(folder: str | Path) -> dict | None:
    """The demo marker of a checkpoint folder, or None for a real checkpoint."""
    marker = Path(folder) / DEMO_MARKER
    return json.loads(marker.read_text()) if marker.is_file() else None


def build_demo_checkpoint(cache_dir: str | Path | None = None, seed: int = 0) -> Path:
    """Build (once) and return the demo checkpoint folder under ``cache_dir``."""
    folder = Path(cache_dir or default_cache_dir()) / f"x0-demo-v{DEMO_VERSION}-seed{seed}"
    if (folder / DEMO_MARKER).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    staging.chmod(0o755)
    try:
        _write_checkpoint(staging, seed)
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / DEMO_MARKER).is_file():  # not a concurrent builder that won
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("built the X0 demo checkpoint in %s", folder)
    return folder


def _write_checkpoint(folder: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    (folder / "tokenizer.json").write_text(_language_tokenizer_json())
    (folder / "chat_template.jinja").write_text(DEFAULT_CHAT_TEMPLATE)
    _fit_action_tokenizer(rng).save(folder / "action_tokenizer")
    for emb in EMBODIMENTS.values():
        _write_stats(folder / "stats" / f"{emb.name}.json", emb)
    _model(seed).save_pretrained(folder)
    marker = {"demo": True, "description": DEMO_DESCRIPTION, "seed": seed, "version": DEMO_VERSION,
              "text_vocab_size": TEXT_VOCAB_SIZE}
    (folder / DEMO_MARKER).write_text(json.dumps(marker, indent=2) + "\n")


# --- language tokenizer ---------------------------------------------------------------------

def _corpus() -> list[str]:
    texts = [part.value for emb in EMBODIMENTS.values() for parts in emb.prompts.values() for part in parts]
    texts += [
        "pick up the cup and place it on the tray", "open the drawer", "close the door",
        "grasp the apple with the right arm", "move the left gripper above the bowl",
        "put the bottle in the basket", "push the button", "release the object",
    ]
    return texts


def _language_tokenizer_json() -> str:
    """A small trained byte-level BPE, padded so Qwen2.5's special tokens sit at their real ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=TEXT_VOCAB_SIZE, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(_corpus(), trainer=trainer)
    data = json.loads(bpe.to_str())
    vocab = data["model"]["vocab"]
    # Unreachable filler entries (no merge produces them) fill the ids up to the special tokens;
    # the last 2048 of them are the action token slots X0 uses.
    for token_id in range(len(vocab), FIRST_SPECIAL_ID):
        vocab[f"<|fill_{token_id}|>"] = token_id
    data["added_tokens"] = [
        {"id": FIRST_SPECIAL_ID + i, "content": token, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": True}
        for i, token in enumerate(SPECIAL_TOKENS)
    ]
    return json.dumps(data, ensure_ascii=False)


# --- action tokenizer and stats -------------------------------------------------------------

def smooth_chunks(rng: np.random.Generator, count: int, action_dim: int) -> list[np.ndarray]:
    """Synthetic normalised action chunks: a few low-frequency sinusoids per dimension, in [-1, 1]."""
    t = np.linspace(0.0, 1.0, HORIZON)[:, None]
    chunks = []
    for _ in range(count):
        freq = rng.uniform(0.1, 1.5, (1, action_dim))
        phase = rng.uniform(0.0, 2 * np.pi, (1, action_dim))
        amp = rng.uniform(0.05, 0.9, (1, action_dim))
        bias = rng.uniform(-0.3, 0.3, (1, action_dim))
        chunks.append(np.clip(amp * np.sin(2 * np.pi * freq * t + phase) + bias, -1.0, 1.0))
    return chunks


def _fit_action_tokenizer(rng: np.random.Generator) -> FastTokenizer:
    chunks = smooth_chunks(rng, 300, 7) + smooth_chunks(rng, 300, 14)
    tokenizer = FastTokenizer.fit(chunks, vocab_size=1024)
    if tokenizer.vocab_size > FIRST_SPECIAL_ID - ACTION_TOKEN_OFFSET:
        raise RuntimeError("the fitted action tokenizer does not fit X0's 2048 action slots")
    return tokenizer


def _write_stats(path: Path, embodiment: Embodiment) -> None:
    """Plausible per-step delta ranges: 5 mm, 0.01 rad, gripper 0..1, for every arm."""
    arm_q01 = [-0.005] * 3 + [-0.01] * 3 + [0.0]
    arm_q99 = [0.005] * 3 + [0.01] * 3 + [1.0]
    arms = len(embodiment.arms)
    stats = ActionStats.from_quantiles(np.array(arm_q01 * arms), np.array(arm_q99 * arms))
    keys = set(embodiment.stats_key.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: stats.to_dict() for key in sorted(keys)}, indent=2) + "\n")


# --- model ----------------------------------------------------------------------------------

def _model(seed: int):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": VOCAB_SIZE, "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
            "bos_token_id": 151643, "eos_token_id": 151645, "tie_word_embeddings": True,
        },
        vision_config={
            "depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
            "out_hidden_size": 64, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
            "window_size": 112, "fullatt_block_indexes": [1],
        },
        image_token_id=151655, video_token_id=151656,
        vision_start_token_id=151652, vision_end_token_id=151653,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    return model.eval()
