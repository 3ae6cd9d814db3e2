"""The account page's wallet settings forms (auto top-up, low-balance mail, spend limits):
saved by a POST with CSRF that redirects back to the account page; a refused form shown
again with its error at the field."""

from __future__ import annotations

import pytest

from tests.helpers import Browser, csrf_of, mint_tokens
from tests.pages.html import alerts, read, text
from wallet import ledger, preferences, spend_limits

from .actions import USER_SCOPE


@pytest.fixture
def browser(client, user, apps, catalogue):
    shop = apps.partner("shop", "openid credits:read credits:consume")
    apps.partner("news", "openid profile")
    mint_tokens(shop, user, USER_SCOPE)  # shop may spend: it can be capped
    assert Browser(client).login().status_code == 302
    return client


def post(http, path: str, **form):
    page = http.get("/account")
    return http.post(f"/account/wallet/{path}", data={"csrf_token": csrf_of(page.data), **form})


def saved_prefs(user):
    return preferences.of(ledger.wallet_for(user.id).id)


def test_the_account_page_shows_the_forms(browser):
    page = read(browser.get("/account").data)
    ids = {attrs.get("id") for attrs in page.all("form")}
    assert {"auto-topup-form", "low-balance-form", "spend-limits-form"} <= ids
    apps = [o["value"] for o in page.all("option") if o["value"] in ("shop", "news")]
    assert apps == ["shop"]  # only an app allowed to spend can be capped
    packs = {o["value"] for o in page.all("option")} & {"starter", "bundle", "pro"}
    assert packs == {"starter", "bundle"}  # plans are not for topping up


def test_turning_auto_topup_on_and_off(browser, user):
    saved = post(
        browser,
        "auto-top-up",
        topup_enabled="on",
        topup_below="1,000",
        topup_package_id="bundle",
        topup_monthly_max="2",
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("/account#wallet-settings-title")
    shown = browser.get("/account")
    assert "Auto top-up is on." in text(shown)
    row = saved_prefs(user)
    assert (row.topup_enabled, row.topup_below, row.topup_package_id) == (True, 1000, "bundle")
    assert row.topup_monthly_max == 2
    assert read(shown.data).all("input")[0] is not None
    checked = [i for i in read(shown.data).all("input") if i.get("id") == "topup_enabled"]
    assert "checked" in checked[0]
    assert post(browser, "auto-top-up").status_code == 303
    assert saved_prefs(user).topup_enabled is False
    assert saved_prefs(user).topup_below == 1000  # kept for the next time


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"topup_below": ""}, "topup_below", "Enter a whole number of credits"),
        ({"topup_below": "-3"}, "topup_below", "Enter a whole number of credits"),
        ({"topup_package_id": "pro"}, "topup_package_id", "Choose a credit pack to buy."),
        ({"topup_package_id": "nope"}, "topup_package_id", "Choose a credit pack to buy."),
        ({"topup_monthly_max": "99"}, "topup_monthly_max", "Choose from 1 to 31"),
    ],
)
def test_a_refused_auto_topup_form_says_why_at_its_field(browser, user, form, field, message):
    fields = {
        "topup_enabled": "on",
        "topup_below": "50",
        "topup_package_id": "starter",
        "topup_monthly_max": "3",
        **form,
    }
    refused = post(browser, "auto-top-up", **fields)
    assert refused.status_code == 400
    page = read(refused.data)
    assert [a for a in page.alerts if message in a]
    invalid = [i for i in page.all("input") + page.all("select") if i.get("id") == field]
    assert invalid[0].get("aria-invalid") == "true"
    assert saved_prefs(user) is None or not saved_prefs(user).topup_enabled


def test_the_low_balance_mail_setting(browser, user):
    assert post(browser, "low-balance", low_balance_below="25").status_code == 303
    assert "You will be mailed when your credits fall below 25." in text(browser.get("/account"))
    assert saved_prefs(user).low_balance_below == 25
    assert post(browser, "low-balance", low_balance_below="").status_code == 303
    assert saved_prefs(user).low_balance_below is None
    refused = post(browser, "low-balance", low_balance_below="lots")
    assert refused.status_code == 400 and alerts(refused)


def test_setting_and_showing_a_spend_limit(browser, user):
    saved = post(browser, "limits", limit_app="shop", limit_day="50", limit_month="")
    assert saved.status_code == 303
    page = text(browser.get("/account"))
    assert "The spend limits were saved." in page
    assert "0 of 50 used" in page and "No limit" in page
    wallet = ledger.wallet_for(user.id)
    assert set(spend_limits.limits_of(wallet.id)["shop"]) == {"day"}
    assert ledger.wallet_for(user.id).watched


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"limit_app": "news"}, "limit_app"),  # not allowed to spend
        ({"limit_app": "ghost"}, "limit_app"),
        ({"limit_day": "0"}, "limit_day"),
        ({"limit_month": "1.5"}, "limit_month"),
    ],
)
def test_a_refused_limit_says_why(browser, user, form, field):
    refused = post(browser, "limits", **{"limit_app": "shop", "limit_day": "10", **form})
    assert refused.status_code == 400
    page = read(refused.data)
    assert page.alerts
    invalid = [i for i in page.all("input") + page.all("select") if i.get("id") == field]
    assert invalid[0].get("aria-invalid") == "true"
    assert spend_limits.limits_of(ledger.wallet_for(user.id).id) == {}


@pytest.mark.parametrize("path", ["auto-top-up", "low-balance", "limits"])
def test_the_forms_need_csrf(browser, path):
    assert browser.post(f"/account/wallet/{path}", data={"limit_app": "shop"}).status_code == 400


@pytest.mark.parametrize("path", ["auto-top-up", "low-balance", "limits"])
def test_signed_out_the_forms_lead_to_sign_in(client, path):
    page = client.get("/login")
    answer = client.post(f"/account/wallet/{path}", data={"csrf_token": csrf_of(page.data)})
    assert answer.status_code in (302, 303)
    assert "/login" in answer.headers["Location"]


def test_the_settings_page_on_its_own(browser):
    page = browser.get("/account/wallet")
    assert page.status_code == 200
    assert "Wallet settings" in text(page)


def test_the_consent_page_mentions_spend_limits_when_an_app_may_spend(client, user, apps):
    from tests.helpers import Flow

    def app(client_id: str, name: str, scopes: str) -> dict:
        site = f"https://{client_id}.example"
        return apps.create(
            client_id=client_id,
            name=name,
            redirect_uris=[f"{site}/cb"],
            allowed_scopes=scopes,
            audience=site,
        )

    spender = app("spender", "Spender", "openid credits:read credits:consume")
    reader = app("reader", "Reader", "openid credits:read")
    assert Browser(client).login().status_code == 302
    flow = Flow(client)
    asked = client.get(flow.url(spender, "openid credits:consume"))
    assert asked.status_code == 200
    hint = [p for p in read(asked.data).all("p") if p.get("id") == "consent-spend-limit"]
    assert hint and "cap what Spender may spend per day or month" in text(asked)
    other = client.get(flow.url(reader, "openid credits:read"))
    assert b"consent-spend-limit" not in other.data
