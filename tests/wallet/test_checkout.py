"""POST /api/cross-app/credits/purchase and /credits/portal: what we ask Stripe for.

Stripe is the local fake (tests/wallet/stripe_fake.py); every assertion on parameters
is on the form-encoded request Stripe would have received.
"""

from __future__ import annotations

import pytest

from tests.helpers import bearer
from wallet.models import CheckoutSession

from .payment_fixtures import (
    API,
    UNIT_PRICE,
    checkout_count,
    checkout_row,
    purchase,
    stripe_settings,
    wallet_of,
)
from .stripe_fake import SECRET_KEY


@pytest.fixture
def app_settings(fake_stripe):
    return stripe_settings(fake_stripe)


SUCCESS = "https://store.example/paid?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://store.example/cart"


def metadata(prefix: str, user, **values) -> dict:
    fields = {"user_sub": user.sub, "client_id": "store", **values}
    return {f"{prefix}[{key}]": value for key, value in fields.items()}


def test_package_checkout_sends_exactly_these_parameters(
    client, buyer, user, catalogue, fake_stripe
):
    response = purchase(client, buyer, package_id="starter", success_url=SUCCESS, cancel_url=CANCEL)
    assert response.status_code == 201, response.json
    session_id = response.json["id"]
    assert session_id.startswith("cs_test_")
    assert response.json["url"].startswith("https://checkout.stripe.com/c/pay/" + session_id)

    [created] = fake_stripe.calls("/v1/customers")
    assert created.params == {"email": user.email, "name": "Ada", "metadata[user_sub]": user.sub}
    assert created.headers["Idempotency-Key"] == f"idp-customer-{user.sub}"
    assert created.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    customer = wallet_of(user).stripe_customer_id
    assert customer.startswith("cus_test_")

    [checkout] = fake_stripe.calls("/v1/checkout/sessions")
    meta = {"package_id": "starter", "credits": "100"}
    assert checkout.params == {
        "mode": "payment",
        "customer": customer,
        "client_reference_id": user.sub,
        "line_items[0][price]": "price_starter",
        "line_items[0][quantity]": "1",
        **metadata("metadata", user, **meta),
        **metadata("payment_intent_data[metadata]", user, **meta),
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
    }
    assert checkout.headers["Idempotency-Key"].startswith("idp-checkout-")

    row = checkout_row(session_id)
    assert (row.wallet_id, row.package_id, row.client_id, row.credits, row.mode, row.status) == (
        wallet_of(user).id,
        "starter",
        "store",
        100,
        "payment",
        "open",
    )


def test_customer_is_created_once_and_reused(client, buyer, user, catalogue, fake_stripe):
    first = purchase(client, buyer, package_id="starter", success_url=SUCCESS, cancel_url=CANCEL)
    second = purchase(client, buyer, package_id="bundle", success_url=SUCCESS, cancel_url=CANCEL)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json["id"] != second.json["id"]
    assert len(fake_stripe.calls("/v1/customers")) == 1
    customers = {c.params["customer"] for c in fake_stripe.calls("/v1/checkout/sessions")}
    assert customers == {wallet_of(user).stripe_customer_id}
    assert checkout_count() == 2


def test_package_without_stripe_price_is_priced_inline(client, buyer, catalogue, fake_stripe):
    response = purchase(client, buyer, package_id="bundle", success_url=SUCCESS, cancel_url=CANCEL)
    assert response.status_code == 201, response.json
    params = fake_stripe.calls("/v1/checkout/sessions")[0].params
    items = {k: v for k, v in params.items() if k.startswith("line_items")}
    assert items == {
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "4000",
        "line_items[0][price_data][product_data][name]": "Bundle",
        "line_items[0][quantity]": "1",
    }


def test_custom_amount_uses_the_configured_credit_price(
    client, buyer, user, catalogue, fake_stripe
):
    response = purchase(client, buyer, amount=250, success_url=SUCCESS, cancel_url=CANCEL)
    assert response.status_code == 201, response.json
    params = fake_stripe.calls("/v1/checkout/sessions")[0].params
    assert params["mode"] == "payment"
    assert {k: v for k, v in params.items() if k.startswith("line_items")} == {
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": str(UNIT_PRICE),
        "line_items[0][price_data][product_data][name]": "Credits",
        "line_items[0][quantity]": "250",
    }
    assert "metadata[package_id]" not in params
    assert params["metadata[credits]"] == params["payment_intent_data[metadata][credits]"] == "250"
    row = checkout_row(response.json["id"])
    assert (row.package_id, row.credits) == (None, 250)


def test_plan_starts_a_subscription_checkout(client, buyer, user, catalogue, fake_stripe):
    response = purchase(client, buyer, package_id="pro", success_url=SUCCESS, cancel_url=CANCEL)
    assert response.status_code == 201, response.json
    params = fake_stripe.calls("/v1/checkout/sessions")[0].params
    meta = {"package_id": "pro", "credits": "1000"}
    assert params == {
        "mode": "subscription",
        "customer": wallet_of(user).stripe_customer_id,
        "client_reference_id": user.sub,
        "line_items[0][price]": "price_pro_monthly",
        "line_items[0][quantity]": "1",
        **metadata("metadata", user, **meta),
        **metadata("subscription_data[metadata]", user, **meta),
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
    }
    assert checkout_row(response.json["id"]).mode == "subscription"


def test_plan_without_a_stripe_price_is_refused(client, buyer, catalogue, fake_stripe):
    response = purchase(client, buyer, package_id="basic", success_url=SUCCESS, cancel_url=CANCEL)
    assert response.status_code == 400
    assert (response.json["error"], response.json["field"]) == ("invalid_request", "package_id")
    assert fake_stripe.calls("/v1/checkout/sessions") == []


def test_default_return_urls_are_our_hosted_pages(client, buyer, catalogue, fake_stripe):
    assert purchase(client, buyer, package_id="starter").status_code == 201
    params = fake_stripe.calls("/v1/checkout/sessions")[0].params
    assert params["success_url"] == (
        "https://idp.test/purchase/success?client_id=store&session_id={CHECKOUT_SESSION_ID}"
    )
    assert params["cancel_url"] == "https://idp.test/purchase?client_id=store&cancelled=1"


@pytest.mark.parametrize(
    "field",
    ["success_url", "cancel_url"],
)
@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/paid",
        "http://store.example/paid",  # registered for https only
        "https://store.example.evil.example/paid",
        "https://store.example@evil.example/paid",
        "https://evil.example\\@store.example/paid",
        "https://www.store.example/paid",  # registered with port 8443 only
        "/paid",
        "//store.example/paid",
        "javascript:alert(1)",
        "https://store.example/pa id",
        "",
        42,
    ],
)
def test_return_urls_must_be_under_the_apps_origins(
    client, buyer, catalogue, fake_stripe, field, url
):
    body = {"package_id": "starter", "success_url": SUCCESS, "cancel_url": CANCEL, field: url}
    response = purchase(client, buyer, **body)
    assert response.status_code == 400
    assert (response.json["error"], response.json["field"]) == ("invalid_request", field)
    assert fake_stripe.requests == []
    assert checkout_count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://store.example:443/paid",
        "https://STORE.example/paid?x=1#top",
        "https://www.store.example:8443/paid",
    ],
)
def test_equivalent_spellings_of_a_registered_origin_pass(
    client, buyer, catalogue, fake_stripe, url
):
    response = purchase(client, buyer, package_id="starter", success_url=url, cancel_url=CANCEL)
    assert response.status_code == 201, response.json
    assert fake_stripe.calls("/v1/checkout/sessions")[0].params["success_url"] == url


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({}, 400, "invalid_request"),
        ({"package_id": "starter", "amount": 10}, 400, "invalid_request"),
        ({"package_id": "nope"}, 404, "not_found"),
        ({"amount": 0}, 400, "invalid_request"),
        ({"amount": "10"}, 400, "invalid_request"),
        ({"amount": True}, 400, "invalid_request"),
    ],
)
def test_what_to_buy_is_validated(client, buyer, catalogue, fake_stripe, body, status, error):
    response = purchase(client, buyer, **body)
    assert (response.status_code, response.json["error"]) == (status, error)
    assert fake_stripe.requests == []


def test_disabled_payments_answer_503(make_app, store, user, catalogue, fake_stripe):
    http = make_app(IDP_PAYMENTS="disabled", IDP_STRIPE_SECRET_KEY=None).test_client()
    from tests.helpers import user_tokens

    token = user_tokens(http, store, "openid credits:read credits:purchase")["access_token"]
    response = purchase(http, token, package_id="starter", success_url=SUCCESS, cancel_url=CANCEL)
    assert response.status_code == 503
    assert response.json["error"] == "payments_not_configured"
    portal = http.post(f"{API}/credits/portal", json={}, headers=bearer(token))
    assert (portal.status_code, portal.json["error"]) == (503, "payments_not_configured")
    assert fake_stripe.requests == []


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (402, "card_error", "card_declined"),
        (400, "invalid_request_error", "amount_too_small"),
        (401, "invalid_request_error", None),
        (500, "api_error", None),
    ],
)
def test_stripe_errors_become_502(client, buyer, user, catalogue, fake_stripe, status, kind, code):
    fake_stripe.fail_with(status=status, type=kind, code=code, message="secret internals")
    response = purchase(client, buyer, package_id="starter", success_url=SUCCESS, cancel_url=CANCEL)
    assert response.status_code == 502
    assert response.json["error"] == "payment_provider_error"
    assert "internals" not in response.json["error_description"]
    assert checkout_count() == 0
    assert wallet_of(user).stripe_customer_id is None


def test_customer_survives_a_failed_checkout(client, buyer, user, catalogue, fake_stripe):
    fake_stripe.fail_with(500, "api_error", None, path="/v1/checkout/sessions")
    assert purchase(client, buyer, package_id="starter").status_code == 502
    customer = wallet_of(user).stripe_customer_id
    assert customer.startswith("cus_test_")
    fake_stripe.recover()
    assert purchase(client, buyer, package_id="starter").status_code == 201
    assert len(fake_stripe.calls("/v1/customers")) == 1
    assert [c.params["customer"] for c in fake_stripe.calls("/v1/checkout/sessions")] == [
        customer,
        customer,
    ]
    assert checkout_count() == 1


def test_purchase_needs_the_purchase_scope(client, store, user, catalogue, fake_stripe):
    from tests.helpers import user_tokens

    token = user_tokens(client, store, "openid credits:read")["access_token"]
    response = purchase(client, token, package_id="starter")
    assert response.status_code == 403
    assert fake_stripe.requests == []


def test_portal_session_for_the_customer(client, buyer, user, catalogue, fake_stripe):
    assert purchase(client, buyer, package_id="pro").status_code == 201
    back = "https://store.example/account"
    response = client.post(
        f"{API}/credits/portal", json={"return_url": back}, headers=bearer(buyer)
    )
    assert response.status_code == 200, response.json
    assert response.json["url"].startswith("https://billing.stripe.com/p/session/")
    [call] = fake_stripe.calls("/v1/billing_portal/sessions")
    assert call.params == {"customer": wallet_of(user).stripe_customer_id, "return_url": back}


def test_portal_return_url_is_validated_too(client, buyer, catalogue, fake_stripe):
    assert purchase(client, buyer, package_id="pro").status_code == 201
    response = client.post(
        f"{API}/credits/portal", json={"return_url": "https://evil.example/"}, headers=bearer(buyer)
    )
    assert (response.status_code, response.json["field"]) == (400, "return_url")
    assert fake_stripe.calls("/v1/billing_portal/sessions") == []


def test_portal_without_a_billing_account(client, buyer, fake_stripe):
    response = client.post(f"{API}/credits/portal", json={}, headers=bearer(buyer))
    assert (response.status_code, response.json["error"]) == (400, "invalid_request")
    assert fake_stripe.requests == []


def test_checkout_rows_belong_to_the_buyer(client, buyer, user, catalogue, fake_stripe, db):
    purchase(client, buyer, package_id="starter")
    rows = db.session.query(CheckoutSession).all()
    assert [r.wallet_id for r in rows] == [wallet_of(user).id]
