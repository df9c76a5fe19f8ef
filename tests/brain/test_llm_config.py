"""LLMConfig: checked once, fields named in errors; the environment is applied by ``deploy.config`` alone."""

from __future__ import annotations

import pytest

from brain.llm import LLMConfig, LLMConfigError
from brain.llm.extraction import extract_json


def test_defaults_point_at_the_local_brain_server() -> None:
    config = LLMConfig.from_dict({})
    assert (config.base_url, config.model, config.fallback) == ("http://127.0.0.1:8000/v1", "SmolLM2-135M-Instruct",
                                                                "symbolic")


def test_environment_overrides_apply_once_where_the_config_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy.config import load_config

    env = {"ROBOOS_LLM_BASE_URL": "https://example.openai.azure.com/openai/v1/", "ROBOOS_LLM_MODEL": "gpt-4o",
           "OPENAI_API_KEY": "sk-secret"}
    config = load_config(None, {"llm.timeout_s": 30}, env=env).llm
    assert (config.base_url, config.model, config.api_key, config.timeout_s) == (
        env["ROBOOS_LLM_BASE_URL"], "gpt-4o", "sk-secret", 30.0)
    assert config.redacted()["api_key"] == "set" and "sk-secret" not in str(config.redacted())
    assert load_config(None, env={"ROBOOS_LLM_API_KEY": "a", "OPENAI_API_KEY": "b"}).llm.api_key == "a"
    monkeypatch.setenv("ROBOOS_LLM_BASE_URL", "http://inherited:1/v1")
    assert LLMConfig.from_dict({"base_url": "http://written:2/v1"}).base_url == "http://written:2/v1"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modle": "x"}, r"llm.modle: unknown key; known keys: api_key, base_url"),
        ({"fallback": "retry"}, "llm.fallback: Input should be 'symbolic' or 'fail', got str 'retry'"),
        ({"structured_output": "grammar"}, "llm.structured_output: Input should be 'json_schema', 'guided_json' or"),
        ({"max_attempts": 0}, "llm.max_attempts: Input should be greater than 0, got int 0"),
        ({"timeout_s": "fast"}, "llm.timeout_s: Input should be a valid number, got str 'fast'"),
        ({"support_tool_calls": "yes"}, "llm.support_tool_calls: Input should be a valid boolean"),
        ({"max_steps": True}, "llm.max_steps: Input should be a valid integer, got bool"),
        ({"base_url": "localhost:8000"}, "llm.base_url: must be an http"),
        ({"temperature": 3}, "llm.temperature: Input should be less than or equal to 2, got int 3"),
    ],
)
def test_bad_settings_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(LLMConfigError, match=message):
        LLMConfig.from_dict(data)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        'Sure! ```json\n{"a": 1}\n``` Let me know.',
        'The plan is {"a": 1} and that is all {"b": 2}',
        '```\n{"a": 1}\n```',
    ],
)
def test_extract_json_is_tolerant(text: str) -> None:
    assert extract_json(text) == {"a": 1}


def test_extract_json_says_what_it_found() -> None:
    with pytest.raises(ValueError, match="no JSON object found in the answer \\(it starts: 'I cannot plan"):
        extract_json("I cannot plan this {broken")


def test_require_actions_is_off_by_default_and_must_be_a_bool() -> None:
    assert LLMConfig().require_actions is False  # RoboBrain-format plans (no actions) run on the step loop
    assert LLMConfig.from_dict({"require_actions": True}).require_actions is True
    with pytest.raises(LLMConfigError, match="llm.require_actions: Input should be a valid boolean"):
        LLMConfig.from_dict({"require_actions": "yes"})
