"""The wallet's writes as units of work: what one action writes commits together, and
the Stripe client is built from the settings (IDP_STRIPE_TIMEOUT_SECONDS)."""

from __future__ import annotations

import pytest
import stripe

from idp.core.extensions import db
from tests.helpers import mint_tokens
from wallet import billing, ledger, simulated, stripe_gateway

from .payment_fixtures import PURCHASE_SCOPE, purchase, stripe_settings, wallet_of

SIMULATED = {
    "IDP_PAYMENTS": "simulated",
    "IDP_STRIPE_SECRET_KEY": None,
    "IDP_STRIPE_WEBHOOK_SECRET": None,  # generated for development
    "IDP_STRIPE_API_BASE": None,
}


def test_simulated_checkout_stores_its_customer_with_the_checkout(make_app, user, store, catalogue):
    http = make_app(**SIMULATED).test_client()
    token = mint_tokens(store, user, PURCHASE_SCOPE)["access_token"]
    started = purchase(http, token, package_id="starter")
    assert started.status_code == 201
    assert wallet_of(user).stripe_customer_id.startswith(billing.SIMULATED_CUSTOMER_PREFIX)


def test_a_simulated_checkout_that_fails_leaves_no_customer(make_app, user, catalogue, monkeypatch):
    """The made-up customer and the checkout are one transaction: neither without the other."""

    def fail(*args, **kwargs):
        raise RuntimeError("the checkout could not be recorded")

    monkeypatch.setattr(billing, "record_checkout", fail)
    urls = ("https://store.example/paid", "https://store.example/cart")
    with make_app(**SIMULATED).test_request_context():
        wallet = ledger.wallet_for(user.id)
        with pytest.raises(RuntimeError):
            simulated.start(wallet, user, "store", catalogue["starter"], 100, urls)
        db.session.rollback()  # what the request's teardown does with an unfinished one
        assert ledger.wallet_for(user.id).stripe_customer_id is None


@pytest.mark.parametrize(("setting", "timeout"), [(None, 20), ("7", 7)])
def test_the_stripe_client_timeout_is_a_setting(
    make_app, fake_stripe, monkeypatch, setting, timeout
):
    made = []
    real = stripe.RequestsClient

    def recording(**kwargs):
        made.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(stripe, "RequestsClient", recording)
    overrides = stripe_settings(fake_stripe)
    if setting is not None:
        overrides["IDP_STRIPE_TIMEOUT_SECONDS"] = setting  # a string, as the environment gives it
    app = make_app(**overrides)
    with app.app_context():  # the client is built on first use, once per app
        client = stripe_gateway._client()
        assert stripe_gateway._client() is client
    assert made == [{"timeout": timeout}]
