"""The account page's wallet settings in Chromium, on a phone and a desktop: turning auto
top-up on, setting a spend limit for an app, and a refused value shown at its field (no
dialog).  Nothing is wider than the screen."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_account_page import (
    BOTH,
    assert_fits,
    open_account,
    shop_idp,  # noqa: F401  (fixture)
    shot,
)
from tests.helpers import mint_tokens
from wallet import ledger, packages, preferences, spend_limits


def setting_up(apps, user):
    packages.create("starter", "Starter", 100, 1000, "usd")
    packages.create("bundle", "Bundle", 500, 4000, "usd")
    shop = apps.create(
        client_id="shop",
        name="Pixel Shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid credits:read credits:consume",
        audience="https://shop.example",
    )
    mint_tokens(shop, user, "openid credits:read credits:consume")


@BOTH
def test_auto_topup_and_a_spend_limit(page, shop_idp, apps, user):  # noqa: F811
    setting_up(apps, user)
    open_account(page, shop_idp, user)
    settings = page.locator("section#wallet-settings")

    settings.get_by_label("Top up automatically").check()
    settings.get_by_label("When available credits fall below", exact=True).fill("50")
    settings.get_by_label("Buy", exact=True).select_option("bundle")
    settings.get_by_label("At most this many times a month").fill("2")
    settings.get_by_role("button", name="Save auto top-up").click()
    expect(page.get_by_role("status")).to_have_text("Auto top-up is on.")
    expect(settings.get_by_label("Top up automatically")).to_be_checked()
    expect(settings.get_by_label("When available credits fall below", exact=True)).to_have_value(
        "50"
    )
    wallet = ledger.wallet_for(user.id)
    saved = preferences.of(wallet.id)
    assert (saved.topup_enabled, saved.topup_below, saved.topup_package_id) == (True, 50, "bundle")
    assert saved.topup_monthly_max == 2

    settings.get_by_label("App", exact=True).select_option(label="Pixel Shop")
    settings.get_by_label("Credits per day (UTC)").fill("100")
    settings.get_by_role("button", name="Save limits").click()
    expect(page.get_by_role("status")).to_have_text("The spend limits were saved.")
    row = page.locator('#spend-limits tr[data-client-id="shop"]')
    expect(row).to_contain_text("Pixel Shop")
    expect(row).to_contain_text("0 of 100 used")
    expect(row).to_contain_text("No limit")
    assert set(spend_limits.limits_of(wallet.id)["shop"]) == {"day"}
    assert_fits(page)
    settings.scroll_into_view_if_needed()
    shot(page, "account-wallet-settings")


@BOTH
def test_a_refused_limit_is_shown_at_its_field(page, shop_idp, apps, user):  # noqa: F811
    setting_up(apps, user)
    open_account(page, shop_idp, user)
    settings = page.locator("section#wallet-settings")
    settings.get_by_label("Credits per day (UTC)").fill("a lot")
    settings.get_by_role("button", name="Save limits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wallet settings")
    field = page.get_by_label("Credits per day (UTC)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("a lot")  # kept as typed
    expect(page.locator("#limit_day-error")).to_contain_text("Enter a whole number of credits")
    assert_fits(page)
    shot(page, "wallet-settings-refused")
    assert spend_limits.limits_of(ledger.wallet_for(user.id).id) == {}
