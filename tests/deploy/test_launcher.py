from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from deploy.errors import LaunchError
from deploy.launcher import Launcher, free_port, http_ready, log_line_ready, port_ready

SLEEPER = [sys.executable, "-c", "import time, sys; print('ready', flush=True); time.sleep(60)"]


def test_start_waits_for_log_line_and_stop_all_ends_processes(tmp_path: Path) -> None:
    with Launcher(tmp_path) as launcher:
        first = launcher.start("one", SLEEPER, ready=log_line_ready("ready"), timeout_s=10)
        second = launcher.start("two", SLEEPER, ready=log_line_ready("ready"), timeout_s=10)
        assert first.running and second.running
        assert (tmp_path / "one.log").read_text().startswith("ready")
    assert not first.running and not second.running


def test_exit_before_ready_reports_the_log_tail(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('bad config: port'); sys.exit(3)"]
    with Launcher(tmp_path) as launcher, pytest.raises(LaunchError, match="(?s)exited with code 3.*bad config"):
        launcher.start("broken", argv, ready=log_line_ready("never"), timeout_s=10)


def test_readiness_timeout(tmp_path: Path) -> None:
    with Launcher(tmp_path) as launcher, pytest.raises(LaunchError, match="not ready after"):
        launcher.start("slow", SLEEPER, ready=log_line_ready("never printed"), timeout_s=0.5)


def test_process_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    stubborn = [sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"]
    launcher = Launcher(tmp_path)
    process = launcher.start("stubborn", stubborn, ready=log_line_ready("up"), timeout_s=10)
    start = time.monotonic()
    launcher.stop_all(timeout_s=0.5)
    assert not process.running
    assert time.monotonic() - start < 5


def test_http_and_port_readiness(tmp_path: Path) -> None:
    port = free_port()
    server = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    with Launcher(tmp_path / "logs") as launcher:
        launcher.start("http", server, ready=port_ready(port), timeout_s=15)
        assert http_ready(f"http://127.0.0.1:{port}/")(launcher.processes[0])
    assert not port_ready(port)(None)  # type: ignore[arg-type]


def test_missing_program_is_a_launch_error(tmp_path: Path) -> None:
    with Launcher(tmp_path) as launcher, pytest.raises(LaunchError, match="cannot start"):
        launcher.start("ghost", ["/nonexistent/program"])
