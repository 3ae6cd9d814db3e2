"""Payment endpoints that are not pages: Stripe's webhook and the checkout status the
hosted success page polls."""

from __future__ import annotations

from flask import jsonify, request

from idp.core.errors import JSONBlueprint, NotFound
from idp.users import sessions

from . import billing, ledger, services, webhooks
from .models import PURCHASE, SUBSCRIPTION_GRANT

bp = JSONBlueprint("payments", __name__)


@bp.post("/stripe/webhook")
def stripe_webhook():
    """Stripe's deliveries (signed, not cookie-authenticated: exempt from CSRF).  Any 2xx
    tells Stripe to stop retrying, so errors are 4xx (bad delivery) or 500 (retry)."""
    outcome = webhooks.receive(request.get_data(), request.headers.get("Stripe-Signature"))
    return jsonify(received=True, outcome=outcome)


@bp.get("/purchase/status/<session_id>")
def checkout_status(session_id: str):
    """Has the webhook credited this checkout yet?  Only its buyer, signed in, may ask."""
    found = sessions.current()
    wallet = ledger.wallet_for(found[1].id) if found else None
    checkout = billing.checkout(session_id, wallet.id) if wallet else None
    if checkout is None:
        raise NotFound("No such checkout.")
    if checkout.mode == "subscription":
        credited = billing.has_entry(SUBSCRIPTION_GRANT, checkout.invoice_id)
    else:
        credited = billing.has_entry(PURCHASE, checkout.id)
    response = jsonify(status=checkout.status, credited=credited, **services.summary(wallet))
    response.headers["Cache-Control"] = "no-store"
    return response
