"""Wallet operations: consume, holds, grants, refunds, history and the audit.

Views and webhooks call these; every balance change goes through ``ledger``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import ledger
from .errors import (
    HoldNotActive,
    HoldNotFound,
    InsufficientCredits,
    WalletError,
)
from .ledger import Change
from .models import (
    ADJUSTMENT,
    CAPTURE,
    CONSUME,
    EXPIRE,
    HOLD,
    REFUND,
    RELEASE,
    Hold,
    LedgerEntry,
    Wallet,
)

MAX_AMOUNT = 10**9
MAX_HOLD_TTL = 7 * 86400


def positive_amount(value: object, field: str = "amount") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        raise WalletError(
            f"{field} must be a whole number of credits from 1 to {MAX_AMOUNT}", field=field
        )
    return value


def idempotency_key(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise WalletError(
            "idempotency_key is required: 1-255 characters, unique per operation",
            field="idempotency_key",
        )
    return value


def service_name(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= 100:
        raise WalletError("service is required (1-100 characters)", field="service")
    return value.strip()


def summary(wallet: Wallet) -> dict:
    if wallet.held:  # only a wallet with holds can have one to expire
        expire_holds(wallet.id)
    db.session.refresh(wallet)
    return {
        "balance": wallet.balance,
        "held": wallet.held,
        "available": wallet.balance - wallet.held,
    }


def consume(
    wallet: Wallet, amount: int, service: str, key: str, client_id: str | None, actor: str
) -> tuple[LedgerEntry, bool]:
    """Spend credits now (idempotent per app and key)."""
    if wallet.held:
        expire_holds(wallet.id)
    request = {"op": "consume", "amount": amount, "service": service}
    return ledger.apply_once(
        wallet.id,
        Change(
            CONSUME,
            amount=-amount,
            actor=actor,
            client_id=client_id,
            service=service,
            idempotency_key=key,
            request=request,
        ),
    )


def hold(
    wallet: Wallet, amount: int, ttl: int, service: str, key: str, client_id: str | None, actor: str
) -> tuple[Hold, bool]:
    """Reserve credits for metered work until captured, released or expired."""
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 10 <= ttl <= MAX_HOLD_TTL:
        raise WalletError(f"ttl_seconds must be from 10 to {MAX_HOLD_TTL}", field="ttl_seconds")
    if wallet.held:
        expire_holds(wallet.id)
    hold_id = "hold_" + secrets.token_hex(12)
    request = {"op": "hold", "amount": amount, "ttl": ttl, "service": service}
    now = utcnow()
    change = Change(
        HOLD,
        held_delta=amount,
        actor=actor,
        client_id=client_id,
        service=service,
        idempotency_key=key,
        request=request,
        hold_id=hold_id,
    )
    reservation = Hold(
        id=hold_id,
        wallet_id=wallet.id,
        client_id=client_id,
        service=service,
        amount=amount,
        captured=0,
        status="active",
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    entry, replayed = ledger.apply_once(wallet.id, change, lambda _: db.session.add(reservation))
    return db.session.get(Hold, entry.hold_id), replayed


def get_hold(hold_id: str, wallet: Wallet, client_id: str | None) -> Hold:
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
    _settle(found, "released", RELEASE, 0, actor)
    return found


def _settle(found: Hold, status: str, kind: str, amount: int, actor: str, captured=0) -> None:
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
    ledger.apply(
        found.wallet_id,
        Change(
            kind,
            amount=amount,
            held_delta=-found.amount,
            actor=actor,
            client_id=found.client_id,
            service=found.service,
            hold_id=found.id,
        ),
    )
    db.session.commit()
    db.session.refresh(found)


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


def grant(
    wallet: Wallet,
    credits: int,
    kind: str,
    actor: str,
    *,
    client_id=None,
    stripe_ref=None,
    reason=None,
) -> tuple[LedgerEntry, bool]:
    """Add credits; with a Stripe reference, at most once per reference and kind."""
    return ledger.apply_once(
        wallet.id,
        Change(
            kind,
            amount=credits,
            actor=actor,
            client_id=client_id,
            stripe_ref=stripe_ref,
            reason=reason,
        ),
    )


def adjust(wallet: Wallet, amount: int, reason: str, actor: str) -> LedgerEntry:
    """Operator correction (signed); cannot take the wallet below its held credits."""
    if not reason or not reason.strip():
        raise WalletError("a reason is required", field="reason")
    entry = ledger.apply(
        wallet.id, Change(ADJUSTMENT, amount=amount, actor=actor, reason=reason.strip())
    )
    db.session.commit()
    return entry


def claw_back(wallet: Wallet, credits: int, stripe_ref: str, reason: str) -> LedgerEntry | None:
    """Take back refunded credits.  Credits already spent cannot be recovered: the entry
    takes what is available and its reason records the shortfall (balance never < 0)."""
    db.session.refresh(wallet)
    change = _refund_change(wallet.balance, wallet.held, credits, stripe_ref, reason)
    try:
        entry, _ = ledger.apply_once(wallet.id, change)
    except InsufficientCredits:
        return None
    return entry


def _refund_change(
    balance: int, held: int, credits: int, stripe_ref: str, reason: str, client_id=None
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
    )


def grant_within(
    wallet_id: int, credits: int, kind: str, *, stripe_ref: str, client_id=None, reason=None
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
    )
    return _apply_within(wallet_id, change)


def claw_back_within(
    wallet_id: int, credits: int, stripe_ref: str, reason: str, client_id=None
) -> LedgerEntry | None:
    """:func:`claw_back`'s rule in the caller's transaction: takes at most the available
    credits (the rest was spent or is held; the entry's reason records the shortfall, the
    balance never goes negative).  The wallet row is locked first, so the available figure
    cannot move before the entry is written.  None when ``stripe_ref`` was applied already."""
    row = db.session.execute(
        select(Wallet.balance, Wallet.held).where(Wallet.id == wallet_id).with_for_update()
    ).one()
    change = _refund_change(row.balance, row.held, credits, stripe_ref, reason, client_id)
    return _apply_within(wallet_id, change)


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
    wallet: Wallet, *, client_id: str | None = None, before: int | None = None, limit: int = 50
) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.wallet_id == wallet.id)
    if client_id:
        query = query.where(LedgerEntry.client_id == client_id)
    if before:
        query = query.where(LedgerEntry.id < before)
    return list(db.session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit)))


def audit() -> list[dict]:
    """Recompute every wallet from its ledger; returns the differences (should be none)."""
    # int(): on PostgreSQL SUM over BIGINT is NUMERIC (Decimal), which JSON cannot encode.
    sums = dict(
        (row.wallet_id, (int(row.balance), int(row.held)))
        for row in db.session.execute(
            select(
                LedgerEntry.wallet_id,
                func.sum(LedgerEntry.amount).label("balance"),
                func.sum(LedgerEntry.held_delta).label("held"),
            ).group_by(LedgerEntry.wallet_id)
        )
    )
    active = {
        wallet_id: int(total)
        for wallet_id, total in db.session.execute(
            select(Hold.wallet_id, func.sum(Hold.amount))
            .where(Hold.status == "active")
            .group_by(Hold.wallet_id)
        )
    }
    problems = []
    for wallet in db.session.scalars(select(Wallet).order_by(Wallet.id)):
        balance, held = sums.get(wallet.id, (0, 0))
        expected_held = active.get(wallet.id, 0)
        if (wallet.balance, wallet.held) != (balance, held) or held != expected_held:
            problems.append(
                {
                    "wallet_id": wallet.id,
                    "user_id": wallet.user_id,
                    "stored": [wallet.balance, wallet.held],
                    "from_ledger": [balance, held],
                    "active_holds": expected_held,
                }
            )
        problems.extend(_chain_breaks(wallet))
    return problems


def _chain_breaks(wallet: Wallet) -> list[dict]:
    """Each entry's ``balance_after`` must follow from the previous one plus its amount."""
    breaks, balance, held = [], 0, 0
    for entry in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.wallet_id == wallet.id).order_by(LedgerEntry.id)
    ):
        balance += entry.amount
        held += entry.held_delta
        if (entry.balance_after, entry.held_after) != (balance, held):
            breaks.append(
                {
                    "wallet_id": wallet.id,
                    "entry_id": entry.id,
                    "recorded_after": [entry.balance_after, entry.held_after],
                    "recomputed": [balance, held],
                }
            )
            balance, held = entry.balance_after, entry.held_after
    return breaks


def entry_to_dict(entry: LedgerEntry, viewer_client_id: str | None = None) -> dict:
    """An entry as the API shows it; another app's consumption detail is withheld."""
    own = viewer_client_id is None or entry.client_id == viewer_client_id
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount": entry.amount,
        "held_delta": entry.held_delta,
        "balance_after": entry.balance_after,
        "available_after": entry.balance_after - entry.held_after,
        "client_id": entry.client_id if own else None,
        "service": entry.service if own else None,
        "hold_id": entry.hold_id if own else None,
        "reason": entry.reason if own else None,
        "created_at": entry.created_at.isoformat(),
    }


def hold_to_dict(found: Hold) -> dict:
    return {
        "id": found.id,
        "amount": found.amount,
        "captured": found.captured,
        "status": found.status,
        "service": found.service,
        "expires_at": found.expires_at.isoformat(),
    }
