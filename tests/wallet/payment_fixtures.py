"""Fixtures and helpers for the payment tests (checkout, webhooks, purchase pages): apps
wired to the local fake Stripe, a catalogue, a partner app allowed to start purchases,
and readers of what was stored.  The fixtures are made visible by ``conftest.py``; a
payment test module opts in by overriding ``app_settings`` with :func:`stripe_settings`."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from idp.core.extensions import db
from tests.helpers import Browser, bearer, mint_tokens
from wallet import billing, ledger, packages
from wallet.models import CheckoutSession, LedgerEntry, StripeEvent, Subscription, Wallet

from .stripe_fake import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

API = "/api/cross-app"
PURCHASE_SCOPE = "openid credits:read credits:purchase"
UNIT_PRICE = 2  # minor units per credit bought as a custom amount


@pytest.fixture(scope="session")
def _fake_stripe_server():
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe(_fake_stripe_server):
    """The local fake Stripe (one server per session, so the apps' settings stay the
    same and the apps are reused), with no recorded requests and no failure set."""
    _fake_stripe_server.reset()
    yield _fake_stripe_server
    _fake_stripe_server.reset()


def stripe_settings(fake: FakeStripe) -> dict:
    """Apps paying through the local fake Stripe."""
    return {
        "IDP_PAYMENTS": "stripe",
        "IDP_STRIPE_SECRET_KEY": SECRET_KEY,
        "IDP_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "IDP_STRIPE_API_BASE": fake.url,
        "IDP_CREDIT_UNIT_PRICE": UNIT_PRICE,
        "IDP_CREDIT_CURRENCY": "eur",
    }


@pytest.fixture
def catalogue(db):
    """Two packs (one with a Stripe price, one priced inline) and two monthly plans."""
    return {
        "starter": packages.create("starter", "Starter", 100, 1000, "usd", "price_starter"),
        "bundle": packages.create("bundle", "Bundle", 500, 4000, "usd"),
        "pro": packages.create("pro", "Pro", 1000, 2000, "usd", "price_pro_monthly", "month"),
        "basic": packages.create("basic", "Basic", 200, 500, "usd", None, "month"),
    }


@pytest.fixture
def store(apps):
    """A partner web app on https://store.example that may start purchases."""
    return apps.create(
        client_id="store",
        name="Store",
        redirect_uris=["https://store.example/cb"],
        allowed_origins=["https://store.example", "https://www.store.example:8443"],
        allowed_scopes=PURCHASE_SCOPE,
        audience="https://store.example",
    )


@pytest.fixture
def buyer(client, store, user):
    """``user``'s access token for ``store``, with ``credits:purchase``."""
    return mint_tokens(store, user, PURCHASE_SCOPE)["access_token"]


@pytest.fixture
def signed_in(client, user):
    assert Browser(client).login().status_code == 302
    return client


def purchase(http, token: str, **body):
    return http.post(f"{API}/credits/purchase", json=body, headers=bearer(token))


def wallet_of(user) -> Wallet:
    db.session.rollback()  # see what the requests committed
    return ledger.wallet_for(user.id)


def balance(user) -> int:
    return wallet_of(user).balance


def entries(kind: str | None = None) -> list[LedgerEntry]:
    db.session.rollback()
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if kind:
        query = query.where(LedgerEntry.kind == kind)
    return list(db.session.scalars(query))


def events() -> dict[str, str]:
    """Recorded Stripe events: id -> outcome."""
    db.session.rollback()
    return {e.id: e.outcome for e in db.session.scalars(select(StripeEvent))}


def checkout_row(session_id: str) -> CheckoutSession | None:
    db.session.rollback()
    return db.session.get(CheckoutSession, session_id)


def subscription_row(subscription_id: str) -> Subscription | None:
    db.session.rollback()
    return db.session.scalar(
        select(Subscription).where(Subscription.stripe_subscription_id == subscription_id)
    )


def checkout_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(CheckoutSession))


def customer(user, customer_id: str = "cus_test_ada") -> Wallet:
    """Give ``user``'s wallet a Stripe customer, as its first checkout would."""
    wallet = ledger.wallet_for(user.id)
    billing.set_customer(wallet, customer_id)
    return wallet
