"""MasterConfig rejects bad values, naming the field (through ``memory.settings.explain``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from master.config import MasterConfig
from memory.settings import explain


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": 70000}, "master.port: Input should be less than or equal to 65535, got int 70000"),
        ({"port": "5000"}, "master.port: Input should be a valid integer, got str '5000'"),
        ({"max_replans": -1}, "master.max_replans: Input should be greater than or equal to 0, got int -1"),
        ({"subtask_timeout_s": 0}, "master.subtask_timeout_s: Input should be greater than 0, got int 0"),
        ({"plan_timeout_s": True}, "master.plan_timeout_s: Input should be a valid number, got bool True"),
        ({"auth_token": "  "}, "master.auth_token: auth_token must be a non-empty string or null"),
        ({"host": "0.0.0.0"}, "master: auth_token is required when host is '0.0.0.0'"),
        ({"max_body_bytes": 10}, "master.max_body_bytes: Input should be greater than or equal to 1024"),
        ({"http_threads": 0}, "master.http_threads: Input should be greater than or equal to 1"),
        ({"redis_max_connections": 2}, "master.redis_max_connections: Input should be greater than or equal to 4"),
        ({"channel_timeout_s": -1}, "master.channel_timeout_s: Input should be greater than 0"),
        ({"cors_origins": "http://a.example"}, "master.cors_origins: Input should be a valid tuple"),
        ({"cors_origins": ["http://a.example/"]}, "'http://a.example/' is not an origin"),
        ({"cors_origins": ["a.example:8888"]}, "give scheme://host"),
        ({"cors_origins": ["*", "http://a.example"]}, "'*' allows every origin and must stand alone"),
        ({"connection_limit": 100}, "master: connection_limit must be at least http_threads + max_event_streams: "
                                    "got 100 for connection_limit and 16 + 300"),
        ({"prot": 5050}, "master.prot: unknown key; known keys: auth_token, bridge_timeout_s, channel_timeout_s"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        MasterConfig(**kwargs)
    assert message in explain(error.value, MasterConfig, "master")


def test_defaults_and_redaction() -> None:
    config = MasterConfig(host="0.0.0.0", auth_token="s3cret")
    assert config.port == 5000 and config.max_replans == 2 and config.subtask_timeout_s == 60
    assert config.redacted()["auth_token"] == "***"


def test_origins_from_a_yaml_list_and_checked_updates() -> None:
    config = MasterConfig.model_validate({"cors_origins": ["https://a.example", "http://b.example:81"]})
    assert config.cors_origins == ("https://a.example", "http://b.example:81")
    assert config.updated(port=0, cors_origins=["*"]).cors_origins == ("*",)
    with pytest.raises(ValidationError):
        config.updated(port=-1)
