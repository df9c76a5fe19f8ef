"""Where Debian's Chromium is and how RoboOS starts it headless (the browser tests, ``roboos bench ui``).

Playwright drives this browser; it never downloads its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["HEADLESS_ARGS", "chromium_path"]

HEADLESS_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MISSING_HINT = "install Debian's chromium (apt-get install -y chromium)"


def chromium_path(given: str | None = None) -> Path:
    """The Chromium binary: ``given``, else ``chromium`` on PATH, else /usr/bin/chromium (check it exists)."""
    return Path(given or shutil.which("chromium") or "/usr/bin/chromium")
