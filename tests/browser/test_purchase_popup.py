"""The hosted purchase page opened as the JS SDK opens it (a popup, ``mode=popup``): once
the simulated payment has credited the wallet it posts the outcome to ``window.opener``
in the SDK's envelope, only to the app's registered origin, and closes itself.  The
opener here is a bare page on the partner's origin listening for messages; the SDK's own
Chromium tests drive the same pages through the SDK."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.helpers import PASSWORD
from tests.live import serve
from wallet import packages

from .actions import HostedPages

LISTEN = """() => {
  window.got = [];
  window.addEventListener('message', (e) => {
    window.got.push({ origin: e.origin, fromPopup: e.source === window.popup, data: e.data });
  });
}"""


@pytest.fixture
def shop_idp(committed_db, make_app, apps):
    """The IdP over HTTP with the simulated checkout."""
    simulated = {
        "IDP_PAYMENTS": "simulated",
        "IDP_STRIPE_SECRET_KEY": None,
        "IDP_STRIPE_WEBHOOK_SECRET": None,
        "IDP_STRIPE_API_BASE": None,
    }
    with serve(make_app, **simulated) as url:
        yield url


@pytest.fixture
def shop(shop_idp, apps, callback_server):
    """A public app whose registered origin is the loopback partner server's."""
    packages.create("starter", "Starter", 50, 500, "usd")
    return apps.create(
        client_id="shop",
        name="Shop",
        type="public",
        redirect_uris=[f"{callback_server.url}/cb"],
        allowed_origins=[callback_server.url],
        allowed_scopes="openid credits:read credits:purchase",
    )


def open_purchase(page, idp: str, opener_url: str, origin: str):
    """From the opener page, open the purchase popup as the SDK does; returns the popup."""
    page.goto(opener_url)
    page.evaluate(LISTEN)
    query = urlencode(
        {
            "client_id": "shop",
            "mode": "popup",
            "state": "s-1",
            "origin": origin,
            "package_id": "starter",
        }
    )
    with page.expect_popup() as opened:
        page.evaluate(
            "url => { window.popup = window.open(url, 'buy', 'popup'); }", f"{idp}/purchase?{query}"
        )
    return opened.value


def buy_starter(popup, idp: str, user) -> None:
    HostedPages(popup, idp).sign_in(user.email, PASSWORD)
    starter = popup.locator('li[data-package-id="starter"]')
    expect(starter).to_have_class("selected")
    starter.get_by_role("button", name="Buy").click()
    expect(popup.get_by_role("heading", level=1)).to_have_text("Simulated checkout")
    with popup.expect_event("close"):
        popup.get_by_role("button", name=re.compile("^Pay")).click()


def test_a_credited_purchase_is_posted_to_the_opener(page, shop_idp, shop, user, callback_server):
    popup = open_purchase(page, shop_idp, f"{callback_server.url}/shop", callback_server.url)
    buy_starter(popup, shop_idp, user)
    got = page.evaluate("window.got")
    assert len(got) == 1, got
    message = got[0]
    assert (message["origin"], message["fromPopup"]) == (shop_idp, True)
    envelope = message["data"]
    assert set(envelope) == {"v", "type", "id", "state", "payload"}
    assert (envelope["v"], envelope["type"], envelope["state"]) == (1, "cas:purchase:result", "s-1")
    assert re.fullmatch(r"[0-9a-f]{16}", envelope["id"])
    payload = envelope["payload"]
    assert payload["checkout_id"].startswith("cs_sim_")
    assert (payload["status"], payload["balance"], payload["held"], payload["available"]) == (
        "credited",
        50,
        0,
        50,
    )


def test_an_opener_on_an_unregistered_origin_hears_nothing(
    page, shop_idp, shop, user, callback_server
):
    # The same partner server under another name is another origin, not registered: the
    # browser drops a message whose target origin is not the opener's.
    elsewhere = callback_server.url.replace("127.0.0.1", "localhost")
    popup = open_purchase(page, shop_idp, f"{elsewhere}/shop", elsewhere)
    buy_starter(popup, shop_idp, user)
    page.wait_for_timeout(200)
    assert page.evaluate("window.got") == []


def test_cancelling_is_posted_to_the_opener(page, shop_idp, shop, user, callback_server):
    popup = open_purchase(page, shop_idp, f"{callback_server.url}/shop", callback_server.url)
    HostedPages(popup, shop_idp).sign_in(user.email, PASSWORD)
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Cancel and close").click()
    got = page.evaluate("window.got")
    assert [(m["origin"], m["data"]["state"], m["data"]["payload"]["status"]) for m in got] == [
        (shop_idp, "s-1", "cancelled")
    ]
