from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.errors import LaunchError
from deploy.launcher import (
    Launcher,
    PortClaim,
    RestartPolicy,
    Restarts,
    check_ports,
    free_port,
    http_ready,
    log_line_ready,
    port_in_use,
    port_ready,
)

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


CRASHER = [sys.executable, "-c", "import sys; print('run', flush=True); sys.exit(3)"]
FAST = RestartPolicy(initial_s=0.1, max_s=0.2, stable_s=60, max_restarts=5, window_s=60)


def supervise_until(launcher: Launcher, done, timeout_s: float = 15.0) -> list[str]:
    notes: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not done(notes):
        assert time.monotonic() < deadline, f"not done in {timeout_s} s; notes: {notes}"
        notes += launcher.supervise()
        time.sleep(0.02)
    return notes


def test_supervise_restarts_a_crashed_process_with_backoff_and_appends_to_its_log(tmp_path: Path) -> None:
    with Launcher(tmp_path, restart=FAST) as launcher:
        process = launcher.start("crashy", CRASHER)
        notes = supervise_until(launcher, lambda notes: len(notes) == 3)
        log = process.log_path.read_text()
    assert notes == [
        "crashy exited with code 3; restarting in 0.1 s (restart 1)",
        "crashy exited with code 3; restarting in 0.2 s (restart 2)",
        "crashy exited with code 3; restarting in 0.2 s (restart 3)",
    ]
    assert log.count("run") == 3
    assert "--- restarted by the launcher (restart 2) ---" in log


def test_supervise_gives_up_on_a_component_that_keeps_crashing(tmp_path: Path) -> None:
    policy = RestartPolicy(initial_s=0.05, max_s=0.05, max_restarts=2, window_s=60)
    with Launcher(tmp_path, restart=policy) as launcher:
        launcher.start("crashy", CRASHER)
        with pytest.raises(LaunchError, match=r"(?s)crashy exited with code 3 after 2 restarts within 60 s; giving up.*run"):
            supervise_until(launcher, lambda notes: False)


def test_a_running_process_is_left_alone(tmp_path: Path) -> None:
    with Launcher(tmp_path, restart=FAST) as launcher:
        process = launcher.start("sleeper", SLEEPER, ready=log_line_ready("ready"), timeout_s=10)
        pid = process.popen.pid
        assert launcher.supervise() == []
        assert process.popen.pid == pid and process.restarts.count == 0


def test_backoff_doubles_to_the_cap_and_resets_once_the_component_stayed_up() -> None:
    restarts = Restarts(RestartPolicy(initial_s=0.5, max_s=2.0, stable_s=10, max_restarts=10, window_s=100))
    assert [restarts.next_delay(up_since=t, now=t + 1) for t in range(4)] == [0.5, 1.0, 2.0, 2.0]
    assert restarts.next_delay(up_since=10, now=30) == 0.5  # up 20 s: stable again
    assert restarts.count == 5


def test_too_many_restarts_within_the_window_gives_up_and_old_ones_age_out() -> None:
    restarts = Restarts(RestartPolicy(max_restarts=2, window_s=10))
    assert restarts.next_delay(0, 1) is not None
    assert restarts.next_delay(1, 2) is not None
    assert restarts.next_delay(2, 3) is None
    assert restarts.next_delay(20, 21) is not None  # the first two are out of the window


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie has exited; only its parent (maybe init) has not reaped it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux-only")
def test_children_die_when_the_launching_process_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path; from deploy.launcher import Launcher, log_line_ready\n"
        f"launcher = Launcher(Path({str(tmp_path)!r}))\n"
        f"child = launcher.start('sleeper', {SLEEPER!r}, ready=log_line_ready('ready'), timeout_s=10)\n"
        "print(child.popen.pid, flush=True); time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert not _gone(child)
        parent.kill()
    deadline = time.monotonic() + 5
    while not _gone(child):
        assert time.monotonic() < deadline, f"child {child} outlived its killed parent"
        time.sleep(0.05)


def test_a_port_in_use_is_named_with_its_component_and_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert port_in_use(port) and port_in_use(port, "0.0.0.0")
        with pytest.raises(LaunchError, match=f"port {port} for the master is in use by another program.*--port N"):
            check_ports([PortClaim(port, "the master", "pass --port N", "0.0.0.0")])


def test_a_bound_but_silent_port_is_in_use() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, not listening: a server could not bind it either
        assert port_in_use(held.getsockname()[1])


def test_free_ports_pass_and_clashes_inside_the_stack_are_refused() -> None:
    port = free_port()
    check_ports([PortClaim(port, "the master", "pass --port N")])
    assert not port_in_use(port)
    with pytest.raises(LaunchError) as error:
        check_ports([PortClaim(port, "the master", "pass --port N"), PortClaim(port, "the web UI", "pass --ui-port N"),
                     PortClaim(70000, "the skill server of waiter", "pass --base-port N")])
    message = str(error.value)
    assert f"port {port} for the web UI is also the port of the master; pass --ui-port N" in message
    assert "port 70000 for the skill server of waiter is not a TCP port" in message
