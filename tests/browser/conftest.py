"""Fixtures for real-browser tests: a live server, one Chromium per session, a context per test.

The browser is Debian's Chromium driven by Playwright (nothing is downloaded). When it is missing
the tests are skipped, unless REQUIRE_BROWSER=1 says they must run.
"""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from survey.definitions import load
from tests.conftest import TEST_SECRET
from tests.factories import make_invitation, make_version

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 360, "height": 740}
ROOT = Path(__file__).resolve().parents[2]
SIPAS = ROOT / "questionnaires" / "sipas-service.yaml"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (skipped, or failed with REQUIRE_BROWSER=1, if absent)."""
    required = os.environ.get("REQUIRE_BROWSER") == "1"
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium package to run the browser tests"
        if required:
            pytest.fail(message + " (REQUIRE_BROWSER=1)")
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is not installed (REQUIRE_BROWSER=1)")
        pytest.skip("playwright is not installed")
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    yield browser
    browser.close()
    playwright.stop()


class LiveServer:
    """The app served over HTTP by werkzeug in a background thread."""

    def __init__(self, app):
        self.paths = []  # every path requested, as the server saw it (favicon requests included)
        self.server = make_server("127.0.0.1", 0, self._recorded(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _recorded(self, app):
        """Wrap the app so that each request's method and path is noted."""
        def wsgi(environ, start_response):
            self.paths.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            return app(environ, start_response)
        return wsgi

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """Serve the test app on a free port of 127.0.0.1; each request gets its own app context."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def context(browser):
    """A fresh browser context (cookies, storage) with a phone-sized window and JavaScript."""
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    yield context
    context.close()


@pytest.fixture
def invited(session):
    """An invitation to rate one commune with the small questionnaire (committed): (invitation, token)."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.commit()
    return invitation, token


@pytest.fixture
def sipas_invited(session):
    """An invitation with the SIPAS service questionnaire (committed): (invitation, token)."""
    version = make_version(session, load.read_document(SIPAS))
    invitation, token = make_invitation(session, TEST_SECRET, version=version)
    session.commit()
    return invitation, token

