"""The account page in Chromium, on a desktop (1280x800) and a phone (390x844): the
wallet section (figures, paged history, "Buy credits"), the confirmations before
revoking an app and signing out everywhere (and deleting), no resubmission on reload,
and the list of signed-in devices with "End".  Nothing is wider than the screen.

Screenshots go to tests/browser/screenshots/ (git-ignored) for a reviewer."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from idp.oauth2 import services as oauth_services
from tests.browser.actions import HostedPages
from tests.helpers import PASSWORD
from tests.live import serve
from wallet import holds, ledger, services

SHOTS = Path(__file__).parent / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
BOTH = pytest.mark.parametrize("context", [PHONE, DESKTOP], indirect=True, ids=["phone", "desktop"])


@pytest.fixture
def shop_idp(committed_db, make_app, apps):
    """The IdP over HTTP with the simulated checkout (so credits can be bought)."""
    simulated = {
        "IDP_PAYMENTS": "simulated",
        "IDP_STRIPE_SECRET_KEY": None,
        "IDP_STRIPE_WEBHOOK_SECRET": None,
        "IDP_STRIPE_API_BASE": None,
    }
    with serve(make_app, **simulated) as url:
        yield url


def shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{page.viewport_size['width']}.png", full_page=True)


def assert_fits(page) -> None:
    """Nothing scrolls sideways (a phone widens its layout viewport to what overflows)."""
    page.wait_for_load_state("load")
    screen = page.viewport_size["width"]
    wide, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert wide <= inner == screen, (wide, inner, screen)


def open_account(page, idp: str, user) -> HostedPages:
    pages = HostedPages(page, idp)
    page.goto(f"{idp}/account")
    pages.sign_in(user.email, PASSWORD)
    expect(pages.heading()).to_have_text("Your account")
    return pages


@BOTH
def test_wallet_section(page, shop_idp, user):
    wallet = ledger.wallet_for(user.id)
    for _ in range(11):
        services.grant(wallet, 100, "promo_grant", "test")
    services.grant(wallet, 400, "purchase", "test")
    holds.hold(wallet, 200, 600, "image render", "k1", None, "test")

    open_account(page, shop_idp, user)

    section = page.locator("section#wallet")
    expect(section.get_by_role("heading", name="Credits")).to_be_visible()
    expect(page.locator("#wallet-balance")).to_have_text("1,500")
    expect(page.locator("#wallet-held")).to_have_text("200")
    expect(page.locator("#wallet-available")).to_have_text("1,300")
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("Reserved")
    expect(rows.nth(1)).to_contain_text("Purchase")
    expect(rows.nth(1)).to_contain_text("+400")
    assert_fits(page)
    section.scroll_into_view_if_needed()
    shot(page, "account-wallet")

    section.get_by_role("link", name="Older entries").click()
    expect(rows).to_have_count(3)
    expect(section.get_by_role("link", name="Older entries")).to_have_count(0)
    section.get_by_role("link", name="Newest").click()
    expect(rows).to_have_count(10)

    section.get_by_role("link", name="Buy credits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Buy credits")


@BOTH
def test_revoke_asks_first_and_a_reload_sends_nothing_again(page, idp, app_a, user):
    oauth_services.grant_consent(user.id, "app-a", "openid profile")
    pages = open_account(page, idp, user)
    row = page.locator('li[data-client-id="app-a"]')

    row.get_by_role("link", name="Revoke access").click()
    expect(pages.heading()).to_have_text("Remove Alpha Notes's access?")
    assert_fits(page)
    shot(page, "account-confirm-revoke")
    page.get_by_role("link", name="Cancel").click()
    expect(pages.heading()).to_have_text("Your account")
    expect(row).to_have_count(1)  # cancelling changed nothing

    row.get_by_role("link", name="Revoke access").click()
    page.get_by_role("button", name="Remove access").click()
    expect(page.get_by_role("status")).to_have_text("Access removed. The app must ask you again.")
    expect(row).to_have_count(0)
    assert page.url == f"{idp}/account"  # redirected after the POST

    page.reload()  # a GET of the account page: no resubmission, the message was once
    expect(pages.heading()).to_have_text("Your account")
    expect(page.get_by_role("status")).to_have_count(0)


@BOTH
def test_sign_out_everywhere_asks_first(page, idp, user, chromium):
    other = chromium.new_context()
    try:
        elsewhere = other.new_page()
        open_account(elsewhere, idp, user)
        pages = open_account(page, idp, user)

        page.get_by_role("link", name="Sign out everywhere").click()
        expect(pages.heading()).to_have_text("Sign out everywhere?")
        assert_fits(page)
        shot(page, "account-confirm-everywhere")
        elsewhere.reload()
        expect(elsewhere.get_by_role("heading", level=1)).to_have_text("Your account")

        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page.get_by_text("You are signed out on every device")).to_be_visible()
        assert page.url == f"{idp}/signed-out"
        elsewhere.reload()
        expect(elsewhere.get_by_role("heading", level=1)).to_contain_text("Sign in")
    finally:
        other.close()


@BOTH
def test_signed_in_devices_and_ending_one(page, idp, user, chromium):
    other = chromium.new_context(user_agent="Mozilla/5.0 (Windows NT 10.0) Firefox/128.0")
    try:
        elsewhere = other.new_page()
        open_account(elsewhere, idp, user)
        open_account(page, idp, user)

        devices = page.locator("ul.devices > li")
        expect(devices).to_have_count(2)
        mine = devices.filter(has_text="this device")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text("Chrome on Linux")
        firefox = devices.filter(has_text="Firefox on Windows")
        expect(firefox).to_contain_text("IP 127.0.0.1")
        expect(firefox).to_contain_text("last seen")
        assert_fits(page)
        page.locator("section[aria-labelledby=devices-title]").scroll_into_view_if_needed()
        shot(page, "account-devices")

        firefox.get_by_role("button", name="End the session of Firefox on Windows").click()
        expect(page.get_by_role("status")).to_have_text("That device is signed out.")
        expect(devices).to_have_count(1)
        elsewhere.reload()
        expect(elsewhere.get_by_role("heading", level=1)).to_contain_text("Sign in")
    finally:
        other.close()


@BOTH
def test_deleting_says_what_happens_to_the_credits(page, idp, user):
    services.grant(ledger.wallet_for(user.id), 250, "promo_grant", "test")
    pages = open_account(page, idp, user)

    page.get_by_role("link", name="Delete account…").click()
    expect(pages.heading()).to_have_text("Delete your account?")
    expect(page.get_by_text("Your 250 credits will be forfeited")).to_be_visible()
    assert_fits(page)
    shot(page, "account-delete")
    page.get_by_label("Enter your password to confirm").fill("not the password")
    page.get_by_role("button", name="Delete my account").click()
    expect(pages.error()).to_have_text("Your password is incorrect.")

    page.get_by_label("Enter your password to confirm").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(pages.heading()).to_have_text("Your account is deleted")
    page.goto(f"{idp}/account")
    expect(pages.heading()).to_contain_text("Sign in")
