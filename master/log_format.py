"""The master's log lines, safe from what clients send.

Task texts, ids and reasons come from HTTP clients and reach the log through many modules (the
scheduler, the planner, error handlers). ``EscapingFormatter`` escapes control characters in
every message, so a newline cannot forge a log line and an ANSI escape cannot repaint a terminal:
``"\\x1b[2J"`` is written as the six characters ``\\x1b[2J``.

Colour is for people: warnings and errors are coloured only when the stream is a terminal (and
``NO_COLOR`` is unset), so a log file (``run/<time>/logs/master.log``) holds plain text.

    configure_logging("INFO")
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, TextIO

__all__ = ["LOG_FORMAT", "EscapingFormatter", "configure_logging", "escape_controls", "wants_colour"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# C0 controls (tab aside), DEL, C1 controls, line/paragraph separators and bidi overrides.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r"}
_LEVEL_COLOURS = ((logging.ERROR, "\x1b[31m"), (logging.WARNING, "\x1b[33m"))  # red, yellow; the rest plain
_RESET = "\x1b[0m"


def escape_controls(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters written as escapes (``\\n``, ``\\x1b``, ``\\u2028``)."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if keep_newlines and char == "\n":
            return char
        if char in _NAMED:
            return _NAMED[char]
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return _CONTROL.sub(escape, text)


def wants_colour(stream: TextIO) -> bool:
    """Whether lines written to ``stream`` may carry colour: a terminal, and neither ``NO_COLOR`` nor TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in the message; a traceback keeps its line breaks.

    ``colour`` paints warnings and errors (for a terminal); the escaping comes first, so the only
    colour codes in a line are the formatter's own.
    """

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, *, colour: bool = False) -> None:
        super().__init__(fmt, datefmt)
        self.colour = colour

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        line = super().formatMessage(record)
        if self.colour:
            code = next((code for level, code in _LEVEL_COLOURS if record.levelno >= level), "")
            return f"{code}{line}{_RESET}" if code else line
        return line

    def formatException(self, ei: Any) -> str:
        return escape_controls(super().formatException(ei), keep_newlines=True)


def configure_logging(level: str) -> None:
    """Log to stderr at ``level`` through ``EscapingFormatter`` (the master's entry point)."""
    handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter(LOG_FORMAT, colour=wants_colour(handler.stream)))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # waitress warns once per request that waits for a worker: a line per request under load;
    # overload shows as 503 "busy" and in /health instead.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
