"""One headless Chromium page for the browser tests, with what went wrong on it recorded.

Skips the test, saying why, when Playwright or Debian's Chromium is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from deploy.chromium import HEADLESS_ARGS, MISSING_HINT, chromium_path


@contextmanager
def chromium_page(timeout_ms: int) -> Iterator[tuple[Any, list[str]]]:
    """A page and the list its console errors, page errors and dialogs (dismissed) are added to."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
    chromium = chromium_path()
    if not chromium.is_file():
        pytest.skip(f"no Chromium at {chromium}: {MISSING_HINT}")
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=HEADLESS_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.set_default_timeout(timeout_ms)
            yield page, problems
        finally:
            browser.close()
