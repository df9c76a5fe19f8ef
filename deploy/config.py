"""The whole stack's configuration: one YAML file, environment overrides, embedded defaults.

One model per section, owned by the component that reads it (``master:`` is ``MasterConfig``,
``slaver:`` ``SlaverSettings``, ``llm:`` ``LLMConfig``), put together here. Every component reads
the same file with ``--config``; ``load_config`` is the one place that applies the environment
(``ENV_OVERRIDES``). With no file at all, the defaults run the embedded stack: a Redis server we
start ourselves, the symbolic planner, the restaurant scene. ``docs/configuration.md`` documents
every key; a test keeps it equal to these models.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from brain.llm.config import LLMConfig
from brain.planner import Planner
from deploy.errors import ConfigError
from master.config import MasterConfig
from memory.keys import Keys
from memory.settings import Settings, explain
from slaver.config import SlaverSettings

__all__ = ["BrainServerSettings", "ENV_OVERRIDES", "RoboOSConfig", "SkillDefaults", "config_from_mapping", "load_config",
           "parse_assignment"]

logger = logging.getLogger(__name__)

# Environment variables that override config keys (secrets and URLs).
ENV_OVERRIDES: dict[str, str] = {
    "ROBOOS_REDIS_URL": "redis_url",
    "ROBOOS_PREFIX": "prefix",
    "ROBOOS_RUN_DIR": "run_dir",
    "ROBOOS_AUTH_TOKEN": "master.auth_token",
    "ROBOOS_LLM_BASE_URL": "llm.base_url",
    "ROBOOS_LLM_MODEL": "llm.model",
    "OPENAI_API_KEY": "llm.api_key",
    "ROBOOS_LLM_API_KEY": "llm.api_key",  # wins over OPENAI_API_KEY (applied later)
}


class SkillDefaults(Settings):
    """Overrides for the scene's simulated skill servers (None keeps the scene's value)."""

    speed: float | None = Field(None, ge=0)
    failure_probability: float | None = Field(None, ge=0, le=1)
    added_latency_s: float | None = Field(None, ge=0)
    http_port_base: int | None = Field(None, ge=1, le=65535)  # None: a free port per HTTP skill server


class BrainServerSettings(Settings):
    """``roboos brain serve``, started by the stack when the planner uses the LLM and ``start`` is on.

    It serves ``model`` (a Hugging Face folder or a GGUF file; None: the bundled SmolLM2-135M) and
    the stack points ``llm.base_url`` at it. Turn ``start`` off to use vLLM, OpenAI or Azure.
    """

    start: bool = True
    model: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    port: int | None = Field(None, ge=1, le=65535)  # None: a free port
    ready_timeout_s: float = Field(300.0, gt=0)


class RoboOSConfig(Settings):
    redis_url: str | None = None  # None: start the embedded redis-server
    redis_cluster: bool = False  # with no redis_url: start an embedded 3-master Redis Cluster instead
    prefix: str = "roboos:"
    run_dir: Annotated[Path, Field(strict=False)] = Path("run")
    scene: str = "restaurant"
    planner: str = "symbolic"  # a registered planner type: symbolic, llm, llm_goals
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    master: MasterConfig = Field(default_factory=MasterConfig)
    slaver: SlaverSettings = Field(default_factory=SlaverSettings)
    skills: SkillDefaults = Field(default_factory=SkillDefaults)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    brain_server: BrainServerSettings = Field(default_factory=BrainServerSettings)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return url

    @field_validator("prefix")
    @classmethod
    def _key_prefix(cls, prefix: str) -> str:
        return Keys(prefix).prefix  # its rule (non-empty, no braces: the keys wrap it in a hash tag)

    @field_validator("planner")
    @classmethod
    def _registered_planner(cls, name: str) -> str:
        if name not in Planner.available():
            raise ValueError(f"must be one of {', '.join(Planner.available())}")
        return name

    @property
    def uses_llm(self) -> bool:
        """Whether the planner asks the LLM endpoint (so the stack serves a model and the slavers step with it)."""
        return Planner.type_of(self.planner).uses_llm

    def redacted(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["master"] = self.master.redacted()
        data["llm"] = self.llm.redacted()
        if self.redis_url and "@" in self.redis_url:
            scheme, _, rest = self.redis_url.partition("://")
            data["redis_url"] = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return data

    def without_secrets(self) -> dict[str, Any]:
        """The config as a mapping that may be written to a file: the token and API key left out
        (they travel in the environment), and no password in ``redis_url``."""
        data = self.model_dump(mode="json")
        data["master"]["auth_token"] = None
        data["llm"]["api_key"] = ""
        if self.redis_url and "@" in self.redis_url:
            scheme, _, rest = self.redis_url.partition("://")
            data["redis_url"] = f"{scheme}://{rest.rpartition('@')[2]}"
        return data


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                env: Mapping[str, str] | None = None) -> RoboOSConfig:
    """Read ``path`` (YAML; None for defaults), then the environment (``env``, default
    ``os.environ``), then ``overrides`` (dotted keys; None values are skipped)."""
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        data = _read_yaml(Path(path))
    env = os.environ if env is None else env
    for variable, dotted in ENV_OVERRIDES.items():
        if env.get(variable):
            _set(data, dotted, env[variable])
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set(data, dotted, value)
    return config_from_mapping(data, source)


def config_from_mapping(data: Any, source: str) -> RoboOSConfig:
    """The config of a YAML-shaped mapping read from ``source``; ``ConfigError`` names every bad key."""
    try:
        return RoboOSConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: {explain(e, RoboOSConfig)}") from e


def parse_assignment(text: str) -> tuple[str, Any]:
    """A ``--set`` flag's ``section.key=value``: the value read as YAML (``30``, ``true``, ``[a, b]``)."""
    dotted, equals, value = text.partition("=")
    if not equals or not dotted.strip():
        raise ConfigError(f"--set takes KEY=VALUE with a dotted key such as master.subtask_timeout_s=30, got {text!r}")
    try:
        return dotted.strip(), yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {dotted}: the value {value!r} is not valid YAML: {e}") from e


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys, got {type(data).__name__}")
    return data


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *sections, key = dotted.split(".")
    for section in sections:
        inner = data.setdefault(section, {})
        if not isinstance(inner, dict):
            raise ConfigError(f"{section} must be a mapping to set {dotted}, got {type(inner).__name__}")
        data = inner
    data[key] = value
