"""Sign-in of an existing, verified account from a partner app, then consent."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.helpers import PASSWORD


def test_sign_in_consent_code(page, pages, app_a, user):
    page.goto(app_a.authorize_url())
    expect(pages.heading()).to_have_text("Sign in to continue to Alpha Notes")
    pages.sign_in(user.email, PASSWORD)

    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])
    pages.allow(app_a)

    tokens = app_a.tokens()
    assert app_a.id_claims(tokens["id_token"])["sub"] == user.sub
    assert "refresh_token" not in tokens  # offline_access was not asked for


def test_denying_consent_tells_the_app(page, pages, app_a, user):
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, PASSWORD)
    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(app_a.is_callback)

    got = app_a.received()
    assert got["error"] == "access_denied"
    assert got["state"] == app_a.state and got["iss"] == app_a.issuer
    assert "code" not in got
