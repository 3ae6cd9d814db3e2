"""Payment records: Stripe customers, checkouts we started, subscriptions, webhook events.

The SQL behind ``payments``, ``stripe_gateway`` and ``webhooks`` (kept out of
``services``, which holds the ledger-facing operations).  Functions named ``*_within``
and the webhook helpers join the caller's transaction: a webhook commits its
``stripe_events`` row together with its effect, or nothing at all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db

from .models import REFUND, CheckoutSession, LedgerEntry, StripeEvent, Subscription, Wallet

# Customers made by the simulated checkout (development) are replaced in Stripe mode.
SIMULATED_CUSTOMER_PREFIX = "cus_sim_"
# A checkout's status only moves forward, whatever order Stripe delivers its events in.
_STATUS_RANK = {"open": 0, "pending": 1, "complete": 2, "failed": 2, "expired": 2}
# Subscription statuses no later event at the same second may overwrite.
_TERMINAL = frozenset({"canceled", "incomplete_expired"})


def real_customer(wallet: Wallet) -> str | None:
    """The wallet's Stripe customer, unless it only exists in the simulated checkout."""
    found = wallet.stripe_customer_id
    return None if not found or found.startswith(SIMULATED_CUSTOMER_PREFIX) else found


def set_customer(wallet: Wallet, customer_id: str) -> str:
    """Store the wallet's customer once and commit: the customer exists at Stripe already,
    whatever happens to the checkout that follows."""
    stored = set_customer_within(wallet, customer_id)
    db.session.commit()
    return stored


def set_customer_within(wallet: Wallet, customer_id: str) -> str:
    """Store the wallet's customer once (a conditional UPDATE, so the first writer wins);
    not committed.  Returns the customer the wallet has now."""
    db.session.execute(
        update(Wallet)
        .where(
            Wallet.id == wallet.id,
            or_(
                Wallet.stripe_customer_id.is_(None),
                Wallet.stripe_customer_id.startswith(SIMULATED_CUSTOMER_PREFIX, autoescape=True),
            ),
        )
        .values(stripe_customer_id=customer_id)
    )
    db.session.refresh(wallet)
    return wallet.stripe_customer_id


def record_checkout(
    session_id: str, wallet_id: int, *, package_id, client_id, credits: int, mode: str
) -> CheckoutSession:
    """Remember a checkout we started: whose wallet, what it buys, for which app."""
    checkout = _new_checkout(session_id, wallet_id, package_id, client_id, credits, mode)
    db.session.add(checkout)
    db.session.commit()
    return checkout


def record_checkout_within(session_id: str, wallet_id: int, **fields) -> CheckoutSession:
    """The same, rebuilt from a webhook (the row was lost); not committed."""
    checkout = _new_checkout(session_id, wallet_id, **fields)
    db.session.add(checkout)
    db.session.flush()
    return checkout


def _new_checkout(session_id, wallet_id, package_id, client_id, credits, mode) -> CheckoutSession:
    return CheckoutSession(
        id=session_id,
        wallet_id=wallet_id,
        package_id=package_id,
        client_id=client_id,
        credits=credits,
        mode=mode,
        status="open",
        created_at=utcnow(),
    )


def checkout(session_id: object, wallet_id: int | None = None) -> CheckoutSession | None:
    """A checkout by Stripe id; with ``wallet_id``, only if it belongs to that wallet."""
    if not isinstance(session_id, str) or len(session_id) > 255:
        return None
    found = db.session.get(CheckoutSession, session_id)
    if found is None or (wallet_id is not None and found.wallet_id != wallet_id):
        return None
    return found


def checkout_by_payment_intent(payment_intent_id: str | None) -> CheckoutSession | None:
    """The checkout whose payment is ``payment_intent_id`` (a refund names only that)."""
    if not payment_intent_id:
        return None
    return db.session.scalar(
        select(CheckoutSession).where(CheckoutSession.payment_intent_id == payment_intent_id)
    )


def advance_checkout(found: CheckoutSession, status: str, **stripe_ids: str | None) -> None:
    """Move a checkout forward (never back: a late "pending" cannot undo "complete") and
    note the payment intent / invoice Stripe reported."""
    if _STATUS_RANK[status] > _STATUS_RANK.get(found.status, 0):
        found.status = status
    for name, value in stripe_ids.items():
        if value and getattr(found, name) is None:
            setattr(found, name, value)
    db.session.flush()


def wallet_id_by_customer(customer_id: object) -> int | None:
    """The wallet whose Stripe customer is ``customer_id``."""
    if not isinstance(customer_id, str) or not customer_id:
        return None
    return db.session.scalar(select(Wallet.id).where(Wallet.stripe_customer_id == customer_id))


def customer_of(wallet_id: int) -> str | None:
    """The wallet's Stripe (or simulated) customer id."""
    return db.session.scalar(select(Wallet.stripe_customer_id).where(Wallet.id == wallet_id))


def wallet_id_of_user(user_id: int) -> int | None:
    """The user's wallet id, if the user has one yet."""
    return db.session.scalar(select(Wallet.id).where(Wallet.user_id == user_id))


def add_event(event: dict) -> StripeEvent:
    """Claim an event id (flushed at once: a second delivery collides here, before any
    effect, and on PostgreSQL waits for the first one's transaction to end)."""
    row = StripeEvent(
        id=event["id"],
        type=event["type"],
        created=event["created"],
        received_at=utcnow(),
        outcome="processing",
        detail={"object": event["data"]["object"].get("id")},
    )
    db.session.add(row)
    db.session.flush()
    return row


def record_subscription_within(wallet_id: int, subscription_id: str, **fields) -> Subscription:
    """Create the subscription a checkout started if no event created it yet; an existing
    row keeps its status (subscription events are the authority) and gains what it lacks."""
    row = _subscription(subscription_id)
    if row is None:
        row = _insert_subscription(wallet_id, subscription_id, last_event_at=0, **fields)
        if row is not None:
            return row
        row = _subscription(subscription_id)
    for name in ("package_id", "client_id"):
        if fields.get(name) and getattr(row, name) is None:
            setattr(row, name, fields[name])
    db.session.flush()
    return row


def apply_subscription_event(
    wallet_id: int, subscription_id: str, event_created: int, **state
) -> bool:
    """Upsert a subscription from a Stripe event unless a newer one was applied already
    (Stripe does not guarantee delivery order: ``last_event_at`` is ``event.created``)."""
    row = _subscription(subscription_id)
    if row is None:
        if _insert_subscription(wallet_id, subscription_id, last_event_at=event_created, **state):
            return True
        row = _subscription(subscription_id)
    stale = event_created < row.last_event_at or (
        event_created == row.last_event_at and row.status in _TERMINAL
    )
    if stale:
        return False
    for name, value in state.items():
        if value is not None:  # what an event does not say stays as it was
            setattr(row, name, value)
    row.last_event_at = event_created
    row.updated_at = utcnow()
    db.session.flush()
    return True


def _subscription(subscription_id: str) -> Subscription | None:
    """The row, locked for this transaction (PostgreSQL): events about one subscription
    are applied one after the other."""
    return db.session.scalar(
        select(Subscription)
        .where(Subscription.stripe_subscription_id == subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _insert_subscription(wallet_id: int, subscription_id: str, **fields) -> Subscription | None:
    """Insert in a savepoint; None when a concurrent event inserted it first."""
    fields.setdefault("status", "incomplete")
    row = Subscription(
        wallet_id=wallet_id,
        stripe_subscription_id=subscription_id,
        updated_at=utcnow(),
        cancel_at_period_end=bool(fields.pop("cancel_at_period_end", False)),
        **fields,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row


def subscriptions(wallet_id: int) -> list[Subscription]:
    """The wallet's subscriptions, newest first."""
    return list(
        db.session.scalars(
            select(Subscription)
            .where(Subscription.wallet_id == wallet_id)
            .order_by(Subscription.id.desc())
        )
    )


def refunded_so_far(charge_id: str) -> int:
    """The largest cumulative ``amount_refunded`` of ``charge_id`` already applied.

    Refund entries carry ``<charge>:<amount_refunded>`` as their reference, so each refund
    state of a charge is applied once and a late, smaller state is recognised as old."""
    refs = db.session.scalars(
        select(LedgerEntry.stripe_ref).where(
            LedgerEntry.kind == REFUND,
            LedgerEntry.stripe_ref.startswith(f"{charge_id}:", autoescape=True),
        )
    )
    return max((int(ref.rsplit(":", 1)[1]) for ref in refs), default=0)


def has_entry(kind: str, stripe_ref: str | None) -> bool:
    """Whether an entry of ``kind`` with this Stripe reference exists."""
    if not stripe_ref:
        return False
    return (
        db.session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.kind == kind, LedgerEntry.stripe_ref == stripe_ref
            )
        )
        is not None
    )


def from_epoch(value: object) -> datetime | None:
    """A Stripe timestamp (Unix seconds) as an aware datetime; None if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, UTC)
