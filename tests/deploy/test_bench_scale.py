"""The scale benchmark runs end to end on a tiny fleet and prints its table and closing lines (no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NUMBER = r"\d+(\.\d+)?"


def test_bench_scale_prints_a_table_and_the_closing_lines(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "bench", "scale", "--robots", "10", "--tasks", "5", "--handoffs", "3",
         "--workers", "2", "--subtasks", "10", "--throughput-robots", "10"],
        cwd=tmp_path, capture_output=True, text=True, timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(rf"^  slavers ready +{NUMBER} s \(2 worker processes\)$", out, re.M)
    assert re.search(rf"^  publish -> first skill call +p50 +{NUMBER} ms +p99 +{NUMBER} ms \(5 tasks\)$", out, re.M)
    assert re.search(rf"^  POST /publish_task round trip +p50 {NUMBER} ms \(http.client\); "
                     rf"p50 {NUMBER} ms through httpx \(1 task\)$", out, re.M)
    assert re.search(rf"^  handoff +p50 +{NUMBER} ms +p99 +{NUMBER} ms \(3 handoffs", out, re.M)
    assert re.search(rf"^  throughput +\d+ subtasks/s \(10 subtasks in {NUMBER} s, \d+ in flight\)$", out, re.M)
    assert re.search(rf"^  CPU per subtask +master {NUMBER} ms, slavers {NUMBER} ms, Redis {NUMBER} ms, "
                     rf"bench {NUMBER} ms \(\d+ cores\)$", out, re.M)
    assert re.search(r"^  master RSS +\d+ MB$", out, re.M)
    assert re.search(rf"^  Redis used_memory +{NUMBER} MB$", out, re.M)
    assert re.search(rf"^publish at 10 robots: p50 {NUMBER} ms, p99 {NUMBER} ms$", out, re.M)
    assert re.search(r"^throughput at 10 robots: \d+ subtasks/s$", out, re.M)
