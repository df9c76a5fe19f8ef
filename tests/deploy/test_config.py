from __future__ import annotations

from pathlib import Path

import pytest

from deploy.config import RoboOSConfig, load_config
from deploy.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roboos.yaml"
    path.write_text(text)
    return path


def test_defaults_run_the_embedded_stack() -> None:
    config = load_config(None)
    assert config.redis_url is None
    assert config.planner == "symbolic"
    assert config.master.port == 5000 and config.master.host == "127.0.0.1"


def test_file_values_and_nested_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "scene: household\nmaster:\n  port: 5050\n  max_replans: 4\nslaver:\n  liveness_ttl_s: 5\n")
    config = load_config(path)
    assert config.scene == "household"
    assert config.master.port == 5050 and config.master.max_replans == 4
    assert config.slaver.liveness_ttl_s == 5.0


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "master:\n  prot: 5050\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "master.prot" in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("master:\n  port: 'five'\n", "master.port"),
        ("planner: quantum\n", "planner"),
        ("skills:\n  speed: true\n", "skills.speed"),
        ("prefix: 5\n", "prefix"),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(path)


def test_cross_field_check_names_both_values(tmp_path: Path) -> None:
    path = write(tmp_path, "slaver:\n  heartbeat_interval_s: 2\n  liveness_ttl_s: 1\n")
    with pytest.raises(ConfigError, match="liveness_ttl_s.*heartbeat_interval_s"):
        load_config(path)


def test_binding_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auth_token"):
        load_config(write(tmp_path, "master:\n  host: 0.0.0.0\n"))


def test_environment_overrides_and_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBOOS_REDIS_URL", "redis://:hunter2@db.local:6379/0")
    monkeypatch.setenv("ROBOOS_AUTH_TOKEN", "s3cret")
    config = load_config(None)
    assert config.redis_url == "redis://:hunter2@db.local:6379/0"
    assert config.master.auth_token == "s3cret"
    shown = str(config.redacted())
    assert "hunter2" not in shown and "s3cret" not in shown


def test_overrides_win_over_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "scene: household\n"), {"scene": "supermarket", "master.port": 0})
    assert config.scene == "supermarket" and config.master.port == 0


def test_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "master: [unclosed\n"))


def test_bad_redis_url() -> None:
    with pytest.raises(ConfigError, match="redis_url"):
        load_config(None, {"redis_url": "http://localhost"})


def test_config_type_is_a_dataclass_with_defaults() -> None:
    assert RoboOSConfig().prefix == "roboos:"
