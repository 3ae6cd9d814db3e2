"""Browser fixtures: one headless Chromium per session, a fresh context per test, a live
IdP over HTTP and two partner apps whose redirect URIs a tiny loopback server answers.

Chromium is Debian's (``make browser`` installs it).  Where it is missing the suite
skips, unless ``IDP_TEST_REQUIRE_SERVICES=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.live import serve

from .actions import HostedPages, Partner

CHROMIUM = "/usr/bin/chromium"
# The network is closed: without these Chromium keeps dialling Google services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium driven by Playwright's sync API."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing (install it with `make browser`)"
        if os.environ.get("IDP_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}; IDP_TEST_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium, request):
    """A fresh browser profile (own cookie jar) for each test; indirect parametrization
    passes ``new_context`` options (viewport, device)."""
    context = chromium.new_context(**getattr(request, "param", {}))
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A tab that fails the test on any alert()/confirm() or uncaught script error:
    hosted pages report problems inline."""
    page = context.new_page()
    dialogs, script_errors, console_errors = [], [], []

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("console", lambda message: _console_error(message, console_errors))
    yield page
    assert not dialogs, f"the page opened dialogs: {dialogs}"
    assert not script_errors, f"the page raised script errors: {script_errors}"
    assert not console_errors, f"the console reported errors: {console_errors}"


def _console_error(message, errors: list) -> None:
    """Console errors other than HTTP statuses (4xx pages are expected), e.g. a CSP
    violation."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        errors.append(message.text)


class _CallbackServer(ThreadingHTTPServer):
    """The partner apps' side of the redirects: records every request it answers."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.hits: list[str] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _CallbackHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/favicon.ico":  # the browser's, not the IdP's
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.hits.append(self.path)
        body = b"<!doctype html><title>Partner app</title><h1>Partner app callback</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep pytest output quiet
        pass


@pytest.fixture(scope="session")
def _callback_server():
    server = _CallbackServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def callback_server(_callback_server):
    """The partner apps' loopback server, with only this test's requests recorded."""
    _callback_server.hits.clear()
    return _callback_server


@pytest.fixture
def idp(committed_db, make_app, apps):
    """The IdP served over real HTTP on loopback (its issuer is its own URL); ``apps``
    brings the signing keys and the registry the partner apps go into.  Its threads use
    connections of their own, so these tests commit for real (``committed_db``)."""
    with serve(make_app) as url:
        yield url


@pytest.fixture
def app_a(idp, apps, callback_server):
    """Public app A (PKCE), allowed refresh tokens, with a post-logout landing page."""
    registered = apps.create(
        client_id="app-a",
        name="Alpha Notes",
        type="public",
        redirect_uris=[f"{callback_server.url}/cb"],
        post_logout_redirect_uris=[f"{callback_server.url}/signed-out"],
        allowed_scopes="openid profile email offline_access",
    )
    return Partner(idp, registered["client_id"], f"{callback_server.url}/cb", callback_server)


@pytest.fixture
def app_b(idp, apps, callback_server):
    """Public app B (PKCE) on another callback path."""
    registered = apps.create(
        client_id="app-b",
        name="Beta Books",
        type="public",
        redirect_uris=[f"{callback_server.url}/cb2"],
        allowed_scopes="openid profile email",
    )
    return Partner(idp, registered["client_id"], f"{callback_server.url}/cb2", callback_server)


@pytest.fixture
def pages(page, idp):
    """Actions on the hosted pages (flaskr's AuthActions pattern)."""
    return HostedPages(page, idp)
