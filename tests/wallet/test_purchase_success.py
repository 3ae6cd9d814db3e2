"""The success page Stripe returns the browser to says only what is known: "Processing
payment…" with a progress indicator until the webhook has credited the wallet, then
"N credits added"; a failed or expired checkout says so and offers to try again.  What
purchase.js does with these states in a browser is in tests/browser/test_purchase_pages.py."""

from __future__ import annotations

import pytest

from tests.helpers import csrf_of, query_of
from tests.pages.html import read
from wallet import billing

from .payment_fixtures import stripe_settings, wallet_of
from .test_purchase_page import RESUME, buy, local, simulated_browser


@pytest.fixture
def app_settings(fake_stripe):
    return stripe_settings(fake_stripe)


def success_page(http, session_id: str, **query):
    response = http.get(
        "/purchase/success",
        query_string={"session_id": session_id, "client_id": "store", "return_to": RESUME, **query},
    )
    assert response.status_code == 200, response.data[:300]
    return response


def shown(response) -> dict:
    """The heading, the state words not hidden, whether the spinner shows, and which of
    the links after the main button show."""
    html = read(response.data)
    text = response.data.decode()
    heading = text.split('<h1 id="page-title">')[1].split("</h1>")[0].strip()
    states = [p["data-state"] for p in html.all("p") if "data-state" in p and "hidden" not in p]
    [spinner] = [s for s in html.all("span") if s.get("id") == "status-spinner"]
    links = [a["id"] for a in html.all("a") if a.get("id") in ("reload", "retry")]
    links = [a for a in links if "hidden" not in _by_id(html, "a", a)]
    return {
        "heading": heading,
        "states": states,
        "spinner": "hidden" not in spinner,
        "links": links,
    }


def _by_id(html, tag, element_id):
    return next(a for a in html.all(tag) if a.get("id") == element_id)


def open_checkout(user, status: str | None = None, mode: str = "payment") -> str:
    """A checkout of 100 credits whose webhook has not credited the wallet (yet)."""
    found = billing.record_checkout(
        "cs_test_wait", wallet_of(user).id, package_id="starter", client_id="store", credits=100,
        mode=mode,
    )  # fmt: skip
    if status:
        billing.advance_checkout(found, status)
        from idp.core.extensions import db

        db.session.commit()
    return found.id


def test_no_thanks_while_the_webhook_has_not_credited(signed_in, user, store, catalogue):
    response = success_page(signed_in, open_checkout(user))
    page = shown(response)
    assert page == {
        "heading": "Processing payment…",
        "states": ["processing"],
        "spinner": True,
        "links": ["reload"],
    }
    assert "<title>Processing payment… · Store</title>" in response.data.decode()
    words = read(response.data).text
    assert "Waiting for the payment provider to confirm your payment of 100 credits" in words
    assert "Thank you" not in page["heading"]


def test_stripe_saying_complete_is_not_yet_credited(signed_in, user, store, catalogue):
    # The session is complete but the webhook that credits it has not been processed.
    assert shown(success_page(signed_in, open_checkout(user, "complete")))["heading"] == (
        "Processing payment…"
    )


@pytest.mark.parametrize(
    ("status", "heading", "spinner", "links"),
    [
        ("pending", "Processing payment…", True, ["reload"]),
        ("failed", "Payment failed", False, ["retry"]),
        ("expired", "Checkout expired", False, ["retry"]),
    ],
)
def test_each_state_says_what_it_is(
    signed_in, user, store, catalogue, status, heading, spinner, links
):
    response = success_page(signed_in, open_checkout(user, status))
    assert shown(response) == {
        "heading": heading,
        "states": [status],
        "spinner": spinner,
        "links": links,
    }
    [box] = [d for d in read(response.data).all("div") if d.get("id") == "status-text"]
    assert ("error" in box["class"].split()) == (status == "failed")


def test_try_again_goes_back_to_the_purchase_page_for_the_app(signed_in, user, store, catalogue):
    html = read(success_page(signed_in, open_checkout(user, "failed")).data)
    retry = _by_id(html, "a", "retry")["href"]
    assert retry.startswith("/purchase?")
    assert query_of(retry) == {"client_id": "store", "return_to": RESUME}
    assert signed_in.get(retry).status_code == 200


def test_credited_says_how_many_credits_were_added(make_app, user, store, catalogue):
    _, http = simulated_browser(make_app)
    checkout_url = local(buy(http, package_id="bundle").headers["Location"])
    page = http.get(checkout_url)
    paid = http.post(
        checkout_url.split("?")[0],
        data={"csrf_token": csrf_of(page.data), "state": checkout_url.split("state=")[1]},
    )
    response = http.get(local(paid.headers["Location"]))
    assert shown(response) == {
        "heading": "Thank you for your purchase",
        "states": ["credited"],
        "spinner": False,
        "links": [],
    }
    words = read(response.data).text
    assert "500 credits added to your balance" in words
    assert "Balance: 500 credits available" in words


def test_a_plan_is_credited_by_its_first_invoice(make_app, user, store, catalogue):
    _, http = simulated_browser(make_app)
    checkout_url = local(buy(http, package_id="basic").headers["Location"])
    page = http.get(checkout_url)
    paid = http.post(
        checkout_url.split("?")[0],
        data={"csrf_token": csrf_of(page.data), "state": checkout_url.split("state=")[1]},
    )
    response = http.get(local(paid.headers["Location"]))
    assert shown(response)["states"] == ["credited"]
    assert "200 credits added" in read(response.data).text
