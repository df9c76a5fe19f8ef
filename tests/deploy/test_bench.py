"""The dispatch benchmark runs end to end on a tiny fleet and prints its figures (no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_bench_dispatch_prints_each_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "bench", "dispatch", "--handoffs", "3", "--robots", "3", "--subtasks", "9"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^publish -> first skill call: p50 [\d.]+ ms, p99 [\d.]+ ms \(3 tasks\)$", result.stdout, re.M)
    assert re.search(r"^handoff: p50 [\d.]+ ms, p99 [\d.]+ ms \(3 handoffs\)$", result.stdout, re.M)
    assert re.search(r"^throughput: \d+ subtasks/s \(3 robots, 9 subtasks in [\d.]+ s\)$", result.stdout, re.M)
