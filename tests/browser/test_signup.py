"""Sign-up from a partner app's authorization request (``prompt=create``)."""

from __future__ import annotations

from playwright.sync_api import expect

from idp.core.extensions import db
from idp.users import services as users
from tests.helpers import mail_code

PASSWORD = "a brand new passphrase"


def test_sign_up_verify_consent_code(page, pages, app_a, mailbox):
    page.goto(app_a.authorize_url(prompt="create"))
    expect(page.locator("header .app-name")).to_have_text("Alpha Notes")
    pages.sign_up("grace@example.com", PASSWORD, name="Grace")

    expect(page.get_by_text("We sent a 6-digit code to grace@example.com")).to_be_visible()
    assert mailbox.messages[-1]["To"] == "grace@example.com"
    pages.enter_code(mail_code(mailbox))

    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])
    expect(page.get_by_text("Signed in as grace@example.com")).to_be_visible()
    pages.allow(app_a)
    expect(page.get_by_role("heading")).to_have_text("Partner app callback")

    tokens = app_a.tokens()
    user = users.by_email("grace@example.com")
    assert user.email_verified and user.display_name == "Grace"
    claims = app_a.id_claims(tokens["id_token"])
    assert claims["sub"] == user.sub
    assert claims["email"] == "grace@example.com" and claims["name"] == "Grace"
    db.session.rollback()  # end the read; the live server keeps writing
