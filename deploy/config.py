"""The whole stack's configuration: one YAML file, environment overrides, embedded defaults.

Every key is documented in ``docs/configuration.md``. With no file at all, the defaults run the
embedded stack: a Redis server we start ourselves, the symbolic planner, the restaurant scene.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from brain.llm.config import LLMConfig
from brain.planner import Planner
from deploy.errors import ConfigError
from deploy.settings import from_mapping, to_mapping
from master.config import MasterConfig

__all__ = ["BrainServerSettings", "RoboOSConfig", "SkillDefaults", "SlaverDefaults", "load_config"]

logger = logging.getLogger(__name__)

# Environment variables that override config keys (secrets and URLs).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "ROBOOS_REDIS_URL": ("redis_url",),
    "ROBOOS_PREFIX": ("prefix",),
    "ROBOOS_RUN_DIR": ("run_dir",),
    "ROBOOS_AUTH_TOKEN": ("master", "auth_token"),
    "ROBOOS_LLM_BASE_URL": ("llm", "base_url"),
    "ROBOOS_LLM_MODEL": ("llm", "model"),
    "OPENAI_API_KEY": ("llm", "api_key"),
    "ROBOOS_LLM_API_KEY": ("llm", "api_key"),  # wins over OPENAI_API_KEY (applied later)
}


@dataclass
class SlaverDefaults:
    """Settings every slaver of the stack gets."""

    heartbeat_interval_s: float = 1.0
    liveness_ttl_s: float = 3.0
    default_call_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.liveness_ttl_s <= self.heartbeat_interval_s:
            raise ValueError(
                f"liveness_ttl_s must be greater than heartbeat_interval_s: got {self.liveness_ttl_s} "
                f"for liveness_ttl_s and {self.heartbeat_interval_s} for heartbeat_interval_s"
            )


@dataclass
class SkillDefaults:
    """Overrides for the scene's simulated skill servers (None keeps the scene's value)."""

    speed: float | None = None
    failure_probability: float | None = None
    added_latency_s: float | None = None
    http_port_base: int | None = None  # None: a free port per HTTP skill server

    def __post_init__(self) -> None:
        if self.speed is not None and self.speed < 0:
            raise ValueError(f"speed must be >= 0, got {self.speed}")
        if self.failure_probability is not None and not 0 <= self.failure_probability <= 1:
            raise ValueError(f"failure_probability must be between 0 and 1, got {self.failure_probability}")


@dataclass
class BrainServerSettings:
    """``roboos brain serve``, started by the stack when the planner uses the LLM and ``start`` is on.

    It serves ``model`` (a Hugging Face folder or a GGUF file; None: the bundled SmolLM2-135M) and
    the stack points ``llm.base_url`` at it. Turn ``start`` off to use vLLM, OpenAI or Azure.
    """

    start: bool = True
    model: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    ready_timeout_s: float = 300.0


@dataclass
class RoboOSConfig:
    redis_url: str | None = None  # None: start the embedded redis-server
    prefix: str = "roboos:"
    run_dir: Path = Path("run")
    scene: str = "restaurant"
    planner: str = "symbolic"  # a registered planner type: symbolic, llm, llm_goals
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    master: MasterConfig = field(default_factory=MasterConfig)
    slaver: SlaverDefaults = field(default_factory=SlaverDefaults)
    skills: SkillDefaults = field(default_factory=SkillDefaults)
    llm: LLMConfig = field(default_factory=LLMConfig)
    brain_server: BrainServerSettings = field(default_factory=BrainServerSettings)

    def __post_init__(self) -> None:
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"redis_url must be a redis://, rediss:// or unix:// URL, got {self.redis_url!r}")
        if not self.prefix:
            raise ValueError("prefix must not be empty")
        if self.planner not in Planner.available():
            raise ValueError(f"planner must be one of {', '.join(Planner.available())}, got {self.planner!r}")

    @property
    def uses_llm(self) -> bool:
        """Whether the planner asks the LLM endpoint (so the stack serves a model and the slavers step with it)."""
        return Planner.type_of(self.planner).uses_llm

    def redacted(self) -> dict[str, Any]:
        data = to_mapping(self)
        data["master"] = self.master.redacted()
        data["llm"] = self.llm.redacted()
        if self.redis_url and "@" in self.redis_url:
            scheme, _, rest = self.redis_url.partition("://")
            data["redis_url"] = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return data


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> RoboOSConfig:
    """Read ``path`` (YAML; None for defaults), apply environment and ``overrides`` (dotted keys)."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as e:
            raise ConfigError(f"cannot read config file {path}: {e}") from e
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {e}") from e
    for variable, keys in ENV_OVERRIDES.items():
        if os.environ.get(variable):
            _set(data, keys, os.environ[variable])
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set(data, tuple(dotted.split(".")), value)
    return from_mapping(RoboOSConfig, data, source)


def _set(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value
