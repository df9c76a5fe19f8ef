"""``roboos master`` and ``roboos slaver`` read the stack's one config file: the file, the
environment, ``--set`` and the flags, in that order; bad values exit 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.components import _master_parser, _load_or_report, _slaver_parser, slaver_main
from slaver.cli import parse_skill_command


def test_a_skill_command_is_a_json_list_or_a_shell_style_string() -> None:
    assert parse_skill_command('["python", "-m", "skills.sim", "--zones", "a b"]') == [
        "python", "-m", "skills.sim", "--zones", "a b"]
    assert parse_skill_command("python -m skills.sim --zones 'a b'") == ["python", "-m", "skills.sim", "--zones", "a b"]
    with pytest.raises(ValueError, match="must be a list of strings"):
        parse_skill_command('["python", 3]')


def test_bad_settings_exit_2_naming_the_fields(caplog: pytest.LogCaptureFixture) -> None:
    code = slaver_main(["--robot", "a", "--embodiment", "b", "--skill-url", "http://127.0.0.1:9/mcp",
                        "--set", "slaver.heartbeat_interval_s=5", "--set", "slaver.liveness_ttl_s=2"])
    assert code == 2
    assert "liveness_ttl_s must be greater than heartbeat_interval_s" in caplog.text


def test_one_skill_endpoint_is_required() -> None:
    with pytest.raises(SystemExit) as exit_info:
        slaver_main(["--robot", "a", "--embodiment", "b", "--skill-url", "http://x/mcp", "--skill-command", "x"])
    assert exit_info.value.code == 2


def test_an_unreachable_skill_server_exits_1_with_the_reason(
    redis_url: str, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    code = slaver_main(["--robot", "a", "--embodiment", "b", "--skill-url", "http://127.0.0.1:9/mcp",
                        "--redis-url", redis_url, "--prefix", key_prefix])
    assert code == 1
    assert "cannot reach the skill server at http://127.0.0.1:9/mcp" in caplog.text


def test_the_file_then_the_environment_then_set_then_the_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "roboos.yaml"
    path.write_text("prefix: 'file:'\nredis_url: redis://file:1\nmaster:\n  port: 5100\n  max_replans: 4\n"
                    "slaver:\n  heartbeat_interval_s: 0.5\n  liveness_ttl_s: 2\n  default_call_timeout_s: 7\n")
    monkeypatch.setenv("ROBOOS_REDIS_URL", "redis://environment:1")
    args = _master_parser().parse_args(["--config", str(path), "--port", "5200",
                                        "--set", "master.max_replans=1", "--set", "prefix='set:'"])
    config = _load_or_report(args, {"master.port": args.port}, lambda level: None)
    assert config is not None
    assert (config.redis_url, config.prefix) == ("redis://environment:1", "set:")
    assert (config.master.port, config.master.max_replans) == (5200, 1)
    args = _slaver_parser().parse_args(["--config", str(path), "--robot", "r", "--embodiment", "e",
                                        "--skill-url", "http://127.0.0.1:1/mcp", "--redis-url", "redis://flag:1"])
    config = _load_or_report(args, {}, lambda level: None)
    assert config is not None and config.redis_url == "redis://flag:1"
    assert (config.slaver.heartbeat_interval_s, config.slaver.default_call_timeout_s) == (0.5, 7.0)


def test_a_bad_set_is_refused_naming_the_key(caplog: pytest.LogCaptureFixture) -> None:
    args = _master_parser().parse_args(["--set", "master.port=five"])
    assert _load_or_report(args, {}, lambda level: None) is None
    assert "master.port" in caplog.text
    args = _master_parser().parse_args(["--set", "no-equals-sign"])
    assert _load_or_report(args, {}, lambda level: None) is None
    assert "KEY=VALUE" in caplog.text


def test_the_stack_writes_the_config_its_components_run_and_no_inherited_override_beats_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploy.config import load_config
    from deploy.stack import Stack
    from scene import load_scene

    monkeypatch.setenv("ROBOOS_LLM_BASE_URL", "http://inherited.example:1/v1")
    monkeypatch.setenv("ROBOOS_AUTH_TOKEN", "t0ken")
    config = load_config(None, {"planner": "llm", "run_dir": str(tmp_path), "redis_url": "redis://:pw@127.0.0.1:7/0"})
    stack = Stack(config, load_scene("restaurant"), ui_port=9999)
    stack.redis_url, stack._brain_url = "redis://127.0.0.1:7/0", "http://127.0.0.1:8123/v1"  # as start() sets them
    stack._write_config(5123)
    written = stack.config_path.read_text()
    assert "t0ken" not in written and "pw@" not in written
    assert "ROBOOS_LLM_BASE_URL" not in stack.launcher.env and stack.launcher.env["ROBOOS_AUTH_TOKEN"] == "t0ken"
    seen = load_config(stack.config_path, env=stack.launcher.env)  # what the master and slavers load
    assert seen.llm.base_url == "http://127.0.0.1:8123/v1" and seen.master.auth_token == "t0ken"
    assert seen.master.port == 5123 and "http://127.0.0.1:9999" in seen.master.cors_origins
    assert seen.redis_url == "redis://127.0.0.1:7/0" and seen.planner == "llm"
    assert seen.master.plan_timeout_s == stack.plan_timeout_s
