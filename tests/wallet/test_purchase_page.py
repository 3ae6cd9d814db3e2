"""The hosted purchase pages: /purchase (the ``next=purchase`` landing), checkout, the
success page and its status endpoint, the billing-portal button, the simulated checkout."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from idp.core.config import ConfigError
from tests.helpers import Browser, csrf_of, make_user, query_of
from tests.pages.html import alerts, read, text
from wallet import billing, packages

from .payment_fixtures import (
    balance,
    checkout_row,
    customer,
    events,
    stripe_settings,
    subscription_row,
    wallet_of,
)


@pytest.fixture
def app_settings(fake_stripe):
    return stripe_settings(fake_stripe)


RESUME = "/oauth/authorize?client_id=store&response_type=code"


def buy(http, **form):
    """Open the purchase page and submit a Buy form with ``form``."""
    page = http.get("/purchase", query_string={"client_id": "store", "return_to": RESUME})
    assert page.status_code == 200, page.data[:300]
    data = {"csrf_token": csrf_of(page.data), "client_id": "store", "return_to": RESUME, **form}
    return http.post("/purchase", data=data)


def buttons_of(html: bytes) -> list[str]:
    """The names of the page's buttons, in order, as a screen reader lists them."""
    return [
        re.sub(r"\s+", " ", b).strip()
        for b in re.findall(r"<button[^>]*>(.*?)</button>", html.decode(), re.S)
    ]


def local(url: str) -> str:
    """Our absolute URL as a test-client path."""
    parts = urlsplit(url)
    assert parts.netloc == "idp.test", url
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def simulated_browser(make_app, email="ada@example.com"):
    app = make_app(
        IDP_PAYMENTS="simulated",
        IDP_STRIPE_SECRET_KEY=None,
        IDP_STRIPE_WEBHOOK_SECRET=None,  # generated for development
        IDP_STRIPE_API_BASE=None,
    )
    http = app.test_client()
    assert Browser(http).login(email).status_code == 302
    return app, http


def test_page_shows_balance_packs_and_plans(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={"client_id": "store", "return_to": RESUME})
    assert response.status_code == 200
    page = read(response.data)
    for name in ("Starter", "Bundle", "Pro", "Basic"):
        assert name in page.text
    assert "Balance: 0 credits available" in page.text
    assert "100 credits · $10.00 · $0.10 per credit" in page.text
    assert "1,000 credits every month · $20.00/month · $0.02 per credit" in page.text
    offered = {i["value"] for i in page.all("input") if i.get("name") == "package_id"}
    assert offered == {"starter", "bundle", "pro", "basic"}
    assert all(f["method"] == "post" for f in page.all("form"))
    assert page.alerts == []
    links = {a.get("href") for a in page.all("a")}
    assert RESUME in links
    assert "Skip for now" in page.text
    assert "Manage subscription" not in page.text


def test_every_button_says_what_it_buys(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={"client_id": "store", "return_to": RESUME})
    buttons = [b for b in buttons_of(response.data)]
    assert buttons[:4] == [
        "Buy 100 credits for $10.00",
        "Buy 500 credits for $40.00",
        "Subscribe: Basic, $5.00/month",
        "Subscribe: Pro, $20.00/month",
    ]
    assert len(set(buttons)) == len(buttons), buttons


def test_a_yen_pack_has_no_decimals(signed_in, store, catalogue):
    packages.create("yen", "Yen pack", 1000, 500, "jpy")
    page = text(signed_in.get("/purchase"))
    assert "Buy 1,000 credits for ¥500" in page and "¥0.5 per credit" in page


def test_signed_out_browser_is_sent_to_sign_in(client, catalogue):
    response = client.get("/purchase")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_disabled_payments_show_a_message_not_an_error(make_app, user, catalogue, fake_stripe):
    http = make_app(IDP_PAYMENTS="disabled", IDP_STRIPE_SECRET_KEY=None).test_client()
    Browser(http).login()
    response = http.get("/purchase")
    assert response.status_code == 200
    assert any("Payments are not configured" in a for a in alerts(response))
    assert not [i for i in read(response.data).all("input") if i.get("name") == "package_id"]
    token = csrf_of(http.get("/account").data)
    posted = http.post("/purchase", data={"csrf_token": token, "package_id": "starter"})
    assert posted.status_code == 503
    assert any("Payments are not configured" in a for a in alerts(posted))
    assert fake_stripe.requests == []


def test_buy_redirects_to_stripe_checkout(signed_in, user, store, catalogue, fake_stripe):
    response = buy(signed_in, package_id="starter")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [call] = fake_stripe.calls("/v1/checkout/sessions")
    assert call.params["success_url"] == (
        "https://idp.test/purchase/success?client_id=store&return_to=%2Foauth%2Fauthorize"
        "%3Fclient_id%3Dstore%26response_type%3Dcode&session_id={CHECKOUT_SESSION_ID}"
    )
    assert call.params["cancel_url"].startswith("https://idp.test/purchase?client_id=store&")
    assert call.params["metadata[client_id]"] == "store"
    assert call.params["client_reference_id"] == user.sub


def test_buy_a_custom_amount(signed_in, store, catalogue, fake_stripe):
    assert buy(signed_in, amount="40").status_code == 303
    assert fake_stripe.calls("/v1/checkout/sessions")[0].params["line_items[0][quantity]"] == "40"


def test_buy_an_amount_typed_with_thousands_separators(signed_in, store, catalogue, fake_stripe):
    assert buy(signed_in, amount=" 1,234 ").status_code == 303
    assert fake_stripe.calls("/v1/checkout/sessions")[0].params["line_items[0][quantity]"] == "1234"


AMOUNT_HELP = "Enter a whole number of credits from 1 to 1,000,000,000."


@pytest.mark.parametrize("typed", ["lots", "0", "1000000001", "1.5", "-3", "\uff19", "", "9" * 40])
def test_a_bad_amount_is_shown_at_its_field_and_kept(
    signed_in, store, catalogue, typed, fake_stripe
):
    response = buy(signed_in, amount=typed)
    assert response.status_code == 400
    page = read(response.data)
    assert page.alerts == [AMOUNT_HELP]  # the field's message, no banner at the top
    assert not [d for d in page.all("div") if d.get("id") == "form-error"]
    [field] = [i for i in page.all("input") if i.get("name") == "amount"]
    assert field["value"] == typed
    assert field["aria-invalid"] == "true" and "autofocus" in field
    [error] = [p for p in page.all("p") if p.get("id") == "amount-error"]
    assert error["class"] == "field-error"
    assert "amount-error" in field["aria-describedby"].split()
    assert "Starter" in page.text  # still the purchase page, packs listed
    assert fake_stripe.requests == []


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"package_id": "gone"}, 404, "No such package"),
        ({}, 400, "Choose a pack or a plan, or enter a number of credits."),
    ],
)
def test_bad_choices_are_shown_in_the_page(signed_in, store, catalogue, form, status, message):
    response = buy(signed_in, **form)
    assert response.status_code == status
    assert any(message in a for a in alerts(response)), alerts(response)
    assert "Starter" in text(response)  # still the purchase page, packs listed
    [field] = [i for i in read(response.data).all("input") if i.get("name") == "amount"]
    assert "aria-invalid" not in field and "autofocus" not in field


def test_the_custom_amount_shows_its_total_and_price(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={"amount": "1234"})
    page = read(response.data)
    assert "€0.02 per credit" in page.text  # IDP_CREDIT_UNIT_PRICE=2, eur
    assert "Total: €24.68" in page.text
    assert "Buy 1,234 credits" in buttons_of(response.data)
    [form] = [f for f in page.all("form") if f.get("id") == "custom-amount"]
    assert "novalidate" in form  # errors in words at the field, not a browser bubble
    assert (form["data-unit-minor"], form["data-prefix"], form["data-exponent"]) == ("2", "€", "2")
    without = signed_in.get("/purchase")
    assert "Buy credits" in buttons_of(without.data) and "Total:" not in text(without)


def test_skip_for_now_goes_back_to_the_app(signed_in, store, catalogue):
    response = signed_in.get("/purchase", query_string={"client_id": "store", "return_to": RESUME})
    page = read(response.data)
    [skip] = [a for a in page.all("a") if a.get("id") == "skip"]
    assert skip["href"] == RESUME
    assert "Skip for now Back to Store without buying" in page.text
    alone = text(signed_in.get("/purchase"))
    assert "Skip for now Back to your account without buying" in alone


def test_the_pages_assets_are_their_own(signed_in, catalogue):
    page = read(signed_in.get("/purchase").data)
    assert {"/static/idp/idp.css", "/static/idp/purchase.css"} <= {
        link.get("href") for link in page.all("link")
    }
    assert any(s.get("src") == "/static/idp/purchase.js" for s in page.all("script"))
    assert signed_in.get("/static/idp/purchase.css").status_code == 200


def test_provider_failure_is_shown_in_the_page(signed_in, store, catalogue, fake_stripe):
    fake_stripe.fail_with(500, "api_error", None)
    response = buy(signed_in, package_id="starter")
    assert response.status_code == 502
    assert any("payment provider" in a for a in alerts(response))


def test_buy_needs_the_csrf_token(signed_in, catalogue, fake_stripe):
    response = signed_in.post("/purchase", data={"package_id": "starter"})
    assert response.status_code == 400
    assert fake_stripe.requests == []


def test_cancelled_checkout_says_so(signed_in, catalogue):
    response = signed_in.get("/purchase", query_string={"cancelled": "1"})
    assert "you were not charged" in text(response)


def test_success_page_polls_until_credited(signed_in, user, store, catalogue, fake_stripe):
    location = buy(signed_in, package_id="starter").headers["Location"]
    session_id = location.rsplit("/", 1)[1].split("#")[0]
    page = signed_in.get(
        "/purchase/success",
        query_string={"session_id": session_id, "client_id": "store", "return_to": RESUME},
    )
    assert page.status_code == 200
    html = read(page.data)
    [box] = [d for d in html.all("div") if d.get("id") == "purchase-status"]
    status_url = box["data-status-url"]
    assert status_url == f"/purchase/status/{session_id}"
    assert any(s.get("src") == "/static/idp/purchase.js" for s in html.all("script"))
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert {a.get("href") for a in html.all("a")} >= {RESUME}
    assert "Continue to Store" in html.text

    before = signed_in.get(status_url)
    assert before.json == {
        "status": "open",
        "credited": False,
        "balance": 0,
        "held": 0,
        "available": 0,
    }
    assert before.headers["Cache-Control"] == "no-store"
    assert signed_in.get("/static/idp/purchase.js").status_code == 200


def test_success_page_keeps_its_query_through_sign_in(client, catalogue):
    response = client.get("/purchase/success?session_id=cs_test_1&client_id=store")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?")
    assert (
        query_of(location)["return_to"] == "/purchase/success?session_id=cs_test_1&client_id=store"
    )


def test_another_users_checkout_is_not_found(new_browser, signed_in, user, catalogue):
    stranger = make_user("grace@example.com", name="Grace")
    wallet = customer(stranger, "cus_test_grace")
    billing.record_checkout(
        "cs_test_grace",
        wallet.id,
        package_id="starter",
        client_id=None,
        credits=100,
        mode="payment",
    )
    assert signed_in.get("/purchase/status/cs_test_grace").status_code == 404
    assert signed_in.get("/purchase/success?session_id=cs_test_grace").status_code == 404
    anonymous = new_browser()
    assert anonymous.get("/purchase/status/cs_test_grace").status_code == 404


def test_manage_subscription_opens_the_billing_portal(
    signed_in, user, store, catalogue, fake_stripe
):
    wallet = customer(user)
    billing.record_subscription_within(wallet.id, "sub_test_1", package_id="pro", status="active")
    from idp.core.extensions import db

    db.session.commit()
    page = signed_in.get("/purchase", query_string={"client_id": "store"})
    assert "Manage subscription" in text(page)
    response = signed_in.post(
        "/purchase/portal", data={"csrf_token": csrf_of(page.data), "client_id": "store"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://billing.stripe.com/p/session/")
    [call] = fake_stripe.calls("/v1/billing_portal/sessions")
    assert call.params == {
        "customer": "cus_test_ada",
        "return_url": "https://idp.test/purchase?client_id=store&return_to=%2Faccount",
    }


def test_simulated_purchase_end_to_end(make_app, user, store, catalogue, fake_stripe):
    app, http = simulated_browser(make_app)
    assert app.config["IDP_STRIPE_WEBHOOK_SECRET"].startswith("whsec_dev_")
    started = buy(http, package_id="starter")
    assert started.status_code == 303
    checkout_url = local(started.headers["Location"])
    assert checkout_url.startswith("/purchase/simulated/cs_sim_")
    session_id = checkout_url.split("/")[3].split("?")[0]

    page = http.get(checkout_url)
    assert page.status_code == 200
    assert "Simulated payment" in text(page) and "Pay $10.00" in text(page)
    paid = http.post(
        checkout_url.split("?")[0],
        data={"csrf_token": csrf_of(page.data), "state": checkout_url.split("state=")[1]},
    )
    assert paid.status_code == 303
    success = local(paid.headers["Location"])
    assert success.startswith("/purchase/success?client_id=store&return_to=")
    assert success.endswith(f"session_id={session_id}")
    assert http.get(success).status_code == 200

    status = http.get(f"/purchase/status/{session_id}").json
    assert (status["credited"], status["available"], status["status"]) == (True, 100, "complete")
    # It went through the webhook code: the signed event was verified and recorded.
    assert events() == {f"evt_sim_{session_id.removeprefix('cs_sim_')}_checkout": "granted"}
    assert checkout_row(session_id).payment_intent_id.startswith("pi_sim_")
    assert fake_stripe.requests == []

    # Paying twice (a double click) credits once.
    again = http.post(
        checkout_url.split("?")[0],
        data={"csrf_token": csrf_of(page.data), "state": checkout_url.split("state=")[1]},
    )
    assert again.status_code == 303
    assert balance(user) == 100


def test_simulated_plan_end_to_end(make_app, user, store, catalogue):
    _, http = simulated_browser(make_app)
    checkout_url = local(buy(http, package_id="basic").headers["Location"])
    session_id = checkout_url.split("/")[3].split("?")[0]
    page = http.get(checkout_url)
    http.post(
        checkout_url.split("?")[0],
        data={"csrf_token": csrf_of(page.data), "state": checkout_url.split("state=")[1]},
    )
    status = http.get(f"/purchase/status/{session_id}").json
    assert (status["credited"], status["available"]) == (True, 200)
    tag = session_id.removeprefix("cs_sim_")
    assert subscription_row(f"sub_sim_{tag}").status == "active"
    assert sorted(events().values()) == ["applied", "granted", "subscription_recorded"]

    landing = http.get("/purchase")
    assert "Manage subscription" in text(landing)
    portal = http.post("/purchase/portal", data={"csrf_token": csrf_of(landing.data)})
    assert portal.status_code == 503
    assert any("simulated" in a for a in alerts(portal))


def test_simulated_checkout_carries_the_apps_branding(make_app, user, store, catalogue):
    """The checkout's URL names no app; the checkout itself does."""
    _, http = simulated_browser(make_app)
    page = http.get(local(buy(http, package_id="starter").headers["Location"]))
    assert page.status_code == 200
    assert re.search(r"<p class=\"app-name\">\s*Store\s*</p>", page.data.decode())


def test_simulated_checkout_is_only_for_its_buyer(make_app, user, store, catalogue):
    _, http = simulated_browser(make_app)
    checkout_url = local(buy(http, package_id="starter").headers["Location"])
    make_user("grace@example.com", name="Grace")
    _, other = simulated_browser(make_app, "grace@example.com")
    assert other.get(checkout_url).status_code == 404


def test_simulated_checkout_refuses_a_tampered_link(make_app, user, store, catalogue):
    _, http = simulated_browser(make_app)
    checkout_url = local(buy(http, package_id="starter").headers["Location"])
    tampered = checkout_url.split("state=")[0] + "state=eyJzdWNjZXNzIjoiaHR0cHM6Ly9ldmlsIn0"
    assert http.get(tampered).status_code == 400


def test_simulated_pages_do_not_exist_with_real_stripe(signed_in, catalogue):
    assert signed_in.get("/purchase/simulated/cs_sim_x?state=y").status_code == 404


def test_production_refuses_simulated_payments(make_app):
    with pytest.raises(ConfigError, match="IDP_PAYMENTS=simulated"):
        make_app(
            IDP_ENV="production",
            IDP_PAYMENTS="simulated",
            DATABASE_URL="postgresql://idp@db.internal/idp",
            IDP_SMTP_URL="smtp://127.0.0.1:2525",
        )


def test_balance_reflects_the_webhook(signed_in, user, catalogue):
    wallet = wallet_of(user)
    from wallet import services
    from wallet.models import PROMO_GRANT

    services.grant(wallet, 30, PROMO_GRANT, "test", reason="welcome")
    assert "Balance: 30 credits available" in text(signed_in.get("/purchase"))
