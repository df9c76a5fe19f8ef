"""Client text cannot forge or repaint the master's log lines."""

from __future__ import annotations

import logging
import sys

from master.log_format import EscapingFormatter, escape_controls


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
