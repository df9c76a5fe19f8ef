"""SlaverConfig checks its values once and names the fields it rejects."""

from __future__ import annotations

import pytest

from slaver.config import SlaverConfig


def test_defaults_and_the_endpoint_shown_to_people() -> None:
    config = SlaverConfig(robot="arm-1", embodiment="fixed_single_arm",
                          skill_command=["python", "-m", "skills.sim", "--robot", "arm 1"])
    assert (config.heartbeat_interval_s, config.liveness_ttl_s, config.read_block_ms) == (1.0, 3.0, 1000)
    assert (config.default_call_timeout_s, config.connect_timeout_s) == (30.0, 15.0)
    assert config.skill_endpoint == "stdio:python -m skills.sim --robot 'arm 1'"
    assert SlaverConfig(robot="a", embodiment="b", skill_url="http://h:1/mcp").skill_endpoint == "http://h:1/mcp"


def test_liveness_ttl_must_outlast_the_heartbeat_interval() -> None:
    with pytest.raises(ValueError, match=r"got 1.0 for liveness_ttl_s and 2.0 for heartbeat_interval_s"):
        SlaverConfig(robot="a", embodiment="b", skill_url="http://h/mcp", heartbeat_interval_s=2.0,
                     liveness_ttl_s=1.0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"robot": ""}, "robot\n  String should have at least 1 character"),
        ({"embodiment": ""}, "embodiment\n  String should have at least 1 character"),
        ({"skill_command": ["x"]}, "set one of skill_command .* and skill_url .*, not both"),
        ({"default_call_timeout_s": 0}, "default_call_timeout_s\n  Input should be greater than 0"),
        ({"read_block_ms": -5}, "read_block_ms\n  Input should be greater than 0"),
        # Redis fails a command with no reply for 5 s: a longer blocking read would fail every time
        ({"read_block_ms": 5000}, "read_block_ms\n  Input should be less than or equal to 2500"),
        ({"max_steps": 0}, "max_steps\n  Input should be greater than or equal to 1"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(fields: dict, message: str) -> None:
    values = {"robot": "a", "embodiment": "b", "skill_url": "http://h/mcp", **fields}
    with pytest.raises(ValueError, match=message):
        SlaverConfig(**values)


def test_the_shown_skill_endpoint_hides_passwords() -> None:
    stdio = SlaverConfig(robot="a", embodiment="b", skill_command=[
        "python", "-m", "skills.sim", "--redis-url", "redis://:s3cret@127.0.0.1:6379/0",
        "--redis-url=redis://user:s3cret@127.0.0.1:6379"])
    assert "s3cret" not in stdio.skill_endpoint
    assert "redis://:***@127.0.0.1:6379/0" in stdio.skill_endpoint
    assert "--redis-url=redis://user:***@127.0.0.1:6379" in stdio.skill_endpoint
    http = SlaverConfig(robot="a", embodiment="b", skill_url="http://robot:s3cret@10.0.0.5:8000/mcp")
    assert http.skill_endpoint == "http://robot:***@10.0.0.5:8000/mcp"
