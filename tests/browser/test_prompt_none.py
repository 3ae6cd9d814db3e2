"""``prompt=none`` (OIDC Core section 3.1.2.1): answer without showing any page."""

from __future__ import annotations

from tests.helpers import PASSWORD


def _silent(page, partner, url):
    """Navigate; assert the IdP answered with one redirect straight to the callback."""
    response = page.goto(url)
    assert partner.is_callback(response.url), response.url
    hop = response.request.redirected_from
    assert hop is not None and hop.url.startswith(f"{partner.issuer}/oauth/authorize?")
    assert hop.redirected_from is None
    return partner.received()


def test_silent_code_with_session_and_consent(page, pages, app_a, user):
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, PASSWORD)
    pages.allow(app_a)
    first = app_a.assert_code_received()

    got = _silent(page, app_a, app_a.authorize_url(prompt="none"))
    assert got["code"] != first
    tokens = app_a.tokens()
    assert app_a.id_claims(tokens["id_token"])["sub"] == user.sub


def test_login_required_without_session(page, app_a):
    got = _silent(page, app_a, app_a.authorize_url(prompt="none"))
    assert got == {"error": "login_required", "state": app_a.state, "iss": app_a.issuer}


def test_consent_required_when_signed_in_without_consent(page, pages, app_a, app_b, user):
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, PASSWORD)
    pages.allow(app_a)

    got = _silent(page, app_b, app_b.authorize_url(prompt="none"))
    assert got["error"] == "consent_required" and got["state"] == app_b.state
