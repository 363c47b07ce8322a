"""Fixtures for the console's browser tests: the console served by uvicorn on localhost and
Debian's chromium driven headless by Playwright (never a browser download).

- ``live_server``: the base URL (``http://localhost:<port>``) of the test's own ``app``
  served by uvicorn in a background thread, stopped at the end of the test;
- ``chromium``: one headless browser for the session; the tests skip when
  ``/usr/bin/chromium`` is missing (``make test`` installs it), and fail instead under
  ``EARSHOT_REQUIRE_BROWSER=1`` (CI);
- ``ui``: the test's :class:`UI`: ``ui.log_in(name)`` logs in through the form in a fresh
  browser context (1280x800) and returns its page; every console error, uncaught page error,
  Content-Security-Policy violation, HTTP error answer and dialog of those contexts is
  recorded, and ``ui.assert_clean()`` fails on any;
- :func:`screenshot`: save a page's viewport as ``docs/screenshots/<name>.png``.

``http://localhost`` is a secure context to Chromium, so it keeps the console's ``Secure``
cookies over plain http (the login test checks that it does).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI

from tests.web.conftest import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = "EARSHOT_REQUIRE_BROWSER"
MISSING = "Debian chromium not installed (make test installs it)"
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 30_000
"""How long an action or an ``expect`` waits (generous: a loaded 2-core machine)."""
SERVER_START_S = 30.0

CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " +
    (event.blockedURI || "inline") + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""
"""An init script (Playwright runs it outside the page's CSP) that turns every CSP
violation into a console error, so that it cannot go unnoticed."""


# -- the server -------------------------------------------------------------------------------


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The test's console served by uvicorn on a free port of 127.0.0.1, as
    ``http://localhost:<port>``."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=10)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"console-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not server.started:
            if not thread.is_alive():
                pytest.fail("the console's server stopped while starting")
            if time.monotonic() > deadline:
                pytest.fail(f"the console's server did not start within {SERVER_START_S:.0f} s")
            time.sleep(0.02)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30) as answer:
            assert answer.status == 200, answer.status
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "the console's server did not stop"


# -- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole session."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        if os.environ.get(REQUIRE_BROWSER):
            pytest.fail(f"{MISSING}; {REQUIRE_BROWSER} is set, so the browser tests must run")
        pytest.skip(MISSING)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@dataclass
class UI:
    """The browser contexts of one test, and whatever went wrong in them."""

    browser: Browser
    base_url: str
    problems: list[str] = field(default_factory=list)
    """Console errors, page errors, CSP violations, HTTP error answers."""
    dialogs: list[str] = field(default_factory=list)
    """``alert``, ``confirm`` or ``prompt`` dialogs that opened (each is dismissed)."""
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    """Problems a test expects (``ui.allow(pattern)``)."""
    contexts: list[BrowserContext] = field(default_factory=list)

    def new_page(self) -> Page:
        """A page in a fresh context (no cookies), watched for problems."""
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport=VIEWPORT,  # type: ignore[arg-type]
            accept_downloads=True,
            locale="en-GB",
            timezone_id="UTC",
            color_scheme="light",
        )
        self.contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.add_init_script(CSP_REPORTER)
        context.on("console", self._console)
        context.on("weberror", lambda error: self._problem(f"page error: {error.error}"))
        context.on("dialog", self._dialog)
        context.on("response", self._response)
        return context.new_page()

    def log_in(self, name: str, password: str = PASSWORD) -> Page:
        """A page logged in as ``name`` through the login form (on the role's start page)."""
        from playwright.sync_api import expect

        page = self.new_page()
        page.goto("/login")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page).not_to_have_url(re.compile(r"/login"))
        return page

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def assert_clean(self) -> None:
        """No console error, page error, CSP violation, HTTP error or dialog so far."""
        assert self.problems == [], "\n".join(self.problems)
        assert self.dialogs == [], self.dialogs

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    # -- listeners ------------------------------------------------------------------------------

    def _problem(self, text: str) -> None:
        if not any(p.search(text) for p in self.allowed):
            self.problems.append(text)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self._problem(f"console error ({where}): {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self._problem(f"HTTP {response.status} for {response.request.method} {response.url}")


@pytest.fixture
def ui(chromium: Browser, live_server: str) -> Iterator[UI]:
    """Browser contexts over this test's console; closed (before the server stops) at the
    end of the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    state = UI(chromium, live_server)
    try:
        yield state
    finally:
        state.close()


def screenshot(page: Page, name: str) -> Path:
    """The page's viewport as ``docs/screenshots/<name>.png`` (what the README shows)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path


__all__ = ["UI", "VIEWPORT", "chromium", "live_server", "screenshot", "ui"]
