"""The simulated checkout (``IDP_PAYMENTS=simulated``, development only).

No Stripe call is made.  The checkout page is ours and clearly labelled; its "Pay"
button builds the events Stripe would send, signs them with the webhook secret exactly
as Stripe does, and hands them to :func:`wallet.webhooks.receive`, the same function the
``/stripe/webhook`` route calls.  Everything after the click is the real code path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from . import billing, packages, webhooks
from .errors import WalletError
from .models import CheckoutSession, Package, Wallet

_SALT = "wallet.simulated-checkout"
_PERIOD = {"month": 30 * 86400, "year": 365 * 86400}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def start(wallet: Wallet, user, client_id, package: Package | None, credits: int, urls) -> dict:
    """Record a simulated checkout (and the wallet's made-up customer, in the same
    transaction); its page URL carries the return URLs, signed (they were validated here,
    and must not be swapped for others on the way)."""
    if not wallet.stripe_customer_id:
        customer = billing.SIMULATED_CUSTOMER_PREFIX + secrets.token_hex(8)
        billing.set_customer_within(wallet, customer)
    session_id = "cs_sim_" + secrets.token_hex(12)
    billing.record_checkout(
        session_id,
        wallet.id,
        package_id=package.id if package else None,
        client_id=client_id,
        credits=credits,
        mode="subscription" if package is not None and package.interval else "payment",
    )
    state = _serializer().dumps({"success": urls[0], "cancel": urls[1]})
    path = url_for("wallet_pages.simulated_checkout", session_id=session_id, state=state)
    return {"id": session_id, "url": current_app.config["IDP_ISSUER"] + path}


def return_urls(state: object) -> dict:
    """The return URLs signed into a simulated checkout link; a 400 if tampered with."""
    try:
        urls = _serializer().loads(state) if isinstance(state, str) else None
    except BadSignature:
        urls = None
    if not isinstance(urls, dict):
        raise WalletError("This simulated checkout link is damaged.", field="state")
    return urls


def price(found: CheckoutSession) -> tuple[int, str, str]:
    """(amount in minor units, currency, label) shown on the simulated page."""
    package = packages.get(found.package_id, active_only=False) if found.package_id else None
    if package is not None:
        return package.price_minor, package.currency, package.name
    cfg = current_app.config
    unit = cfg["IDP_CREDIT_UNIT_PRICE"]
    return found.credits * unit, cfg["IDP_CREDIT_CURRENCY"], f"{found.credits} credits"


def pay(found: CheckoutSession, user) -> None:
    """Deliver what Stripe would after a successful card payment, through the webhook."""
    secret = current_app.config["IDP_STRIPE_WEBHOOK_SECRET"]
    for event in events(found, user):
        payload = json.dumps(event)
        webhooks.receive(payload.encode(), sign(payload, secret))


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header: ``t=<unix>,v1=HMAC-SHA256(secret, "<t>.<payload>")``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def events(found: CheckoutSession, user) -> list[dict]:
    """Stripe-format events for a paid checkout: the session completed and, for a plan,
    its subscription and first invoice (which is what grants a plan's credits)."""
    amount, currency, _ = price(found)
    customer = billing.customer_of(found.wallet_id)
    metadata = _metadata(found, user)
    tag = found.id.removeprefix("cs_sim_")
    session = _session(found, user, customer, metadata, tag, (amount, currency))
    made = [_event(f"evt_sim_{tag}_checkout", "checkout.session.completed", session)]
    if found.mode == "subscription":
        made += _plan_events(found, tag, customer, metadata, amount, currency)
    return made


def _metadata(found: CheckoutSession, user) -> dict:
    """What :func:`wallet.stripe_gateway.create_checkout` puts on a real session."""
    metadata = {"user_sub": user.sub, "credits": str(found.credits)}
    if found.client_id:
        metadata["client_id"] = found.client_id
    if found.package_id:
        metadata["package_id"] = found.package_id
    return metadata


def _session(found: CheckoutSession, user, customer, metadata: dict, tag: str, total) -> dict:
    """The completed, paid Checkout Session; ``total`` is (amount, currency)."""
    plan = found.mode == "subscription"
    return {
        "id": found.id,
        "object": "checkout.session",
        "mode": found.mode,
        "status": "complete",
        "payment_status": "paid",
        "customer": customer,
        "client_reference_id": user.sub,
        "metadata": metadata,
        "amount_total": total[0],
        "currency": total[1],
        "payment_intent": None if plan else f"pi_sim_{tag}",
        "subscription": f"sub_sim_{tag}" if plan else None,
        "invoice": f"in_sim_{tag}" if plan else None,
        "livemode": False,
    }


def _plan_events(found, tag, customer, metadata, amount, currency) -> list[dict]:
    package = packages.get(found.package_id, active_only=False)
    price_id = package.stripe_price_id or f"price_sim_{package.id}"
    period_end = int(time.time()) + _PERIOD.get(package.interval, 0)
    subscription = {
        "id": f"sub_sim_{tag}",
        "object": "subscription",
        "customer": customer,
        "status": "active",
        "cancel_at_period_end": False,
        "metadata": metadata,
        "items": {
            "object": "list",
            "data": [{"price": {"id": price_id}, "current_period_end": period_end}],
        },
    }
    invoice = _invoice(f"in_sim_{tag}", subscription, price_id, amount, currency)
    return [
        _event(f"evt_sim_{tag}_subscription", "customer.subscription.created", subscription),
        _event(f"evt_sim_{tag}_invoice", "invoice.paid", invoice),
    ]


def _invoice(invoice_id: str, subscription: dict, price_id: str, amount, currency) -> dict:
    """The paid first invoice of ``subscription``, in the 2025+ shape (``parent``)."""
    details = {"subscription": subscription["id"], "metadata": subscription["metadata"]}
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": subscription["customer"],
        "status": "paid",
        "billing_reason": "subscription_create",
        "amount_paid": amount,
        "currency": currency,
        "parent": {"type": "subscription_details", "subscription_details": details},
        "lines": {
            "object": "list",
            "data": [{"amount": amount, "pricing": {"price_details": {"price": price_id}}}],
        },
    }


def _event(event_id: str, event_type: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": obj},
    }


def charge_saved_card(wallet: Wallet, user, package: Package, key: str) -> dict:
    """What ``stripe_gateway.charge_saved_card`` does, made up: a wallet that went through
    a simulated checkout (it has a made-up customer) has a "saved card", others have none.
    The PaymentIntent id follows from ``key``, so a retried job names the same payment;
    ``deliver`` hands its ``payment_intent.succeeded`` to the webhook, as Stripe would."""
    customer = wallet.stripe_customer_id
    if not customer:
        return {"failure": "no_saved_card"}
    tag = hashlib.sha256(key.encode()).hexdigest()[:24]
    intent = {
        "id": f"pi_sim_{tag}",
        "object": "payment_intent",
        "status": "succeeded",
        "amount": package.price_minor,
        "amount_received": package.price_minor,
        "currency": package.currency,
        "customer": customer,
        "off_session": True,
        "latest_charge": f"ch_sim_{tag}",
        "metadata": {
            "user_sub": user.sub,
            "credits": str(package.credits),
            "package_id": package.id,
            "auto_topup": key,
        },
        "livemode": False,
    }
    secret = current_app.config["IDP_STRIPE_WEBHOOK_SECRET"]

    def deliver() -> None:
        payload = json.dumps(_event(f"evt_sim_{tag}_paid", "payment_intent.succeeded", intent))
        webhooks.receive(payload.encode(), sign(payload, secret))

    return {"payment_intent": intent["id"], "deliver": deliver}
