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

from . import billing, preferences
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


def cancel_subscription(subscription_id: str) -> None:
    """End a subscription at Stripe now (an account's deletion): no further invoices.
    Its ``customer.subscription.deleted`` event updates the row as any change does."""
    with _calling("subscription cancel"):
        _client().v1.subscriptions.cancel(subscription_id)


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
    if not plan and _saves_card(wallet):
        # Auto top-up pays off-session with the card this checkout saves to the customer.
        params["payment_intent_data"]["setup_future_usage"] = "off_session"
    return params


def _saves_card(wallet: Wallet) -> bool:
    found = preferences.of(wallet.id)
    return found is not None and found.topup_enabled


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


# -- auto top-up and receipts -----------------------------------------------------------


def charge_saved_card(wallet: Wallet, user, package: Package, key: str) -> dict:
    """An off-session PaymentIntent for ``package`` on the customer's default payment
    method (made the default from the card a checkout saved, if none is yet).

    Returns ``{"payment_intent": id}`` once Stripe accepted it (its credits come with
    ``payment_intent.succeeded``), or ``{"failure": code}`` when the card is missing,
    declined or needs the customer present.  ``key`` (the crossing) is the idempotency
    key: a retried job gets the same PaymentIntent back, never a second charge.  Any
    other Stripe failure raises :class:`PaymentProviderError` (the job is retried)."""
    customer = billing.real_customer(wallet)
    method = _default_method(customer) if customer else None
    if method is None:
        return {"failure": "no_saved_card"}
    metadata = {
        "user_sub": user.sub,
        "credits": str(package.credits),
        "package_id": package.id,
        "auto_topup": key,
    }
    params = {
        "amount": package.price_minor,
        "currency": package.currency,
        "customer": customer,
        "payment_method": method,
        "off_session": True,
        "confirm": True,
        "description": f"Auto top-up: {package.name}",
        "metadata": metadata,
    }
    with _calling("payment_intents.create"):
        try:
            intent = _client().v1.payment_intents.create(
                params=params, options={"idempotency_key": key}
            )
        except stripe.CardError as exc:  # the card, not the provider, failed
            log.info("stripe auto top-up declined: %s (request %s)", exc.code, exc.request_id)
            return {"failure": (exc.code or "card_declined")[:64]}
    if intent.status in ("requires_action", "requires_payment_method", "canceled"):
        return {"failure": "authentication_required"}
    return {"payment_intent": intent.id}


def _default_method(customer: str) -> str | None:
    """The customer's default payment method; the newest saved card becomes it if unset."""
    client = _client()
    with _calling("customers.retrieve"):
        found = client.v1.customers.retrieve(customer).to_dict()
    settings = found.get("invoice_settings") or {}
    method = settings.get("default_payment_method")
    if method:
        return method if isinstance(method, str) else method.get("id")
    with _calling("customers.payment_methods.list"):
        saved = client.v1.customers.payment_methods.list(customer, params={"limit": 1})
    if not saved.data:
        return None
    method = saved.data[0].id
    with _calling("customers.update"):
        client.v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": method}}
        )
    return method


def receipt_url(stripe_ref: str) -> str | None:
    """Stripe's receipt page for a purchase's reference: a Checkout Session's or a
    PaymentIntent's charge receipt, an invoice's hosted page."""
    client = _client()
    if stripe_ref.startswith("cs_"):
        with _calling("checkout.sessions.retrieve"):
            session = client.v1.checkout.sessions.retrieve(
                stripe_ref, params={"expand": ["payment_intent.latest_charge"]}
            ).to_dict()
        return _charge_receipt((session.get("payment_intent") or {}).get("latest_charge"))
    if stripe_ref.startswith("pi_"):
        with _calling("payment_intents.retrieve"):
            intent = client.v1.payment_intents.retrieve(
                stripe_ref, params={"expand": ["latest_charge"]}
            ).to_dict()
        return _charge_receipt(intent.get("latest_charge"))
    if stripe_ref.startswith("in_"):
        with _calling("invoices.retrieve"):
            invoice = client.v1.invoices.retrieve(stripe_ref).to_dict()
        return invoice.get("hosted_invoice_url")
    return None


def _charge_receipt(charge) -> str | None:
    return charge.get("receipt_url") if charge and not isinstance(charge, str) else None
