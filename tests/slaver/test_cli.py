"""``python -m slaver``: flags, skill commands, and failing fast with a reason."""

from __future__ import annotations

import pytest

from slaver.cli import main, parse_skill_command


def test_a_skill_command_is_a_json_list_or_a_shell_style_string() -> None:
    assert parse_skill_command('["python", "-m", "skills.sim", "--zones", "a b"]') == [
        "python", "-m", "skills.sim", "--zones", "a b"]
    assert parse_skill_command("python -m skills.sim --zones 'a b'") == ["python", "-m", "skills.sim", "--zones", "a b"]
    with pytest.raises(ValueError, match="must be a list of strings"):
        parse_skill_command('["python", 3]')


def test_bad_settings_exit_2_naming_the_fields(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--robot", "a", "--embodiment", "b", "--skill-url", "http://127.0.0.1:9/mcp",
                 "--heartbeat-interval", "5", "--liveness-ttl", "2"])
    assert code == 2
    assert "liveness_ttl_s" in capsys.readouterr().err


def test_one_skill_endpoint_is_required() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--robot", "a", "--embodiment", "b", "--skill-url", "http://x/mcp", "--skill-command", "x"])
    assert exit_info.value.code == 2


def test_an_unreachable_skill_server_exits_1_with_the_reason(
    redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    code = main(["--robot", "a", "--embodiment", "b", "--skill-url", "http://127.0.0.1:9/mcp",
                 "--redis-url", redis_url, "--prefix", key_prefix])
    assert code == 1
    assert "cannot reach the skill server at http://127.0.0.1:9/mcp" in caplog.text


def test_timing_flags_reach_the_config() -> None:
    from slaver.cli import _config, _parser

    args = _parser().parse_args(["--robot", "r", "--embodiment", "humanoid", "--skill-url", "http://127.0.0.1:1/mcp",
                                 "--heartbeat-interval", "0.5", "--liveness-ttl", "2", "--call-timeout", "7"])
    config = _config(args)
    assert (config.heartbeat_interval_s, config.liveness_ttl_s, config.default_call_timeout_s) == (0.5, 2.0, 7.0)
