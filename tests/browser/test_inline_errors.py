"""Mistakes are reported inside the page (role="alert"), never with alert().

The ``page`` fixture fails any test whose page opens a dialog or throws."""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import expect

from idp.users.errors import WrongCode
from tests.helpers import PASSWORD, mail_code


def test_wrong_password(page, pages, app_a, user):
    page.goto(app_a.authorize_url())
    pages.sign_in(user.email, "not the password")

    expect(pages.error()).to_have_text("The email address or password is incorrect.")
    expect(pages.heading()).to_have_text("Sign in to continue to Alpha Notes")
    email = page.get_by_label("Email address")
    expect(email).to_have_value(user.email)
    expect(email).to_have_attribute("aria-invalid", "true")
    password = page.get_by_label("Password", exact=True)
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_attribute("aria-describedby", "password-error")
    expect(password).to_be_focused()  # where the person fixes it, not <body>

    pages.sign_in(user.email, PASSWORD)  # the request survived the mistake
    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])


def test_wrong_verification_code(page, pages, app_a, mailbox):
    page.goto(app_a.authorize_url(prompt="create"))
    pages.sign_up("lin@example.com", PASSWORD)
    code = mail_code(mailbox)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    pages.enter_code(wrong)

    expect(pages.error()).to_have_text(str(WrongCode.description))
    expect(page.get_by_label("Verification code")).to_be_focused()
    expect(pages.heading()).to_have_text("Check your email")

    pages.enter_code(code)
    pages.expect_consent("Alpha Notes", ["openid", "profile", "email"])


def test_short_password_on_sign_up(page, pages, app_a):
    page.goto(app_a.authorize_url(prompt="create"))
    pages.sign_up("kim@example.com", "short", name="Kim")

    expect(pages.error()).to_have_text("Use at least 10 characters.")
    expect(page.get_by_label("Email address")).to_have_value("kim@example.com")
    expect(page.get_by_label("Your name")).to_have_value("Kim")
    password = page.get_by_label("Password", exact=True)
    expect(password).to_be_focused()
    expect(password).to_have_attribute("aria-describedby", "password-hint password-error")


def test_invalid_email_on_sign_up_keeps_the_password(page, pages, app_a):
    """The error is not about the password: it is given back (the page is no-store)."""
    page.goto(app_a.authorize_url(prompt="create"))
    pages.sign_up("kim@", PASSWORD, name="Kim")

    expect(pages.error()).to_have_text("Enter a valid email address.")
    email = page.get_by_label("Email address")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Password", exact=True)).to_have_value(PASSWORD)
    page.get_by_label("Email address").fill("kim@example.com")
    page.get_by_role("button", name="Create account").click()
    expect(pages.heading()).to_have_text("Check your email")


def _bad_redirect(app_a, idp) -> str:
    query = {
        "response_type": "code",
        "client_id": app_a.client_id,
        "redirect_uri": "http://127.0.0.1:9/elsewhere",
        "scope": "openid",
    }
    return f"{idp}/oauth/authorize?{urlencode(query)}"


def test_unregistered_redirect_uri_is_shown_not_followed(page, pages, app_a, idp):
    """RFC 6749 section 4.1.2.1: never redirect to an unverified URI."""
    response = page.goto(_bad_redirect(app_a, idp))
    assert response.status == 400 and page.url.startswith(idp)
    expect(pages.heading()).to_have_text("This app isn't set up correctly")
    expect(page.get_by_text("Alpha Notes made a request that this service")).to_be_visible()
    detail = page.get_by_text("is not supported by client")
    expect(detail).to_be_hidden()  # folded away for whoever the person contacts
    page.get_by_text("Technical details", exact=True).click()
    expect(detail).to_be_visible()
    expect(page.get_by_role("link", name="Back to Alpha Notes")).to_have_attribute(
        "href", app_a.server.url + "/"
    )
    assert app_a.server.hits == []


def test_error_page_shows_one_alert(page, pages, app_a, idp):
    """The error code is a hint inside the one alert, not a second alert of its own."""
    page.goto(_bad_redirect(app_a, idp))
    expect(pages.heading()).to_have_text("This app isn't set up correctly")
    assert pages.error().count() == 1
    expect(pages.error()).to_contain_text("Error code: invalid_request")
