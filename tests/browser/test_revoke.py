"""Revoking an app's access from the account page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.helpers import PASSWORD

OFFLINE = "openid profile offline_access"


def test_revoke_access_refuses_refresh_and_asks_again(page, pages, app_a, user, idp):
    page.goto(app_a.authorize_url(scope=OFFLINE))
    pages.sign_in(user.email, PASSWORD)
    pages.expect_consent("Alpha Notes", ["openid", "profile", "offline_access"])
    pages.allow(app_a)
    refresh = app_a.tokens()["refresh_token"]
    status, body = app_a.refresh(refresh)
    assert status == 200, body
    refresh = body["refresh_token"]  # rotated

    page.goto(f"{idp}/account")
    row = page.locator('li[data-client-id="app-a"]')
    expect(row).to_contain_text("Alpha Notes")
    row.get_by_role("link", name="Revoke access").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove Alpha Notes's access?")
    page.get_by_role("button", name="Remove access").click()
    expect(page.get_by_role("status")).to_have_text("Access removed. The app must ask you again.")
    expect(row).to_have_count(0)
    expect(page.get_by_text("No app has access to your account.")).to_be_visible()

    status, body = app_a.refresh(refresh)
    assert (status, body["error"]) == (400, "invalid_grant")

    page.goto(app_a.authorize_url())
    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])
