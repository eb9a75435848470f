"""Headless Chromium (Debian's, driven by Playwright) for tests of served pages.

Nothing is fetched from the internet: every asset comes from the server under test, and
``watch`` records any request that goes elsewhere as an error."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
RENDERED = "() => window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle"


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), (
        "install Debian's chromium (make test does): apt-get install chromium"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def watch(page: Any, base: str) -> list[str]:
    """Console errors, uncaught exceptions, failed requests and off-server requests."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def failed(request: Any) -> None:
        # Leaving a page aborts its open event streams: that is not a failure.
        stream = request.url.split("?")[0].endswith("/events")
        if not (stream and "ERR_ABORTED" in (request.failure or "")):
            errors.append(f"request failed: {request.url} {request.failure}")

    page.on("requestfailed", failed)

    def offline(request: Any) -> None:
        if not request.url.startswith((base, "data:", "blob:")):
            errors.append(f"request off the server: {request.url}")

    page.on("request", offline)
    return errors
