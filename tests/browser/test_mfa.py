"""Two-step verification in Chromium: set up an authenticator app from the account page
(QR code and key shown, the first code typed and sent with the keyboard), then sign in
to a partner app with a code, a wrong code shown inline, and a recovery code.

The codes are computed here with pyotp, on a clock the test sets (the live server runs
in this process)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from idp.users import totp
from tests.helpers import PASSWORD
from tests.users.mfa_actions import T0, code_at


@pytest.fixture
def clock(monkeypatch):
    """Move the server's TOTP clock: ``clock(steps)`` is ``steps`` steps after T0."""

    def at(steps: int) -> None:
        monkeypatch.setattr(totp, "_clock", lambda: T0 + 30 * steps)

    at(0)
    return at


def enrol(page, pages, idp: str, user) -> tuple[str, list[str]]:
    """Sign in, set the app up from the account page; (secret, recovery codes)."""
    page.goto(f"{idp}/account")
    pages.sign_in(user.email, PASSWORD)
    expect(pages.heading()).to_have_text("Your account")
    section = page.locator("[data-section=two-step]")
    section.get_by_role("button", name="Set up an authenticator app").click()
    expect(pages.heading()).to_have_text("Set up an authenticator app")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    code = page.get_by_label("Authentication code")
    expect(code).to_be_focused()
    code.type(code_at(secret, -1))
    code.press("Enter")
    expect(pages.heading()).to_have_text("Save your recovery codes")
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I saved them, continue").click()
    expect(page.locator("[data-section=two-step]")).to_contain_text("on")
    return secret, codes


def test_enrol_then_sign_in_with_a_code(page, pages, idp, app_a, user, clock, chromium):
    secret, _ = enrol(page, pages, idp, user)
    other = chromium.new_context()
    try:
        tab = other.new_page()
        second = type(pages)(tab, idp)
        tab.goto(app_a.authorize_url())
        second.sign_in(user.email, PASSWORD)
        expect(second.heading()).to_have_text("Two-step verification")
        field = tab.get_by_label("Authentication code")
        expect(field).to_be_focused()
        field.fill("000000")
        field.press("Enter")
        expect(second.error()).to_contain_text("That code is not right")
        expect(tab.get_by_label("Authentication code")).to_be_focused()
        tab.get_by_label("Authentication code").fill(code_at(secret, 0))
        tab.get_by_role("button", name="Verify").click()
        second.expect_consent("Alpha Notes", ["openid", "profile", "email"])
        second.allow(app_a)
        claims = app_a.id_claims(app_a.tokens()["id_token"])
        assert claims["amr"] == ["pwd", "otp", "mfa"]
        assert claims["acr"] == "urn:idp:acr:2fa"
    finally:
        other.close()


def test_sign_in_with_a_recovery_code(page, pages, idp, user, clock, chromium):
    _, codes = enrol(page, pages, idp, user)
    other = chromium.new_context()
    try:
        tab = other.new_page()
        second = type(pages)(tab, idp)
        tab.goto(f"{idp}/account")
        second.sign_in(user.email, PASSWORD)
        tab.get_by_role("link", name="Use a recovery code instead").click()
        field = tab.get_by_label("Recovery code")
        expect(field).to_be_focused()
        field.fill(codes[0])
        field.press("Enter")
        expect(second.heading()).to_have_text("Your account")
        expect(tab.locator("[data-section=two-step]")).to_contain_text("9 unused recovery codes")
    finally:
        other.close()


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("context", [{"viewport": {"width": 390, "height": 844}}], indirect=True)
def test_the_pages_fit_a_phone(page, pages, idp, user, clock):
    page.goto(f"{idp}/account")
    pages.sign_in(user.email, PASSWORD)
    page.locator("[data-section=two-step]").get_by_role("button").click()
    expect(page.locator(".qr svg")).to_be_visible()
    assert _fits_width(page), "the setup page overflows at 390px"
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Authentication code").fill(code_at(secret, -1))
    page.get_by_role("button", name="Turn on").click()
    expect(pages.heading()).to_have_text("Save your recovery codes")
    assert _fits_width(page), "the recovery codes overflow at 390px"
    page.goto(f"{idp}/login/second-factor")  # a step-up of this session
    expect(pages.heading()).to_contain_text("Confirm it")
    assert _fits_width(page), "the second step overflows at 390px"


def test_turn_it_off_with_the_password(page, pages, idp, user, clock):
    enrol(page, pages, idp, user)
    section = page.locator("[data-section=two-step]")
    field = section.get_by_label("Your password, to turn it off")
    field.fill("not the password")
    field.press("Enter")
    expect(page.locator("#totp_password-error")).to_have_text("Your password is incorrect.")
    expect(page.get_by_label("Your password, to turn it off")).to_be_focused()
    page.get_by_label("Your password, to turn it off").fill(PASSWORD)
    page.get_by_role("button", name="Turn off the authenticator app").click()
    expect(page.get_by_role("status")).to_contain_text("authenticator app is off")
    expect(page.locator("[data-section=two-step]")).to_contain_text("Set up an authenticator app")
