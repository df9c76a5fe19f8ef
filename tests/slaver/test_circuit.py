from __future__ import annotations

import pytest

from slaver.config import SlaverConfig
from slaver.circuit import Backoff


def test_backoff_doubles_up_to_its_cap_with_jitter_and_starts_over_when_reset() -> None:
    backoff = Backoff(initial_s=0.5, max_s=30.0)
    delays = [backoff.next_delay() for _ in range(12)]
    ceilings = [min(30.0, 0.5 * 2**i) for i in range(12)]
    assert all(ceiling / 2 <= d <= ceiling for d, ceiling in zip(delays, ceilings, strict=True))
    backoff.attempts = 10_000  # long outages neither overflow nor pass the cap
    assert 15.0 <= backoff.next_delay() <= 30.0
    backoff.reset()
    assert 0.25 <= backoff.next_delay() <= 0.5


def test_reconnect_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="reconnect_initial_s\n  Input should be greater than 0"):
        SlaverConfig(robot="r", embodiment="e", reconnect_initial_s=0)
    with pytest.raises(ValueError, match="reconnect_max_s must be >= reconnect_initial_s, got 1.0 "):
        SlaverConfig(robot="r", embodiment="e", reconnect_initial_s=2, reconnect_max_s=1)
