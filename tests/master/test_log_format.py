"""Client text cannot forge or repaint the master's log lines."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from master.log_format import EscapingFormatter, escape_controls, wants_colour


def record(message: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("master.scheduler", logging.INFO, __file__, 1, message, args, exc_info)


def test_control_characters_are_escaped_in_every_message() -> None:
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    line = formatter.format(record("task %s: %s", "job\n2026 INFO forged", "\x1b[2Jred\x1b[0m\u2028\u202e"))
    assert line == "INFO task job\\n2026 INFO forged: \\x1b[2Jred\\x1b[0m\\u2028\\u202e"
    assert "\n" not in line and "\x1b" not in line


def test_a_traceback_keeps_its_lines_but_not_its_escapes() -> None:
    try:
        raise ValueError("bad \x1b[31mtask")
    except ValueError:
        exc_info = sys.exc_info()
    text = EscapingFormatter("%(message)s").format(record("failed", exc_info=exc_info))
    assert text.startswith("failed\nTraceback") and "\x1b" not in text and "bad \\x1b[31mtask" in text


def test_plain_text_and_tabs_are_left_alone() -> None:
    assert escape_controls("bring the cup\tto table 2 (ü, 中)") == "bring the cup\tto table 2 (ü, 中)"


def test_colour_paints_warnings_and_errors_but_never_lets_client_codes_through() -> None:
    formatter = EscapingFormatter("%(levelname)s %(message)s", colour=True)
    warning = logging.LogRecord("master", logging.WARNING, __file__, 1, "slow \x1b[2J", (), None)
    assert formatter.format(warning) == "\x1b[33mWARNING slow \\x1b[2J\x1b[0m"
    assert formatter.format(record("plain")) == "INFO plain"
    error = logging.LogRecord("master", logging.ERROR, __file__, 1, "boom", (), None)
    assert formatter.format(error) == "\x1b[31mERROR boom\x1b[0m"
    assert "\x1b" not in EscapingFormatter("%(message)s").format(error)


def test_colour_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    primary, secondary = os.openpty()
    with open(secondary, "w") as terminal, (tmp_path / "master.log").open("w") as file:
        assert wants_colour(terminal) and not wants_colour(file) and not wants_colour(io.StringIO())
        monkeypatch.setenv("NO_COLOR", "1")
        assert not wants_colour(terminal)
    os.close(primary)


def test_a_log_file_holds_plain_text(tmp_path: Path) -> None:
    log = tmp_path / "master.log"
    code = "import logging; from master.log_format import configure_logging; configure_logging('INFO'); " \
           "logging.getLogger('master').error('failed')"
    with log.open("w") as stderr:
        subprocess.run([sys.executable, "-c", code], stderr=stderr, check=True, timeout=30,
                       env={**os.environ, "TERM": "xterm", "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    text = log.read_text()
    assert "ERROR master: failed" in text and "\x1b" not in text
