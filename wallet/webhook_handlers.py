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

Payloads are read in the shapes of both current (2025+) and older Stripe API versions.
"""

from __future__ import annotations

from idp.users import services as users

from . import billing, packages, schemas, services
from .errors import PackageNotFound
from .models import PURCHASE, SUBSCRIPTION_GRANT, CheckoutSession, Package

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
        payment_intent_id=_id(session.get("payment_intent")),
        invoice_id=_id(session.get("invoice")),
    )
    if found.mode == "subscription":
        _record_plan(found, _id(session.get("subscription")), paid)
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
    if _invoice_subscription(invoice) is None or not isinstance(invoice.get("id"), str):
        return "ignored_not_subscription"
    if invoice.get("billing_reason", "subscription_cycle") not in _GRANTING_REASONS:
        return "ignored_billing_reason"
    meta = _invoice_metadata(invoice)
    wallet_id = _wallet_id(invoice.get("customer"), meta)
    if wallet_id is None:
        return "ignored_unknown_customer"
    plan = _plan(_invoice_prices(invoice), meta)
    credits = plan.credits if plan else _positive_int(meta.get("credits"))
    if not credits:
        return "ignored_unknown_plan"
    entry = services.grant_within(
        wallet_id,
        credits,
        SUBSCRIPTION_GRANT,
        stripe_ref=invoice["id"],
        client_id=_short(meta.get("client_id"), 64),
        reason=f"plan {plan.id if plan else meta.get('package_id')} (invoice {invoice['id']})",
    )
    return "granted" if entry else "already_granted"


def subscription_changed(event: dict, sub: dict) -> str:
    """``customer.subscription.created/updated/deleted``: upsert status, period end and
    ``cancel_at_period_end``, unless a newer event was applied already."""
    meta = _metadata(sub)
    wallet_id = _wallet_id(sub.get("customer"), meta)
    if wallet_id is None or not isinstance(sub.get("id"), str):
        return "ignored_unknown_customer"
    deleted = event["type"] == "customer.subscription.deleted"
    plan = _plan(_subscription_prices(sub), meta)
    applied = billing.apply_subscription_event(
        wallet_id,
        sub["id"],
        event["created"],
        status="canceled" if deleted else (_short(sub.get("status"), 32) or "incomplete"),
        current_period_end=billing.from_epoch(_period_end(sub)),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        package_id=plan.id if plan else None,
        client_id=_short(meta.get("client_id"), 64),
    )
    return "applied" if applied else "ignored_stale"


def charge_refunded(event: dict, charge: dict) -> str:
    """Take back credits in proportion to the refunded share of the purchase's charge.

    Each cumulative ``amount_refunded`` is applied once (reference ``<charge>:<amount>``),
    the delta against the largest state already applied, so two partial refunds take
    their shares and a retry takes nothing.  Credits already spent are not recovered:
    ``claw_back_within`` takes what is available, records the shortfall in the entry's
    reason, and the balance never goes negative."""
    found = billing.checkout_by_payment_intent(_id(charge.get("payment_intent")))
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
    )
    return "clawed_back" if entry else "already_clawed_back"


def _checkout(session: dict) -> CheckoutSession | None:
    """Our record of the session; rebuilt from its metadata (which we set) if the row was
    lost after Stripe created the session, so a paying customer is never ignored."""
    found = billing.checkout(session.get("id"))
    if found is not None:
        return found
    meta = _metadata(session)
    wallet_id = _wallet_id(session.get("customer"), meta)
    credits = _positive_int(meta.get("credits"))
    if wallet_id is None or not credits or session.get("mode") not in ("payment", "subscription"):
        return None
    return billing.record_checkout_within(
        session["id"],
        wallet_id,
        package_id=_short(meta.get("package_id"), 64),
        client_id=_short(meta.get("client_id"), 64),
        credits=credits,
        mode=session["mode"],
    )


def _wallet_id(customer: object, meta: dict) -> int | None:
    """By Stripe customer (stored when the first checkout started), else by the user's
    ``sub`` in the metadata."""
    found = billing.wallet_id_by_customer(_id(customer))
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


def _invoice_subscription(invoice: dict) -> str | None:
    details = (_dict(invoice.get("parent")).get("subscription_details")) or {}
    return _id(_dict(details).get("subscription")) or _id(invoice.get("subscription"))


def _invoice_metadata(invoice: dict) -> dict:
    details = _dict(_dict(invoice.get("parent")).get("subscription_details"))
    legacy = _dict(invoice.get("subscription_details"))
    return _metadata(details) or _metadata(legacy)


def _invoice_prices(invoice: dict) -> list[str]:
    prices = []
    for line in _dict(invoice.get("lines")).get("data") or []:
        line = _dict(line)
        details = _dict(_dict(line.get("pricing")).get("price_details"))
        price = _id(details.get("price")) or _id(line.get("price")) or _id(line.get("plan"))
        if price:
            prices.append(price)
    return prices


def _subscription_prices(sub: dict) -> list[str]:
    items = _dict(sub.get("items")).get("data") or []
    prices = [_id(_dict(item).get("price")) for item in items]
    return [p for p in [*prices, _id(sub.get("plan"))] if p]


def _period_end(sub: dict) -> int | None:
    """Top level before API version 2025-03-31; on the subscription items since."""
    if isinstance(sub.get("current_period_end"), int):
        return sub["current_period_end"]
    ends = [
        _dict(item).get("current_period_end") for item in _dict(sub.get("items")).get("data") or []
    ]
    ends = [e for e in ends if isinstance(e, int) and not isinstance(e, bool)]
    return max(ends, default=None)


def _id(value: object) -> str | None:
    """A Stripe reference, expanded (an object) or not (its id)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _metadata(obj: dict) -> dict:
    return _dict(obj.get("metadata"))


def _short(value: object, limit: int) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def _positive_int(value: object) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= schemas.MAX_AMOUNT else None
