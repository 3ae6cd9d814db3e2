"""The ledger: the only code that changes a wallet, always together with a new entry.

Every change is one conditional UPDATE of the wallet row (``balance``/``held``
with the bounds in its WHERE clause, so concurrent writers can never overdraw)
followed by one INSERT into ``ledger_entries``, in one transaction.  Idempotency
is the unique index on (wallet, app, key): a retry collides, rolls back, and is
answered from the entry that won.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db

from .errors import IdempotencyConflict, InsufficientCredits
from .models import LedgerEntry, Wallet


@dataclass(frozen=True)
class Change:
    """What one entry does, and everything it records about why."""

    kind: str
    amount: int = 0  # signed change of balance
    held_delta: int = 0  # signed change of held credits
    actor: str = "system"
    client_id: str | None = None
    service: str | None = None
    idempotency_key: str | None = None
    request: dict | None = None  # hashed, to detect a reused key with a different body
    hold_id: str | None = None
    stripe_ref: str | None = None
    reason: str | None = None


def request_hash(request: dict | None) -> str | None:
    """SHA-256 of the request as canonical JSON (a reused key with another body differs)."""
    if request is None:
        return None
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def wallet_for(user_id: int) -> Wallet:
    """The user's wallet, created empty on first use."""
    wallet = db.session.scalar(select(Wallet).where(Wallet.user_id == user_id))
    if wallet is not None:
        return wallet
    now = utcnow()
    db.session.add(Wallet(user_id=user_id, balance=0, held=0, created_at=now, updated_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # created concurrently
    return db.session.scalar(select(Wallet).where(Wallet.user_id == user_id))


def apply(wallet_id: int, change: Change) -> LedgerEntry:
    """Apply ``change`` and append its entry (not committed).  Raises
    :class:`InsufficientCredits` when it would leave fewer available credits than zero."""
    now = utcnow()
    balance, held = _move(wallet_id, change, now)
    entry = LedgerEntry(
        wallet_id=wallet_id,
        kind=change.kind,
        amount=change.amount,
        held_delta=change.held_delta,
        balance_after=balance,
        held_after=held,
        client_id=change.client_id,
        service=change.service,
        idempotency_key=change.idempotency_key,
        request_hash=request_hash(change.request),
        hold_id=change.hold_id,
        stripe_ref=change.stripe_ref,
        actor=change.actor,
        reason=change.reason,
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _move(wallet_id: int, change: Change, now) -> tuple[int, int]:
    """The wallet's (balance, held) after ``change``: one conditional UPDATE whose WHERE
    holds the bounds, so concurrent writers can never take it below zero available."""
    bounds = (
        Wallet.balance + change.amount >= Wallet.held + change.held_delta,
        Wallet.held + change.held_delta >= 0,
    )
    row = db.session.execute(
        update(Wallet)
        .where(Wallet.id == wallet_id, *bounds)
        .values(
            balance=Wallet.balance + change.amount,
            held=Wallet.held + change.held_delta,
            updated_at=now,
        )
        .returning(Wallet.balance, Wallet.held)
    ).first()
    if row is None:
        current = db.session.execute(
            select(Wallet.balance, Wallet.held).where(Wallet.id == wallet_id)
        ).one()
        raise InsufficientCredits(balance=current.balance, available=current.balance - current.held)
    return row.balance, row.held


def apply_once(
    wallet_id: int, change: Change, with_entry: Callable[[LedgerEntry], None] | None = None
) -> tuple[LedgerEntry, bool]:
    """Apply and commit, idempotently by key or Stripe reference.

    Returns (entry, replayed).  A retry with the same key and body gets the original
    entry back; the same key with another body raises :class:`IdempotencyConflict`.
    ``with_entry`` adds rows that belong to the entry (a hold) in the same transaction.
    """
    try:
        entry = apply(wallet_id, change)
        if with_entry is not None:
            with_entry(entry)
        db.session.commit()
        return entry, False
    except (IntegrityError, InsufficientCredits):
        db.session.rollback()
        existing = find_existing(wallet_id, change)
        if existing is None:
            raise
    if change.idempotency_key and existing.request_hash != request_hash(change.request):
        raise IdempotencyConflict()
    return existing, True


def find_existing(wallet_id: int, change: Change) -> LedgerEntry | None:
    """The entry an earlier attempt of ``change`` wrote (by key or Stripe reference)."""
    if change.idempotency_key:
        return db.session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.wallet_id == wallet_id,
                LedgerEntry.client_id == change.client_id,
                LedgerEntry.idempotency_key == change.idempotency_key,
            )
        )
    if change.stripe_ref:
        return db.session.scalar(
            select(LedgerEntry).where(
                LedgerEntry.kind == change.kind, LedgerEntry.stripe_ref == change.stripe_ref
            )
        )
    return None
