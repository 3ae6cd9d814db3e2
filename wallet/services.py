"""Wallet operations that change or read a balance: consume, grants, refunds, history.

Views, the CLI and webhooks call these; every balance change goes through ``ledger``.
Holds live in ``holds``, the ledger audit in ``audit``, request validation and response
shapes in ``schemas``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.events_hook import emit
from idp.core.extensions import db

from . import holds, ledger, lots, schemas
from .errors import WalletError
from .ledger import Change
from .models import ADJUSTMENT, CONSUME, PROMO_GRANT, PURCHASE, REFUND, LedgerEntry, Lot, Wallet


def summary(wallet: Wallet) -> dict:
    """Balance, held and available credits, after releasing any expired hold and
    expiring any lot past its expiry."""
    holds.settle_expiries(wallet)
    db.session.refresh(wallet)
    return {
        "balance": wallet.balance,
        "held": wallet.held,
        "available": wallet.balance - wallet.held,
    }


def credits(wallet: Wallet) -> dict:
    """:func:`summary` with the lots' breakdown by category and the next expiry."""
    state = summary(wallet)
    return {**state, **lots.breakdown(wallet.id)}


def after(entry: LedgerEntry | Row) -> dict:
    """Balance, held and available credits as a new entry left them."""
    return {
        "balance": entry.balance_after,
        "held": entry.held_after,
        "available": entry.balance_after - entry.held_after,
    }


def consume(
    user_id: int, amount: int, service: str, key: str, client_id: str | None, actor: str
) -> tuple[LedgerEntry | Row, bool, dict]:
    """Spend credits now from the user's wallet (idempotent per app and key).  Returns the
    entry, whether it replays an earlier one, and the wallet's state (:func:`summary`)."""
    change = Change(
        CONSUME,
        amount=-amount,
        actor=actor,
        client_id=client_id,
        service=service,
        idempotency_key=key,
        request={"op": "consume", "amount": amount, "service": service},
    )
    entry = ledger.spend(user_id, change)
    if entry is not None:
        return entry, False, after(entry)
    # No wallet yet, too few credits, an expired hold to release, or a reused key: the
    # full path (the same change) tells these apart.
    wallet = ledger.wallet_for(user_id)
    holds.settle_expiries(wallet)
    entry, replayed = ledger.apply_once(wallet.id, change)
    if replayed:
        entry.lots = lots.of_entries([entry.id])[entry.id]
    return entry, replayed, summary(wallet) if replayed else after(entry)


def grant(
    wallet: Wallet,
    credits: int,
    kind: str,
    actor: str,
    *,
    client_id=None,
    stripe_ref=None,
    reason=None,
    lot: lots.Terms | None = None,
) -> tuple[LedgerEntry, bool]:
    """Add credits (a new lot: ``lot``, or the defaults of ``kind``); with a Stripe
    reference, at most once per reference and kind."""
    return ledger.apply_once(
        wallet.id,
        Change(
            kind,
            amount=credits,
            actor=actor,
            client_id=client_id,
            stripe_ref=stripe_ref,
            reason=reason,
            lot=lot,
        ),
    )


def operator_grant(
    wallet: Wallet,
    credits: int,
    reason: str,
    actor: str,
    *,
    expires_in_days: int | None = None,
    priority: int | None = None,
) -> LedgerEntry:
    """Promotional credits from an operator (``flask wallet grant``): a lot expiring after
    ``expires_in_days`` (None: ``IDP_WALLET_PROMO_EXPIRY_DAYS``; 0: never), drawn by
    ``priority``; the partner event ``credits.granted`` commits with it."""
    now = utcnow()
    terms = lots.terms_for(PROMO_GRANT, now, priority=priority)
    if expires_in_days is not None:
        expiry = now + timedelta(days=expires_in_days) if expires_in_days else None
        terms = lots.Terms(terms.category, terms.priority, expiry)
    change = Change(PROMO_GRANT, amount=credits, actor=actor, reason=reason, lot=terms)
    try:
        entry = ledger.apply(wallet.id, change)
        emit("credits.granted", wallet.user_id, {"credits": credits, "category": terms.category})
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return entry


def adjust(wallet: Wallet, amount: int, reason: str, actor: str) -> LedgerEntry:
    """Operator correction (signed); cannot take the wallet below its held credits."""
    if not reason or not reason.strip():
        raise WalletError("a reason is required", field="reason")
    change = Change(ADJUSTMENT, amount=amount, actor=actor, reason=reason.strip())
    if amount < 0:
        holds.settle_expiries(wallet)  # expired credits are not there to be taken
    try:
        entry = ledger.apply(wallet.id, change)
    except Exception:
        db.session.rollback()  # too few credits, or a change listener refused it
        raise
    db.session.commit()
    return entry


def grant_within(
    wallet_id: int,
    credits: int,
    kind: str,
    *,
    stripe_ref: str,
    client_id=None,
    reason=None,
    lot: lots.Terms | None = None,
) -> LedgerEntry | None:
    """:func:`grant` for a webhook: joins the caller's transaction instead of committing,
    so the ``stripe_events`` row and the credits commit together or not at all.

    Returns None when this (kind, Stripe reference) was granted already, by another event
    about the same object: the unique index decides, inside a savepoint so the collision
    does not abort the event's transaction."""
    change = Change(
        kind,
        amount=credits,
        actor="stripe",
        client_id=client_id,
        stripe_ref=stripe_ref,
        reason=reason,
        lot=lot,
    )
    entry = _apply_within(wallet_id, change)
    if entry is not None:  # a partner event in this transaction (idp.core.events_hook)
        event = "credits.purchased" if kind == PURCHASE else "credits.granted"
        emit(event, db.session.get(Wallet, wallet_id).user_id, {"credits": credits})
    return entry


def claw_back_within(
    wallet_id: int,
    credits: int,
    stripe_ref: str,
    reason: str,
    client_id=None,
    purchase_ref: str | None = None,
) -> LedgerEntry | None:
    """Take back refunded credits in the caller's transaction, from the refunded
    purchase's own lot first (the lot whose Stripe reference is ``purchase_ref``, the
    checkout), then in the draw order.  Credits already spent (or held) cannot be
    recovered: the entry takes at most the available credits, its reason records the
    shortfall, and the balance never goes negative.  The wallet row is locked first, so
    the available figure cannot move before the entry is written.  None when
    ``stripe_ref`` was applied already."""
    row = db.session.execute(
        select(Wallet.balance, Wallet.held).where(Wallet.id == wallet_id).with_for_update()
    ).one()
    own = None
    if purchase_ref is not None:
        own = db.session.scalar(
            select(Lot.id).where(Lot.wallet_id == wallet_id, Lot.stripe_ref == purchase_ref)
        )
    change = _refund_change(row.balance, row.held, credits, stripe_ref, reason, client_id, own)
    return _apply_within(wallet_id, change)


def _refund_change(
    balance: int,
    held: int,
    credits: int,
    stripe_ref: str,
    reason: str,
    client_id=None,
    own_lot: int | None = None,
) -> Change:
    take = min(credits, max(balance - held, 0))
    note = reason if take == credits else f"{reason}; {credits - take} credits already spent"
    return Change(
        REFUND,
        amount=-take,
        actor="stripe",
        client_id=client_id,
        stripe_ref=stripe_ref,
        reason=note[:255],
        draw_first=own_lot,
    )


def lock_wallet(wallet_id: int) -> None:
    """Hold the wallet row until the caller's transaction ends (PostgreSQL; SQLite has a
    single writer anyway): webhooks about one wallet then read and write one at a time."""
    db.session.execute(select(Wallet.id).where(Wallet.id == wallet_id).with_for_update())


def _apply_within(wallet_id: int, change: Change) -> LedgerEntry | None:
    try:
        with db.session.begin_nested():
            return ledger.apply(wallet_id, change)
    except IntegrityError:
        return None


def transactions(
    wallet: Wallet,
    *,
    client_id: str | None = None,
    before: int | None = None,
    limit: int = schemas.DEFAULT_PAGE,
) -> list[LedgerEntry]:
    """The wallet's entries, newest first: those older than ``before``, of ``client_id``."""
    query = select(LedgerEntry).where(LedgerEntry.wallet_id == wallet.id)
    if client_id:
        query = query.where(LedgerEntry.client_id == client_id)
    if before:
        query = query.where(LedgerEntry.id < before)
    found = list(db.session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit)))
    named = lots.of_entries([entry.id for entry in found])
    for entry in found:
        entry.lots = named[entry.id]  # the lots it opened or drew from
    return found
