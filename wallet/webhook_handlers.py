"""What each Stripe event does to wallets.  One function per event type; each returns the
outcome recorded with the event and never commits (``webhooks.handle`` does).

Order rules (Stripe does not guarantee delivery order):

* a one-off purchase is granted once per Checkout Session id, by whichever of
  ``checkout.session.completed`` / ``async_payment_succeeded`` first reports it paid;
* a plan's credits come only from ``invoice.paid`` (once per invoice id), which finds the
  wallet by customer id, so it may arrive before the checkout's own event;
* a subscription's state is replaced only by an event at least as new as the last one
  applied (``last_event_at``); a checkout's status only ever moves forward;
* a refund applies each cumulative ``amount_refunded`` of a charge once; an older state
  arriving late finds a larger one applied and does nothing.

Payloads are read through ``stripe_payloads``, in the shapes of current and older API versions.
"""

from __future__ import annotations

from idp.core.db_types import utcnow
from idp.core.events_hook import emit
from idp.core.extensions import db
from idp.users import services as users

from . import billing, lots, packages, services
from . import stripe_payloads as payload
from .errors import PackageNotFound
from .models import PURCHASE, SUBSCRIPTION_GRANT, CheckoutSession, Package, Wallet

# Invoices that pay for a period of a plan; others (proration on a plan change, manual
# invoices) grant nothing, so switching plans back and forth cannot mint credits.
_GRANTING_REASONS = frozenset({"subscription_create", "subscription_cycle"})


def checkout_settled(event: dict, session: dict) -> str:
    """``checkout.session.completed`` and ``.async_payment_succeeded``: credits for a paid
    one-off purchase, only when ``payment_status`` is ``paid``; a plan's checkout records
    its subscription (the credits come with each ``invoice.paid``)."""
    found = _checkout(session)
    if found is None:
        return "ignored_unknown_checkout"
    paid = session.get("payment_status") == "paid"
    billing.advance_checkout(
        found,
        "complete" if paid else "pending",
        payment_intent_id=payload.ref(session.get("payment_intent")),
        invoice_id=payload.ref(session.get("invoice")),
    )
    if found.mode == "subscription":
        _record_plan(found, payload.ref(session.get("subscription")), paid)
        return "subscription_recorded"
    if not paid:
        return "awaiting_payment"
    what = f"package {found.package_id}" if found.package_id else f"{found.credits} credits"
    entry = services.grant_within(
        found.wallet_id,
        found.credits,
        PURCHASE,
        stripe_ref=found.id,
        client_id=found.client_id,
        reason=f"purchase of {what} (checkout {found.id})",
    )
    return "granted" if entry else "already_granted"


def _record_plan(found: CheckoutSession, subscription_id: str | None, paid: bool) -> None:
    """The subscription a plan's checkout started (its events may not have come yet)."""
    if subscription_id:
        billing.record_subscription_within(
            found.wallet_id,
            subscription_id,
            package_id=found.package_id,
            client_id=found.client_id,
            status="active" if paid else "incomplete",
        )


def checkout_failed(event: dict, session: dict) -> str:
    """``async_payment_failed``: the bank declined after the checkout completed."""
    found = billing.checkout(session.get("id"))
    if found is None:
        return "ignored_unknown_checkout"
    billing.advance_checkout(found, "failed")
    return "checkout_failed"


def checkout_expired(event: dict, session: dict) -> str:
    """``checkout.session.expired``: the customer never paid."""
    found = billing.checkout(session.get("id"))
    if found is None:
        return "ignored_unknown_checkout"
    billing.advance_checkout(found, "expired")
    return "checkout_expired"


def invoice_paid(event: dict, invoice: dict) -> str:
    """A plan's period is paid: grant its credits once per invoice (kind
    ``subscription_grant``).  The billed price names the plan, so a plan changed in the
    billing portal grants the new plan's credits; the metadata we set is the fallback."""
    if payload.invoice_subscription(invoice) is None or not isinstance(invoice.get("id"), str):
        return "ignored_not_subscription"
    if invoice.get("billing_reason", "subscription_cycle") not in _GRANTING_REASONS:
        return "ignored_billing_reason"
    meta = payload.invoice_metadata(invoice)
    wallet_id = _wallet_id(invoice.get("customer"), meta)
    if wallet_id is None:
        return "ignored_unknown_customer"
    plan = _plan(payload.invoice_prices(invoice), meta)
    credits = plan.credits if plan else payload.positive_int(meta.get("credits"))
    if not credits:
        return "ignored_unknown_plan"
    entry = services.grant_within(
        wallet_id,
        credits,
        SUBSCRIPTION_GRANT,
        stripe_ref=invoice["id"],
        client_id=payload.short(meta.get("client_id"), 64),
        reason=f"plan {plan.id if plan else meta.get('package_id')} (invoice {invoice['id']})",
        lot=lots.terms_for(SUBSCRIPTION_GRANT, utcnow(), period_end=_period_end(invoice)),
    )
    return "granted" if entry else "already_granted"


def _period_end(invoice: dict):
    """The end of the period an invoice pays for (its subscription line's period), when
    the plan's credits expire (plus the rollover, wallet.lots); None if it names none."""
    ends = [
        payload.obj(payload.obj(line).get("period")).get("end")
        for line in payload.obj(invoice.get("lines")).get("data") or []
    ]
    ends = [end for end in ends if isinstance(end, int) and not isinstance(end, bool)]
    return billing.from_epoch(max(ends)) if ends else None


def subscription_changed(event: dict, sub: dict) -> str:
    """``customer.subscription.created/updated/deleted``: upsert status, period end and
    ``cancel_at_period_end``, unless a newer event was applied already."""
    meta = payload.metadata(sub)
    wallet_id = _wallet_id(sub.get("customer"), meta)
    if wallet_id is None or not isinstance(sub.get("id"), str):
        return "ignored_unknown_customer"
    deleted = event["type"] == "customer.subscription.deleted"
    plan = _plan(payload.subscription_prices(sub), meta)
    status = "canceled" if deleted else (payload.short(sub.get("status"), 32) or "incomplete")
    applied = billing.apply_subscription_event(
        wallet_id,
        sub["id"],
        event["created"],
        status=status,
        current_period_end=billing.from_epoch(payload.period_end(sub)),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        package_id=plan.id if plan else None,
        client_id=payload.short(meta.get("client_id"), 64),
    )
    if applied:  # a partner event in this transaction (idp.core.events_hook)
        shown = {"status": status, "plan": plan.id if plan else None}
        emit("subscription.updated", db.session.get(Wallet, wallet_id).user_id, shown)
    return "applied" if applied else "ignored_stale"


def charge_refunded(event: dict, charge: dict) -> str:
    """Take back credits in proportion to the refunded share of the purchase's charge.

    Each cumulative ``amount_refunded`` is applied once (reference ``<charge>:<amount>``),
    the delta against the largest state already applied, so two partial refunds take
    their shares and a retry takes nothing.  Credits already spent are not recovered:
    ``claw_back_within`` takes what is available, records the shortfall in the entry's
    reason, and the balance never goes negative."""
    found = billing.checkout_by_payment_intent(payload.ref(charge.get("payment_intent")))
    charge_id, amount = charge.get("id"), charge.get("amount")
    refunded = charge.get("amount_refunded")
    if found is None or found.mode != "payment" or not billing.has_entry(PURCHASE, found.id):
        return "ignored_unknown_payment"
    if not isinstance(charge_id, str) or not isinstance(amount, int) or amount <= 0:
        return "ignored_malformed"
    if not isinstance(refunded, int) or refunded <= 0:
        return "ignored_not_refunded"
    return _claw_back(found, charge, min(refunded, amount))


def _claw_back(found: CheckoutSession, charge: dict, refunded: int) -> str:
    """Take what the refunded share owes beyond what earlier refunds of the charge took."""
    charge_id, amount = charge["id"], charge["amount"]
    services.lock_wallet(found.wallet_id)  # one refund state of a wallet at a time
    before = billing.refunded_so_far(charge_id)
    if refunded <= before:
        return "ignored_already_refunded"
    owed = found.credits * refunded // amount - found.credits * before // amount
    if owed <= 0:
        return "nothing_to_claw_back"
    currency = str(charge.get("currency") or "").upper()
    entry = services.claw_back_within(
        found.wallet_id,
        owed,
        f"{charge_id}:{refunded}",
        f"refund of {charge_id}: {refunded}/{amount} {currency}".strip(),
        client_id=found.client_id,
        purchase_ref=found.id,  # the purchase's own lot first
    )
    return "clawed_back" if entry else "already_clawed_back"


def _checkout(session: dict) -> CheckoutSession | None:
    """Our record of the session; rebuilt from its metadata (which we set) if the row was
    lost after Stripe created the session, so a paying customer is never ignored."""
    found = billing.checkout(session.get("id"))
    if found is not None:
        return found
    meta = payload.metadata(session)
    wallet_id = _wallet_id(session.get("customer"), meta)
    credits = payload.positive_int(meta.get("credits"))
    if wallet_id is None or not credits or session.get("mode") not in ("payment", "subscription"):
        return None
    return billing.record_checkout_within(
        session["id"],
        wallet_id,
        package_id=payload.short(meta.get("package_id"), 64),
        client_id=payload.short(meta.get("client_id"), 64),
        credits=credits,
        mode=session["mode"],
    )


def _wallet_id(customer: object, meta: dict) -> int | None:
    """By Stripe customer (stored when the first checkout started), else by the user's
    ``sub`` in the metadata."""
    found = billing.wallet_id_by_customer(payload.ref(customer))
    if found is not None:
        return found
    sub = meta.get("user_sub")
    user = users.by_sub(sub) if isinstance(sub, str) else None
    return billing.wallet_id_of_user(user.id) if user is not None else None


def _plan(prices: list[str], meta: dict) -> Package | None:
    for price in prices:
        found = packages.by_price(price)
        if found is not None and found.interval:
            return found
    try:
        found = packages.get(meta.get("package_id"), active_only=False)
    except PackageNotFound:
        return None
    return found if found.interval else None
