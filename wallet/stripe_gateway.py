"""The one module that talks to Stripe's API (customers, Checkout, the billing portal).

Every call goes through :func:`_calling`, which turns any ``stripe.StripeError`` into
our :class:`PaymentProviderError` (502): the caller learns that the provider failed,
never Stripe's internals; the log keeps Stripe's request id and error code.
"""

from __future__ import annotations

import contextlib
import logging
import secrets

import stripe
from flask import current_app

from . import billing
from .errors import PaymentProviderError, WalletError
from .models import Package, Wallet

log = logging.getLogger("idp.wallet.stripe")


def _client() -> stripe.StripeClient:
    """One client per app, built from the settings (IDP_STRIPE_API_BASE in tests)."""
    client = current_app.extensions.get("idp_stripe")
    if client is None:
        cfg = current_app.config
        base = cfg.get("IDP_STRIPE_API_BASE")
        client = stripe.StripeClient(
            cfg["IDP_STRIPE_SECRET_KEY"],
            base_addresses={"api": base} if base else None,
            max_network_retries=2,  # safe: every POST carries an idempotency key
            # A purchase click must not hang a worker on a slow provider.
            http_client=stripe.RequestsClient(timeout=cfg["IDP_STRIPE_TIMEOUT_SECONDS"]),
        )
        current_app.extensions["idp_stripe"] = client
    return client


@contextlib.contextmanager
def _calling(what: str):
    """Translate Stripe's exceptions at the boundary (house style: typed errors only)."""
    try:
        yield
    except stripe.StripeError as exc:
        log.warning(
            "stripe %s failed: %s %s (request %s)",
            what,
            type(exc).__name__,
            exc.code or exc.http_status,
            exc.request_id,
        )
        raise PaymentProviderError() from None


def customer_for(wallet: Wallet, user) -> str:
    """The wallet's Stripe customer, created once.

    The idempotency key is the user's ``sub``: two first purchases racing create one
    customer (Stripe answers the second with the first's result), and the conditional
    UPDATE in :func:`billing.set_customer` stores it once."""
    existing = billing.real_customer(wallet)
    if existing:
        return existing
    params = {"email": user.email, "metadata": {"user_sub": user.sub}}
    if user.display_name:
        params["name"] = user.display_name
    with _calling("customers.create"):
        customer = _client().v1.customers.create(
            params=params, options={"idempotency_key": f"idp-customer-{user.sub}"}
        )
    return billing.set_customer(wallet, customer.id)


def line_item(package: Package | None, credits: int) -> dict:
    """What the customer pays for: the package's Stripe Price, or an inline price (a
    package without one, or ``credits`` at IDP_CREDIT_UNIT_PRICE each)."""
    if package is not None and package.stripe_price_id:
        return {"price": package.stripe_price_id, "quantity": 1}
    if package is not None:
        price = {
            "currency": package.currency,
            "unit_amount": package.price_minor,
            "product_data": {"name": package.name},
        }
        return {"price_data": price, "quantity": 1}
    cfg = current_app.config
    price = {
        "currency": cfg["IDP_CREDIT_CURRENCY"],
        "unit_amount": cfg["IDP_CREDIT_UNIT_PRICE"],
        "product_data": {"name": "Credits"},
    }
    return {"price_data": price, "quantity": credits}


def create_checkout(
    wallet: Wallet,
    user,
    client_id: str | None,
    package: Package | None,
    credits: int,
    urls: tuple[str, str],
) -> dict:
    """Start a Checkout Session (``payment`` for credits, ``subscription`` for a plan),
    record it in ``checkout_sessions`` and return its id and URL."""
    plan = package is not None and package.interval is not None
    if plan and not package.stripe_price_id:
        raise WalletError("This plan has no Stripe price yet.", field="package_id")
    params = _checkout_params(wallet, user, client_id, package, credits, urls)
    with _calling("checkout.sessions.create"):
        session = _client().v1.checkout.sessions.create(
            params=params, options={"idempotency_key": "idp-checkout-" + secrets.token_hex(16)}
        )
    billing.record_checkout(
        session.id,
        wallet.id,
        package_id=package.id if package else None,
        client_id=client_id,
        credits=credits,
        mode=params["mode"],
    )
    return {"id": session.id, "url": session.url}


def _checkout_params(wallet, user, client_id, package, credits, urls) -> dict:
    """The session to create.  ``metadata`` goes on the session and on the PaymentIntent /
    Subscription it creates, so every later event names the user, the app and what was
    bought."""
    plan = package is not None and package.interval is not None
    metadata = {"user_sub": user.sub, "credits": str(credits)}
    if client_id:
        metadata["client_id"] = client_id
    if package is not None:
        metadata["package_id"] = package.id
    params = {
        "mode": "subscription" if plan else "payment",
        "customer": customer_for(wallet, user),
        "client_reference_id": user.sub,
        "line_items": [line_item(package, credits)],
        "metadata": metadata,
        "success_url": urls[0],
        "cancel_url": urls[1],
    }
    params["subscription_data" if plan else "payment_intent_data"] = {"metadata": metadata}
    return params


def portal_url(wallet: Wallet, return_url: str) -> str:
    """A billing-portal session for the wallet's customer (manage or cancel a plan)."""
    customer = billing.real_customer(wallet)
    if customer is None:
        raise WalletError("There is no billing account to manage yet.")
    with _calling("billing_portal.sessions.create"):
        session = _client().v1.billing_portal.sessions.create(
            params={"customer": customer, "return_url": return_url}
        )
    return session.url
