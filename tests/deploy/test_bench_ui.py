"""``roboos bench ui`` end to end: a small fleet, a few events, in headless Chromium.

Speed is measured, not asserted: the test checks the report's shape and that every change showed.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.bench_ui import add_ui_bench_arguments, run_ui_bench
from deploy.chromium import MISSING_HINT, chromium_path

CHROMIUM = str(chromium_path())
LATENCY_LINE = re.compile(r"^event to screen: p50 \d+\.\d ms, p99 \d+\.\d ms$", re.MULTILINE)


def test_flags_map_onto_the_keywords() -> None:
    parser = argparse.ArgumentParser()
    add_ui_bench_arguments(parser)
    args = parser.parse_args(["--robots", "3", "--events", "7"])
    assert vars(args) == {"robots": 3, "events": 7, "gap_ms": 75.0, "miss_after_s": 5.0, "chromium": None}


@pytest.mark.timeout(30)
def test_importing_it_loads_no_heavy_module() -> None:
    code = ("import sys, deploy.bench_ui; "
            "print(sorted(m for m in ('playwright', 'memory', 'deploy.launcher', 'httpx', 'redis') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(90)
def test_every_event_shows_on_the_dashboard() -> None:
    pytest.importorskip("playwright.async_api", reason="playwright is not installed: pip install -e '.[test]'")
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: {MISSING_HINT}")
    out, progress = io.StringIO(), io.StringIO()

    code = run_ui_bench(out, robots=5, events=10, chromium=CHROMIUM, progress=progress)

    report = out.getvalue()
    assert LATENCY_LINE.search(report), report
    assert re.search(r"^min \d+\.\d ms, max \d+\.\d ms, misses 0 of 10$", report, re.MULTILINE), report
    assert code == 0
    assert "10/10 trials" in progress.getvalue()
