"""Settings of the LLM brain (planner and step loop) for an OpenAI-compatible endpoint.

    llm:
      base_url: http://127.0.0.1:8000/v1     # vLLM, `roboos brain serve`, OpenAI, Azure (.../openai/v1/)
      model: RoboBrain2.0-7B
      timeout_s: 60                          # per request, hard bound
      max_attempts: 3                        # plan attempts; bad tool calls re-asked per step
      fallback: symbolic                     # or "fail"
      structured_output: json_schema         # vLLM >= 0.12, OpenAI; "guided_json" older vLLM; "none"
      support_tool_calls: true               # false: a fenced JSON text protocol instead of `tools`
      max_steps: 12
      temperature: 0.0
      max_tokens: 512
      require_actions: true                  # every subtask must carry grounded tool calls (`actions`);
                                             # false allows free-text subtasks for the slavers' step loop

Environment overrides: ROBOOS_LLM_BASE_URL, ROBOOS_LLM_MODEL, ROBOOS_LLM_API_KEY (else OPENAI_API_KEY).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from dataclasses import asdict, dataclass, fields
from typing import Any

from brain.errors import BrainError

__all__ = ["LLMConfig", "LLMConfigError"]

FALLBACKS = ("symbolic", "fail")
STRUCTURED_OUTPUTS = ("json_schema", "guided_json", "none")


class LLMConfigError(BrainError):
    """A bad LLM setting; the message names the field and the value."""


@dataclass
class LLMConfig:
    base_url: str = "http://127.0.0.1:8000/v1"  # where `roboos brain serve` listens by default
    model: str = "SmolLM2-135M-Instruct"  # the model `roboos brain serve` serves by default
    api_key: str = ""
    timeout_s: float = 60.0
    max_attempts: int = 3
    fallback: str = "symbolic"
    structured_output: str = "json_schema"
    support_tool_calls: bool = True
    max_steps: int = 12
    temperature: float = 0.0
    max_tokens: int = 512
    require_actions: bool = True

    def __post_init__(self) -> None:
        self._check_types()
        if not self.base_url.startswith(("http://", "https://")):
            raise LLMConfigError(f"llm.base_url must be an http(s) URL, got {self.base_url!r}")
        if not self.model:
            raise LLMConfigError("llm.model must name the served model, got an empty string")
        for name in ("timeout_s", "max_attempts", "max_steps", "max_tokens"):
            if getattr(self, name) <= 0:
                raise LLMConfigError(f"llm.{name} must be positive, got {getattr(self, name)!r}")
        if not 0.0 <= self.temperature <= 2.0:
            raise LLMConfigError(f"llm.temperature must be from 0 to 2, got {self.temperature!r}")
        if self.fallback not in FALLBACKS:
            raise LLMConfigError(f"llm.fallback must be one of {FALLBACKS}, got {self.fallback!r}")
        if self.structured_output not in STRUCTURED_OUTPUTS:
            raise LLMConfigError(
                f"llm.structured_output must be one of {STRUCTURED_OUTPUTS}, got {self.structured_output!r}"
            )

    def _check_types(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            expected: tuple[type, ...] = {"str": (str,), "float": (int, float), "int": (int,), "bool": (bool,)}[
                str(f.type)
            ]
            if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
                raise LLMConfigError(f"llm.{f.name} must be {f.type}, got {type(value).__name__} {value!r}")
        self.timeout_s = float(self.timeout_s)
        self.temperature = float(self.temperature)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None) -> LLMConfig:
        """From a config mapping (unknown keys are errors), then the environment overrides."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LLMConfigError(f"unknown llm key(s) {unknown}; known keys: {sorted(known)}")
        env = os.environ if env is None else env
        overrides = {
            "base_url": env.get("ROBOOS_LLM_BASE_URL"),
            "model": env.get("ROBOOS_LLM_MODEL"),
            "api_key": env.get("ROBOOS_LLM_API_KEY") or env.get("OPENAI_API_KEY"),
        }
        data.update({k: v for k, v in overrides.items() if v})
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str] | None) -> LLMConfig:
        """From a JSON file of these keys (None: the defaults), then the environment overrides."""
        if path is None:
            return cls.from_dict({})
        try:
            data = json.loads(Path(path).read_text())
        except OSError as e:
            raise LLMConfigError(f"cannot read the LLM settings file {path}: {e}") from e
        except ValueError as e:
            raise LLMConfigError(f"the LLM settings file {path} is not valid JSON: {e}") from e
        if not isinstance(data, dict):
            raise LLMConfigError(f"the LLM settings file {path} must hold a JSON object")
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def redacted(self) -> dict[str, Any]:
        """For logging: the API key replaced by whether one is set."""
        return {**self.to_dict(), "api_key": "set" if self.api_key else "unset"}
