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
    ],
)
def test_bad_values_are_refused_naming_the_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MasterConfig(**kwargs)


def test_defaults_and_redaction() -> None:
    config = MasterConfig(host="0.0.0.0", auth_token="s3cret")
    assert config.port == 5000 and config.max_replans == 2 and config.subtask_timeout_s == 60
    assert config.redacted()["auth_token"] == "***"
