"""Signing out: from the account page, and RP-initiated (OIDC RP-Initiated Logout 1.0)."""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import expect

from tests.helpers import PASSWORD


def _signed_in(page, pages, partner, user) -> dict:
    page.goto(partner.authorize_url())
    pages.sign_in(user.email, PASSWORD)
    pages.allow(partner)
    return partner.tokens()


def _login_required(page, partner) -> None:
    page.goto(partner.authorize_url(prompt="none"))
    assert partner.received() == {
        "error": "login_required",
        "state": partner.state,
        "iss": partner.issuer,
    }


def test_sign_out_from_account_page(page, pages, app_a, user, idp):
    _signed_in(page, pages, app_a, user)

    page.goto(f"{idp}/account")
    expect(pages.heading()).to_have_text("Your account")
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(pages.heading()).to_have_text("You are signed out")
    expect(page.get_by_text("You are signed out in this browser.")).to_be_visible()

    _login_required(page, app_a)
    page.goto(f"{idp}/account")
    expect(pages.heading()).to_have_text("Sign in")


def test_rp_initiated_logout_returns_to_the_app(page, pages, app_a, user, idp, callback_server):
    tokens = _signed_in(page, pages, app_a, user)
    landing = f"{callback_server.url}/signed-out"
    query = urlencode(
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": landing, "state": "bye"}
    )

    page.goto(f"{idp}/oauth/logout?{query}")
    expect(pages.heading()).to_have_text("Sign out?")
    expect(page.locator("header .app-name")).to_have_text("Alpha Notes")
    expect(page.get_by_text(f"You are signed in as {user.email}")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{landing}?state=bye")
    assert callback_server.hits[-1] == "/signed-out?state=bye"

    _login_required(page, app_a)


def test_unregistered_post_logout_uri_is_refused_in_the_page(page, pages, app_a, user, idp):
    tokens = _signed_in(page, pages, app_a, user)
    query = urlencode(
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "http://127.0.0.1:9/x"}
    )
    response = page.goto(f"{idp}/oauth/logout?{query}")
    assert response.status == 400
    expect(pages.heading()).to_have_text("This app isn't set up correctly")
    page.get_by_text("Technical details", exact=True).click()
    expect(page.get_by_text("post_logout_redirect_uri is not registered")).to_be_visible()
    # Nothing was followed and the session is intact.
    page.goto(app_a.authorize_url(prompt="none"))
    assert "code" in app_a.received()
