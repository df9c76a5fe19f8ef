"""LLMConfig: checked once, fields named in errors, environment overrides."""

from __future__ import annotations

import pytest

from brain.llm import LLMConfig, LLMConfigError
from brain.llm.extraction import extract_json


def test_defaults_point_at_the_local_brain_server() -> None:
    config = LLMConfig.from_dict({}, env={})
    assert (config.base_url, config.model, config.fallback) == ("http://127.0.0.1:8000/v1", "SmolLM2-135M-Instruct",
                                                                "symbolic")


def test_environment_overrides_and_redaction() -> None:
    env = {"ROBOOS_LLM_BASE_URL": "https://example.openai.azure.com/openai/v1/", "ROBOOS_LLM_MODEL": "gpt-4o",
           "OPENAI_API_KEY": "sk-secret"}
    config = LLMConfig.from_dict({"model": "RoboBrain2.0-7B", "timeout_s": 30}, env=env)
    assert (config.base_url, config.model, config.api_key, config.timeout_s) == (
        env["ROBOOS_LLM_BASE_URL"], "gpt-4o", "sk-secret", 30.0)
    assert config.redacted()["api_key"] == "set" and "sk-secret" not in str(config.redacted())
    assert LLMConfig.from_dict({}, env={"ROBOOS_LLM_API_KEY": "a", "OPENAI_API_KEY": "b"}).api_key == "a"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modle": "x"}, r"unknown llm key\(s\) \['modle'\]"),
        ({"fallback": "retry"}, "llm.fallback must be one of"),
        ({"structured_output": "grammar"}, "llm.structured_output must be one of"),
        ({"max_attempts": 0}, "llm.max_attempts must be positive, got 0"),
        ({"timeout_s": "fast"}, "llm.timeout_s must be float, got str 'fast'"),
        ({"support_tool_calls": "yes"}, "llm.support_tool_calls must be bool"),
        ({"max_steps": True}, "llm.max_steps must be int, got bool"),
        ({"base_url": "localhost:8000"}, "llm.base_url must be an http"),
        ({"temperature": 3}, "llm.temperature must be from 0 to 2, got 3"),
    ],
)
def test_bad_settings_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(LLMConfigError, match=message):
        LLMConfig.from_dict(data, env={})


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


def test_require_actions_is_on_by_default_and_must_be_a_bool() -> None:
    assert LLMConfig().require_actions is True
    assert LLMConfig.from_dict({"require_actions": False}).require_actions is False
    with pytest.raises(LLMConfigError, match="llm.require_actions must be bool"):
        LLMConfig.from_dict({"require_actions": "yes"})
