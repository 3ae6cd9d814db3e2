"""Helpers of the credit-lot tests: a controllable clock, grants with chosen terms, a
purchase and its refund as the webhooks record them, and what lots and draws hold."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from idp.core.db_types import utcnow
from idp.core.extensions import db
from wallet import billing, holds, ledger, lots, services, webhook_handlers
from wallet.models import PROMO_GRANT, PURCHASE, SUBSCRIPTION_GRANT, LedgerEntry, Lot, LotDraw

# Every wallet module that reads the time: the clock replaces each one's ``utcnow``.
_CLOCKED = (ledger, lots, services, holds)


class Clock:
    """The wallet's time, moved by the test (``advance``); starts at the real now."""

    def __init__(self, monkeypatch) -> None:
        self.now = utcnow()
        for module in _CLOCKED:
            monkeypatch.setattr(module, "utcnow", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def grant(wallet, credits: int, *, days: int | None = None, priority: int = 0, kind=PROMO_GRANT):
    """A grant whose lot expires after ``days`` (None: never); returns its lot."""
    now = lots.utcnow()
    expiry = now + timedelta(days=days) if days is not None else None
    terms = lots.Terms(lots.CATEGORY[kind], priority, expiry)
    entry, _ = services.grant(wallet, credits, kind, "test", reason="test", lot=terms)
    return lot_of(entry.id)


def lot_of(entry_id: int) -> Lot:
    db.session.expire_all()
    return db.session.scalar(select(Lot).where(Lot.entry_id == entry_id))


def remaining(*found: Lot) -> list[int]:
    db.session.expire_all()
    return [db.session.get(Lot, lot.id).remaining for lot in found]


def draws_of(entry_id: int) -> list[tuple[int, int]]:
    rows = db.session.execute(
        select(LotDraw.lot_id, LotDraw.amount)
        .where(LotDraw.entry_id == entry_id)
        .order_by(LotDraw.id)
    )
    return [tuple(row) for row in rows]


def last_entry(wallet_id: int, kind: str) -> LedgerEntry:
    db.session.expire_all()
    return db.session.scalar(
        select(LedgerEntry)
        .where(LedgerEntry.wallet_id == wallet_id, LedgerEntry.kind == kind)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )


def purchase(wallet, credits: int, checkout_id: str, payment_intent: str) -> Lot:
    """A paid one-off purchase as the checkout webhook records it (the checkout row with its
    payment, the purchase entry naming the checkout); returns its lot."""
    billing.record_checkout(
        checkout_id, wallet.id, package_id=None, client_id=None, credits=credits, mode="payment"
    )
    found = billing.checkout(checkout_id)
    billing.advance_checkout(found, "complete", payment_intent_id=payment_intent)
    entry = services.grant_within(wallet.id, credits, PURCHASE, stripe_ref=checkout_id)
    db.session.commit()
    return lot_of(entry.id)


def subscription_grant(wallet, credits: int, invoice_id: str, period_end=None) -> Lot:
    terms = lots.terms_for(SUBSCRIPTION_GRANT, lots.utcnow(), period_end=period_end)
    entry = services.grant_within(
        wallet.id, credits, SUBSCRIPTION_GRANT, stripe_ref=invoice_id, lot=terms
    )
    db.session.commit()
    return lot_of(entry.id)


def refund(payment_intent: str, charge_id: str, amount: int, refunded: int) -> str:
    """``charge.refunded`` for the purchase paid by ``payment_intent``."""
    charge = {
        "id": charge_id,
        "payment_intent": payment_intent,
        "amount": amount,
        "amount_refunded": refunded,
        "currency": "usd",
    }
    outcome = webhook_handlers.charge_refunded({"type": "charge.refunded"}, charge)
    db.session.commit()
    return outcome
