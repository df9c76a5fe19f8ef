"""MasterConfig rejects bad values, naming the field."""

from __future__ import annotations

import pytest

from master.config import MasterConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": 70000}, "port must be between 0 and 65535, got 70000"),
        ({"port": "5000"}, "port must be an integer"),
        ({"max_replans": -1}, "max_replans must be between 0 and 100, got -1"),
        ({"subtask_timeout_s": 0}, "subtask_timeout_s must be greater than 0, got 0"),
        ({"plan_timeout_s": True}, "plan_timeout_s must be a number of seconds"),
        ({"auth_token": "  "}, "auth_token must be a non-empty string"),
        ({"host": "0.0.0.0"}, "auth_token is required when host is '0.0.0.0'"),
        ({"max_body_bytes": 10}, "max_body_bytes must be between 1024"),
        ({"http_threads": 0}, "http_threads must be between 1"),
        ({"redis_max_connections": 2}, "redis_max_connections must be between 4"),
        ({"channel_timeout_s": -1}, "channel_timeout_s must be greater than 0"),
        ({"cors_origins": "http://a.example"}, "cors_origins must be a list of origins"),
        ({"cors_origins": ["http://a.example/"]}, "'http://a.example/' is not an origin"),
        ({"cors_origins": ["a.example:8888"]}, "give scheme://host"),
        ({"cors_origins": ["*", "http://a.example"]}, "'[*]' allows every origin and must stand alone"),
        ({"connection_limit": 100}, "connection_limit must be at least http_threads [+] max_event_streams: "
                                    "got 100 for connection_limit and 16 [+] 300"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MasterConfig(**kwargs)


def test_defaults_and_redaction() -> None:
    config = MasterConfig(host="0.0.0.0", auth_token="s3cret")
    assert config.port == 5000 and config.max_replans == 2 and config.subtask_timeout_s == 60
    assert config.redacted()["auth_token"] == "***"


def test_every_config_field_has_a_command_line_flag() -> None:
    from dataclasses import fields

    from master.server import config_from_args, parse_args

    argv = ["--port", "5055", "--auth-token", "tok", "--subtask-timeout", "12", "--max-replans", "5",
            "--plan-timeout", "40", "--max-body-bytes", "4096", "--offline-check-interval", "0.5",
                "--offline-grace", "4",
            "--bridge-timeout", "7", "--host", "localhost", "--http-threads", "8", "--max-event-streams", "20",
            "--connection-limit", "64", "--channel-timeout", "9", "--redis-max-connections", "12",
            "--redis-pool-timeout", "2.5", "--cors-origins", "https://ui.example, http://10.0.0.7:8888"]
    config = config_from_args(parse_args(argv))
    expected = MasterConfig(host="localhost", port=5055, auth_token="tok", subtask_timeout_s=12.0, max_replans=5,
                            plan_timeout_s=40.0, max_body_bytes=4096, offline_check_interval_s=0.5,
                                offline_grace_s=4.0,
                            bridge_timeout_s=7.0, http_threads=8, max_event_streams=20, connection_limit=64,
                            channel_timeout_s=9.0, redis_max_connections=12, redis_pool_timeout_s=2.5,
                            cors_origins=("https://ui.example", "http://10.0.0.7:8888"))
    assert config == expected
    assert all(getattr(config, f.name) != getattr(MasterConfig(), f.name) for f in fields(MasterConfig))


def test_the_flags_a_config_writes_read_back_as_the_same_config() -> None:
    from master.server import config_from_args, parse_args

    config = MasterConfig(port=0, subtask_timeout_s=12.5, max_replans=4, http_threads=8, channel_timeout_s=3.0)
    assert config_from_args(parse_args(config.to_argv())) == config
    for origins in ([], ["*"], ["http://127.0.0.1:8888"], ["https://a.example", "http://b.example:81"]):
        config = MasterConfig(cors_origins=origins)
        assert config_from_args(parse_args(config.to_argv())) == config and config.cors_origins == tuple(origins)
    assert "--auth-token" not in MasterConfig(auth_token="t0ken").to_argv()
