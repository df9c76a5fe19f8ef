"""X0Model: a RoboBrain-X0 checkpoint turned into end-effector pose trajectories.

One inference: contract prompt + camera images -> Qwen2.5-VL generation -> subtask text and the
action tokens between ``<boa>`` and ``<eoa>`` -> FAST decode (30, dim) -> denormalise with the
checkpoint's stats -> integrate world-frame deltas from the request's pose -> 30 absolute poses.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from skills.errors import SkillError
from skills.x0.backends import BackendChoice, gems_scope
from skills.x0.codec import ActionDecodeError, FastTokenizer
from skills.x0.contract import (
    ACTION_TOKEN_END,
    ACTION_TOKEN_OFFSET,
    BOA_TOKEN_ID,
    EOA_TOKEN_ID,
    HORIZON,
    MODES,
    Embodiment,
    embodiment,
)
from skills.x0.grammar import ActionGrammar
from skills.x0.poses import check_pose, integrate
from skills.x0.speculative import DRAFT_SOURCES, speculative_greedy
from skills.x0.stats import ActionStats

__all__ = ["X0Error", "X0Model", "X0Options", "X0RequestError", "X0Result", "parse_output", "require_torch"]

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'roboos[x0]'"
END_TOKEN_IDS = (EOA_TOKEN_ID, 151645, 151643)  # <eoa>, <|im_end|>, <|endoftext|>


class X0Error(SkillError):
    """X0 cannot serve: bad checkpoint, missing file, or an output that does not decode."""


class X0RequestError(X0Error):
    """A request that cannot be served as sent (missing image, bad pose...): the caller's to fix."""


def require_torch() -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise X0Error(f"X0 needs torch and transformers ({e}); install them with: {INSTALL_HINT}") from e


@dataclass
class X0Options:
    model_path: Path
    embodiment: str
    mode: str = "subtask"
    stats_path: Path | None = None
    action_tokenizer_path: Path | None = None
    backend: str = "auto"
    device: str = "auto"
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | float32 | bfloat16 | float16
    attn_implementation: str = "eager"  # eager lets FlagGems cover more ops; or sdpa
    max_new_tokens: int | None = None  # None: the contract's
    constrained: bool | None = None  # None: on for the demo model only
    seed: int = 0
    draft: str = "none"  # speculative greedy decoding (skills.x0.speculative): none | previous | prompt | both
    max_draft: int = 8

    def __post_init__(self) -> None:
        self.model_path = Path(self.model_path)
        embodiment(self.embodiment)
        if self.mode not in MODES:
            raise ValueError(f"Unknown mode {self.mode!r}, should be one of: {', '.join(MODES)}")
        if self.attn_implementation not in ("eager", "sdpa"):
            raise ValueError(f"Unknown attention {self.attn_implementation!r}, should be 'eager' or 'sdpa'")
        if self.draft not in DRAFT_SOURCES:
            raise ValueError(f"Unknown draft source {self.draft!r}, should be one of: {', '.join(DRAFT_SOURCES)}")
        if self.max_draft < 1:
            raise ValueError(f"max_draft must be >= 1, got {self.max_draft}")


@dataclass
class X0Result:
    subtask: str | None
    eepose: np.ndarray  # (30, pose_dim) absolute poses
    deltas: np.ndarray  # (30, action_dim) denormalised deltas
    normalised: np.ndarray  # (30, action_dim) decoded model output in [-1, 1]
    action_tokens: list[int]  # FAST ids (without the LM offset)
    backend: BackendChoice
    timings: dict[str, float] = field(default_factory=dict)
    generated_tokens: int = 0
    demo: bool = False
    generated: list[int] = field(default_factory=list)  # every new token (the next chunk's draft source)
    speculation: dict[str, Any] | None = None  # drafts tried and accepted, when decoding speculatively

    def to_dict(self) -> dict[str, Any]:
        return {
            "subtask": self.subtask,
            "eepose": self.eepose.tolist(),
            "action_tokens": list(self.action_tokens),
            "backend": self.backend.to_dict(),
            "timings": dict(self.timings),
            "generated_tokens": self.generated_tokens,
            "demo": self.demo,
            **({"speculation": self.speculation} if self.speculation is not None else {}),
        }


def parse_output(token_ids: list[int], decode_text) -> tuple[str, list[int]]:
    """Subtask text (before the first ``<boa>``) and FAST ids (between ``<boa>`` and ``<eoa>``)."""
    if BOA_TOKEN_ID not in token_ids:
        raise ActionDecodeError("the model emitted no <boa>: no action tokens to decode")
    start = token_ids.index(BOA_TOKEN_ID)
    subtask = decode_text(token_ids[:start]).strip()
    actions = token_ids[start + 1:]
    if EOA_TOKEN_ID in actions:
        actions = actions[:actions.index(EOA_TOKEN_ID)]
    fast_ids = [t - ACTION_TOKEN_OFFSET for t in actions if ACTION_TOKEN_OFFSET <= t < ACTION_TOKEN_END]
    return subtask, fast_ids


class X0Model:
    """A loaded checkpoint for one embodiment and mode. Thread-safe: one generation at a time."""

    def __init__(self, options: X0Options, *, model, processor, codec: FastTokenizer, stats: ActionStats,
                 backend: BackendChoice, dtype_name: str, demo: dict | None) -> None:
        self.options = options
        self.embodiment: Embodiment = embodiment(options.embodiment)
        self.model = model
        self.processor = processor
        self.codec = codec
        self.stats = stats
        self.backend = backend
        self.dtype_name = dtype_name
        self.demo = demo
        self._lock = threading.Lock()
        self._previous: list[int] = []  # the last chunk's tokens: the next one's drafts
        if options.draft != "none" and self.embodiment.generation.do_sample:
            logger.warning("X0 %s samples its tokens (its contract): draft %r is not used, speculative decoding "
                           "keeps greedy decoding's tokens only", self.embodiment.name, options.draft)

    def with_options(self, **changes: Any) -> X0Model:
        """This model's loaded weights under other options (``draft``, ``max_draft``...): nothing is loaded again."""
        return X0Model(replace(self.options, **changes), model=self.model, processor=self.processor,
                       codec=self.codec, stats=self.stats, backend=self.backend, dtype_name=self.dtype_name,
                       demo=self.demo)

    @classmethod
    def load(cls, options: X0Options) -> X0Model:
        require_torch()
        from skills.x0.loading import load_parts

        return cls(options, **load_parts(options))

    # --- inference ----------------------------------------------------------------------

    def infer(self, instruction: str, images: dict[str, Any], eef_pose: Any, *,
              logits_processor: Any = None, previous: list[int] | None = None) -> X0Result:
        """Run one chunk. ``images`` maps the embodiment's camera keys to PIL images.

        With ``options.draft`` other than none, decoding is speculative (the same tokens, fewer
        forward passes); ``previous``: the tokens of the robot's last chunk (``X0Result.generated``)
        to draft from, default this model's last output.
        """
        if not instruction or not instruction.strip():
            raise X0RequestError("instruction is empty")
        pose = _checked_pose(eef_pose, self.embodiment)
        ordered = _ordered_images(images, self.embodiment)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        prompt = self.processor.prompt(self.embodiment, self.options.mode, instruction)
        inputs = self.processor(prompt, ordered)
        timings["preprocess_s"] = time.perf_counter() - started
        with self._lock:
            drafts = self._previous if previous is None else previous
            generated, timings["generate_s"], speculation = self._generate(inputs, logits_processor, drafts)
            self._previous = generated
        result = self._result(generated, pose, timings, started)
        result.speculation = speculation
        return result

    def _result(self, generated: list[int], pose: np.ndarray, timings: dict[str, float], started: float) -> X0Result:
        subtask, fast_ids = parse_output(generated, self.processor.decode)
        normalised = self.codec.decode(fast_ids, HORIZON, self.embodiment.action_dim)
        deltas = self.stats.denormalise(normalised)
        eepose = integrate(pose, deltas, self.embodiment)
        if not np.all(np.isfinite(eepose)):
            raise ActionDecodeError("the decoded trajectory holds NaN or infinite values")
        timings["total_s"] = time.perf_counter() - started
        return X0Result(
            subtask=subtask if self.options.mode == "subtask" else None,
            eepose=eepose, deltas=deltas, normalised=normalised, action_tokens=fast_ids,
            backend=self.backend, timings=timings, generated_tokens=len(generated), demo=self.demo is not None,
            generated=list(generated),
        )

    def _generate(self, inputs: dict[str, Any], logits_processor: Any,
                  previous: list[int]) -> tuple[list[int], float, dict[str, Any] | None]:
        import torch

        inputs = {k: v.to(self.model.device) for k, v in inputs.items()}
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        prompt_length = inputs["input_ids"].shape[1]
        processors = [logits_processor] if logits_processor is not None else self._default_processors(prompt_length)
        settings = self.embodiment.generation
        sampling = {"do_sample": False}
        if settings.do_sample:
            sampling = {"do_sample": True, "temperature": settings.temperature, "top_k": 0, "top_p": 1.0}
            torch.manual_seed(self.options.seed)
        started = time.perf_counter()
        if self.options.draft != "none" and not settings.do_sample:  # drafts keep greedy decoding's tokens only
            with torch.inference_mode(), gems_scope(self.backend):
                tokens, stats = speculative_greedy(
                    self.model, inputs, processors, max_new_tokens=self.max_new_tokens, end_ids=END_TOKEN_IDS,
                    previous=previous, source=self.options.draft, max_draft=self.options.max_draft)
            return tokens, time.perf_counter() - started, stats.to_dict()
        with torch.inference_mode(), gems_scope(self.backend):
            output = self.model.generate(
                **inputs, logits_processor=processors, max_new_tokens=self.max_new_tokens,
                eos_token_id=list(END_TOKEN_IDS), pad_token_id=END_TOKEN_IDS[-1], **sampling,
            )
        return output[0, prompt_length:].tolist(), time.perf_counter() - started, None

    def _default_processors(self, prompt_length: int) -> list[Any]:
        constrained = self.options.constrained
        if constrained is None:
            constrained = self.demo is not None
        if not constrained:
            return []
        text_vocab = (self.demo or {}).get("text_vocab_size", ACTION_TOKEN_OFFSET)
        return [ActionGrammar(self.codec, horizon=HORIZON, action_dim=self.embodiment.action_dim,
                              prompt_length=prompt_length, subtask=self.options.mode == "subtask",
                              text_vocab_size=text_vocab, max_text_tokens=8 if self.demo else 64)]

    @property
    def max_new_tokens(self) -> int:
        return self.options.max_new_tokens or self.embodiment.generation.max_new_tokens

    # --- description --------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """What is loaded, for /health, /info and every result."""
        return {
            "model_path": str(self.options.model_path),
            "embodiment": self.embodiment.name,
            "mode": self.options.mode,
            "backend": self.backend.to_dict(),
            "dtype": self.dtype_name,
            "attn_implementation": self.options.attn_implementation,
            "draft": self.options.draft,
            "stats_key": self.stats.key,
            "demo": self.demo is not None,
            "weights": self.demo["description"] if self.demo else "checkpoint",
        }


def _checked_pose(eef_pose: Any, emb: Embodiment) -> np.ndarray:
    try:
        return check_pose(eef_pose, emb)
    except ValueError as e:
        raise X0RequestError(str(e)) from e


def _ordered_images(images: dict[str, Any], emb: Embodiment) -> list[Any]:
    missing = [key for key in emb.image_keys if key not in images]
    if missing:
        raise X0RequestError(f"missing image(s) {', '.join(missing)}; {emb.name} needs: {', '.join(emb.image_keys)}")
    return [images[key] for key in emb.image_keys]

