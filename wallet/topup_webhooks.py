"""Stripe events about auto top-up PaymentIntents (``wallet.autotopup``): the credits of a
paid one, the failure of a declined one.  Like every handler of ``wallet.webhooks``, each
returns the outcome recorded with the event and never commits.

A PaymentIntent is ours when its metadata names a top-up (``auto_topup``): those of a
Checkout purchase also send ``payment_intent.succeeded``, but their credits come with
the checkout's own event, so they are ignored here.  The grant is unique per
PaymentIntent id (the ledger's Stripe reference), however many events report it.
"""

from __future__ import annotations

from . import billing, services, topup_attempts
from . import stripe_payloads as payload
from .models import PURCHASE


def payment_succeeded(event: dict, intent: dict) -> str:
    """``payment_intent.succeeded``: grant a top-up's credits once."""
    meta = payload.metadata(intent)
    intent_id = intent.get("id")
    if not meta.get("auto_topup") or not isinstance(intent_id, str):
        return "ignored_not_auto_topup"
    found = billing.checkout(intent_id) or _rebuilt(intent_id, intent, meta)
    if found is None:
        return "ignored_unknown_customer"
    billing.advance_checkout(found, "complete", payment_intent_id=intent_id)
    entry = services.grant_within(
        found.wallet_id,
        found.credits,
        PURCHASE,
        stripe_ref=intent_id,
        reason=f"auto top-up: package {found.package_id} (payment {intent_id})",
    )
    topup_attempts.succeeded(intent_id, meta.get("auto_topup"))
    return "granted" if entry else "already_granted"


def _rebuilt(intent_id: str, intent: dict, meta: dict):
    """The payment's record, from its metadata (the job's commit was lost after Stripe
    took the payment): a paying customer is never ignored."""
    wallet_id = billing.wallet_id_by_customer(payload.ref(intent.get("customer")))
    credits = payload.positive_int(meta.get("credits"))
    if wallet_id is None or not credits:
        return None
    return billing.record_checkout_within(
        intent_id,
        wallet_id,
        package_id=payload.short(meta.get("package_id"), 64),
        client_id=None,
        credits=credits,
        mode="payment",
    )


def payment_failed(event: dict, intent: dict) -> str:
    """``payment_intent.payment_failed``: a top-up declined after it was started."""
    crossing = payload.metadata(intent).get("auto_topup")
    if not crossing:
        return "ignored_not_auto_topup"
    error = intent.get("last_payment_error") or {}
    reason = payload.short(error.get("code") if isinstance(error, dict) else None, 64)
    topup_attempts.failed(payload.ref(intent.get("id")), reason or "payment_failed", crossing)
    return "topup_failed"
