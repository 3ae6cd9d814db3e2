"""Single sign-on: one sign-in serves every partner app in this browser."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.helpers import PASSWORD


def test_second_app_needs_only_consent(page, pages, app_a, app_b, user):
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, PASSWORD)
    pages.allow(app_a)
    app_a.tokens()

    page.goto(app_b.authorize_url(scope="openid email"))
    pages.expect_consent("Beta Books", ["openid", "email"])
    expect(page.get_by_label("Password", exact=True)).to_have_count(0)
    pages.allow(app_b)

    claims = app_b.id_claims(app_b.tokens()["id_token"])
    assert claims["sub"] == user.sub and claims["aud"] == "app-b"
    assert "name" not in claims  # profile was not granted to B
