"""Settings of the LLM brain (planner and step loop) for an OpenAI-compatible endpoint: the ``llm:`` section.

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
      require_actions: false                 # true: every subtask must carry grounded tool calls (`actions`);
                                             # false also accepts RoboBrain-format subtasks (text only),
                                             # which the slavers' step loop works out

The environment (``ROBOOS_LLM_BASE_URL``, ``ROBOOS_LLM_MODEL``, ``ROBOOS_LLM_API_KEY``) is applied
once, where the whole configuration is loaded (``deploy.config.load_config``), never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from brain.errors import BrainError
from memory.settings import Settings, explain

__all__ = ["LLMConfig", "LLMConfigError"]


class LLMConfigError(BrainError):
    """A bad LLM setting; the message names the field and the value."""


class LLMConfig(Settings):
    base_url: str = "http://127.0.0.1:8000/v1"  # where `roboos brain serve` listens by default
    model: str = Field("SmolLM2-135M-Instruct", min_length=1)  # the model `roboos brain serve` serves by default
    api_key: str = ""
    timeout_s: float = Field(60.0, gt=0)
    max_attempts: int = Field(3, gt=0)
    fallback: Literal["symbolic", "fail"] = "symbolic"
    structured_output: Literal["json_schema", "guided_json", "none"] = "json_schema"
    support_tool_calls: bool = True
    max_steps: int = Field(12, gt=0)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(512, gt=0)
    require_actions: bool = False  # RoboBrain-format plans (subtasks without actions) run on the step loop

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8000/v1")
        return url

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> LLMConfig:
        """From the keys of an ``llm:`` section; ``LLMConfigError`` names every bad one."""
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as e:
            raise LLMConfigError(explain(e, cls, "llm")) from e

    def redacted(self) -> dict[str, Any]:
        """For logging: the API key replaced by whether one is set."""
        return {**self.model_dump(), "api_key": "set" if self.api_key else "unset"}
