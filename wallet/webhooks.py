"""Stripe webhooks: verify, deduplicate, apply, in one transaction.

Stripe delivers each event at least once, in no guaranteed order, and retries for days
until it gets a 2xx (https://docs.stripe.com/webhooks#handle-duplicate-events).  So:

* the ``Stripe-Signature`` header is checked with the stripe library against
  IDP_STRIPE_WEBHOOK_SECRET, with Stripe's default 300-second tolerance for replays;
* the event id is inserted into ``stripe_events`` in the same transaction as the event's
  effect.  A crash before the commit leaves neither, so Stripe's retry applies it; a
  second delivery collides on the primary key and is answered 200 with no effect;
* effects are idempotent on their own too (a grant is unique per Stripe object), because
  two different events can describe the same payment;
* no Stripe API call is made here, so the answer is quick.
"""

from __future__ import annotations

import json
import logging

import stripe
from flask import current_app
from sqlalchemy.exc import IntegrityError

from idp.core import observe
from idp.core.extensions import db

from . import billing, topup_webhooks, webhook_handlers
from .errors import InvalidSignature, WalletError

log = logging.getLogger("idp.wallet.webhooks")
# Stripe's own default: an event signed longer ago than this is refused as a replay.
TOLERANCE_SECONDS = 300

HANDLERS = {
    "checkout.session.completed": webhook_handlers.checkout_settled,
    "checkout.session.async_payment_succeeded": webhook_handlers.checkout_settled,
    "checkout.session.async_payment_failed": webhook_handlers.checkout_failed,
    "checkout.session.expired": webhook_handlers.checkout_expired,
    "invoice.paid": webhook_handlers.invoice_paid,
    "customer.subscription.created": webhook_handlers.subscription_changed,
    "customer.subscription.updated": webhook_handlers.subscription_changed,
    "customer.subscription.deleted": webhook_handlers.subscription_changed,
    "charge.refunded": webhook_handlers.charge_refunded,
    "payment_intent.succeeded": topup_webhooks.payment_succeeded,  # auto top-up only
    "payment_intent.payment_failed": topup_webhooks.payment_failed,
}


def receive(payload: bytes, signature: str | None) -> str:
    """Verify and handle one delivery; returns the outcome recorded for the event."""
    try:
        event = verified_event(payload, signature)
    except WalletError:
        observe.emit(observe.WEBHOOK, type="unverified", outcome="rejected")
        raise
    return handle(event)


def verified_event(payload: bytes, signature: str | None) -> dict:
    """The event, if Stripe signed exactly these bytes recently; else a typed 400."""
    secret = current_app.config.get("IDP_STRIPE_WEBHOOK_SECRET")
    if not secret:  # payments disabled: nobody can sign for us
        raise InvalidSignature()
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, secret, tolerance=TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError:
        raise InvalidSignature() from None
    except UnicodeDecodeError:
        raise WalletError("The body is not UTF-8 JSON.") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise WalletError("The body is not JSON.") from None
    if not _is_event(event):
        raise WalletError("The body is not a Stripe event.")
    return event


def _is_event(event: object) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and 0 < len(event["id"]) <= 255
        and isinstance(event.get("type"), str)
        and isinstance(event.get("created"), int)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    )


def handle(event: dict) -> str:
    """Apply ``event`` once: its ``stripe_events`` row and its effect commit together."""
    handler = HANDLERS.get(event["type"])
    if handler is None:
        # not subscribed to, or not ours to act on; nothing to remember
        observe.emit(observe.WEBHOOK, type="other", outcome="ignored")
        return "ignored"
    db.session.rollback()  # start clean: nothing else may ride on this commit
    try:
        row = billing.add_event(event)
    except IntegrityError:
        db.session.rollback()
        observe.emit(observe.WEBHOOK, type=event["type"], outcome="duplicate")
        return "duplicate"
    try:
        row.outcome = handler(event, event["data"]["object"])
        db.session.commit()
    except Exception:
        db.session.rollback()  # neither the event row nor any part of its effect
        log.warning("stripe event %s (%s) failed; Stripe will retry", event["id"], event["type"])
        observe.emit(observe.WEBHOOK, type=event["type"], outcome="failed")
        raise
    log.info("stripe event %s (%s): %s", event["id"], event["type"], row.outcome)
    observe.emit(observe.WEBHOOK, type=event["type"], outcome=row.outcome)
    return row.outcome
