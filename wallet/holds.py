"""Holds: credits reserved for metered work until captured, released or expired.

A hold moves credits from available to held with a ledger entry; settling it (capture,
release or expiry) claims the ``holds`` row with one conditional UPDATE, so exactly one
of two concurrent settlements wins, and writes the matching entry in the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update

from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import ledger, schemas
from .errors import HoldNotActive, HoldNotFound, WalletError
from .ledger import Change
from .models import CAPTURE, EXPIRE, HOLD, RELEASE, Hold, Wallet


def hold(
    wallet: Wallet, amount: int, ttl: int, service: str, key: str, client_id: str | None, actor: str
) -> tuple[Hold, bool]:
    """Reserve credits for metered work until captured, released or expired."""
    ttl = schemas.hold_ttl(ttl)
    settle_expiries(wallet)  # a hold must not reserve expired credits
    hold_id = "hold_" + secrets.token_hex(12)
    change = Change(
        HOLD,
        held_delta=amount,
        actor=actor,
        client_id=client_id,
        service=service,
        idempotency_key=key,
        request={"op": "hold", "amount": amount, "ttl": ttl, "service": service},
        hold_id=hold_id,
    )
    reservation = _new_hold(hold_id, wallet.id, client_id, service, amount, ttl)
    entry, replayed = ledger.apply_once(wallet.id, change, lambda _: db.session.add(reservation))
    return db.session.get(Hold, entry.hold_id), replayed


def _new_hold(hold_id, wallet_id, client_id, service, amount, ttl) -> Hold:
    now = utcnow()
    return Hold(
        id=hold_id,
        wallet_id=wallet_id,
        client_id=client_id,
        service=service,
        amount=amount,
        captured=0,
        status="active",
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )


def get(hold_id: str, wallet: Wallet, client_id: str | None) -> Hold:
    """The hold, if it is this wallet's and was placed by this app; else a 404."""
    found = db.session.get(Hold, hold_id) if isinstance(hold_id, str) else None
    if found is None or found.wallet_id != wallet.id or found.client_id != client_id:
        raise HoldNotFound()
    return found


def capture(found: Hold, amount: int, actor: str) -> Hold:
    """Charge up to the held amount; the rest goes back to the available balance."""
    if amount > found.amount:
        raise WalletError(
            f"cannot capture more than the {found.amount} credits held", field="amount"
        )
    _settle(found, "captured", CAPTURE, -amount, actor, captured=amount)
    return found


def release(found: Hold, actor: str) -> Hold:
    """Give the whole hold back to the available balance."""
    _settle(found, "released", RELEASE, 0, actor)
    return found


def settle_expiries(wallet: Wallet) -> None:
    """Release the wallet's expired holds, then expire its lots past their expiry (both
    only if it may have any): what every read and full-path change does first."""
    if wallet.held:  # only a wallet with holds can have one to expire
        expire_holds(wallet.id)
    if wallet.lots_expire_at is not None and wallet.lots_expire_at <= utcnow():
        ledger.expire(wallet.id)


def expire_holds(wallet_id: int | None = None) -> int:
    """Release every hold past its expiry (lazily per wallet on read, or all from cron)."""
    query = select(Hold).where(Hold.status == "active", Hold.expires_at <= utcnow())
    if wallet_id is not None:
        query = query.where(Hold.wallet_id == wallet_id)
    count = 0
    for found in db.session.scalars(query).all():
        try:
            _settle(found, "expired", EXPIRE, 0, "system:expiry")
            count += 1
        except HoldNotActive:
            pass  # settled concurrently
    return count


def _settle(found: Hold, status: str, kind: str, amount: int, actor: str, captured=0) -> None:
    """Claim the hold and write its settling entry: one transaction, committed here."""
    now = utcnow()
    conditions = [Hold.id == found.id, Hold.status == "active"]
    if kind != EXPIRE:
        conditions.append(Hold.expires_at > now)  # an expired hold can only be released
    claimed = db.session.execute(
        update(Hold).where(*conditions).values(status=status, captured=captured, settled_at=now)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise HoldNotActive()
    change = Change(
        kind,
        amount=amount,
        held_delta=-found.amount,
        actor=actor,
        client_id=found.client_id,
        service=found.service,
        hold_id=found.id,
    )
    try:
        ledger.apply(found.wallet_id, change)
    except Exception:
        db.session.rollback()  # a change listener refused it: the hold stays active
        raise
    db.session.commit()
    db.session.refresh(found)
