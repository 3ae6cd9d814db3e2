"""What every request pays for, kept out of the API path (issue 15): Flask-Limiter's
request-wide pass and the cookie session's serializer.  The limits themselves and the
session of a browser that sends its cookie still work (tests/pages cover both)."""

import pytest

from tests.helpers import Apps, Browser


@pytest.fixture
def shop(apps: Apps) -> dict:
    return apps.confidential("shop")


def test_a_token_request_resolves_no_rate_limit(app, client, apps, shop, monkeypatch):
    limiter = app.extensions["idp_limiter"]
    resolved = []
    resolve = limiter.limit_manager.resolve_limits
    monkeypatch.setattr(
        limiter.limit_manager,
        "resolve_limits",
        lambda *a, **k: resolved.append(a[1]) or resolve(*a, **k),
    )
    assert apps.token(client, shop).status_code == 200
    assert resolved == []
    # A limited view still resolves (and enforces, tests/pages) its own limits.
    assert Browser(client).login(password="not the password").status_code == 401
    assert resolved and set(resolved) == {"pages.login"}


def test_a_request_without_the_cookie_builds_no_session_serializer(
    app, client, apps, shop, monkeypatch
):
    built = []
    interface = app.session_interface
    original = interface.get_signing_serializer
    monkeypatch.setattr(
        interface, "get_signing_serializer", lambda a: built.append(1) or original(a)
    )
    assert apps.token(client, shop).status_code == 200
    assert built == []
    client.get("/login")  # a page that stores its CSRF token in the session ...
    assert len(built) == 1  # ... saves it through Flask's serializer
    client.get("/login")
    assert len(built) == 2  # and the cookie sent back is opened with it
