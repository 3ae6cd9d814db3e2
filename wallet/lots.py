"""Credit lots: the grants a wallet's balance is made of, and the order they are drawn in.

Every credit-adding entry (purchase, subscription grant, promotional grant, positive
adjustment) opens one lot (``credit_lots``): its amount, what is left of it, a category
(``paid`` or ``promotional``), a priority, when it became drawable and when it expires.
Every entry that takes credits (consume, capture, refund, expiry, negative adjustment)
records what it took from which lot as ``credit_lot_draws`` rows, so the wallet's
``balance`` is always the sum of its lots' ``remaining`` and the audit can recompute each
lot from its entries.

**The draw order**, one for every path (the consume's one-statement short path in
``ledger`` orders by the same columns):

1. lower ``priority`` first;
2. then the soonest ``expires_at`` (a lot that never expires comes after all that do);
3. then promotional before paid;
4. then the oldest (lowest id).

Only unexpired lots are drawn, with two exceptions: a capture takes expired lots first
(credits a hold reserved before its lot expired: expiry leaves a wallet's held credits
alone, see :func:`wallet.ledger.expire`), and a refund takes from the refunded purchase's
own lot first.

Draws are a table rather than a JSON column on the entry: the migration can give the
entries written before lots existed their draws without touching the append-only ledger,
the audit sums draws per lot in SQL, and a lot's history is one indexed query.

Expiry writes an ``expire`` entry per wallet that draws the expired lots' remaining credits
(the job ``flask wallet expire``, and lazily before a wallet's state is read or changed on
the full path).  ``wallets.lots_expire_at`` is a lower bound of the soonest expiry among
lots still holding credits: the consume's short path runs only before it, so it never
has to expire anything itself.

Entries written by the previous deploy during a rollout (it knows nothing of lots) are
given their lot or draws by :func:`catch_up`: when a draw finds the lots short, and for
every wallet by ``flask wallet catch-up-lots``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, func, insert, or_, select, update

from idp.core.db_types import utcnow
from idp.core.extensions import db

from .models import (
    ADJUSTMENT,
    CAPTURE,
    PAID,
    PROMO_GRANT,
    PROMOTIONAL,
    PURCHASE,
    SUBSCRIPTION_GRANT,
    LedgerEntry,
    Lot,
    LotDraw,
    Wallet,
)

log = logging.getLogger(__name__)

# Which category the credits of each credit-adding kind are.
CATEGORY = {
    PURCHASE: PAID,
    SUBSCRIPTION_GRANT: PAID,
    PROMO_GRANT: PROMOTIONAL,
    ADJUSTMENT: PROMOTIONAL,
}

Draws = tuple[tuple[int, int], ...]  # (lot id, credits taken), in draw order


@dataclass(frozen=True)
class Terms:
    """What a new lot is: the defaults of its kind unless a grant says otherwise."""

    category: str
    priority: int = 0
    expires_at: datetime | None = None


def terms_for(
    kind: str,
    now: datetime,
    *,
    expires_at: datetime | None = None,
    priority: int | None = None,
    period_end: datetime | None = None,
) -> Terms:
    """A lot's terms: ``expires_at`` if given; else purchases after
    ``IDP_WALLET_PURCHASE_EXPIRY_DAYS``, promotional grants after
    ``IDP_WALLET_PROMO_EXPIRY_DAYS`` (0: never), subscription credits at the end of the
    period they pay for (``period_end``) plus ``IDP_WALLET_SUBSCRIPTION_ROLLOVER_DAYS``;
    adjustments (operator corrections) never."""
    if expires_at is None:
        expires_at = _default_expiry(kind, now, period_end)
    return Terms(CATEGORY.get(kind, PROMOTIONAL), priority or 0, expires_at)


def _default_expiry(kind: str, now: datetime, period_end: datetime | None) -> datetime | None:
    config = current_app.config
    if kind == SUBSCRIPTION_GRANT:
        if period_end is None:
            return None
        return period_end + timedelta(days=config["IDP_WALLET_SUBSCRIPTION_ROLLOVER_DAYS"])
    days = {
        PURCHASE: config["IDP_WALLET_PURCHASE_EXPIRY_DAYS"],
        PROMO_GRANT: config["IDP_WALLET_PROMO_EXPIRY_DAYS"],
    }.get(kind, 0)
    return now + timedelta(days=days) if days else None


def order_by(lots=None) -> tuple:
    """The draw order as SQL (the short path's statement uses these columns)."""
    c = (lots if lots is not None else Lot.__table__).c
    return (c.priority, c.expires_at.is_(None), c.expires_at, c.category == PAID, c.id)


def drawable(lots, now) -> tuple:
    """The lots an ordinary draw may take from: holding credits, in effect, unexpired."""
    c = lots.c
    return (
        c.remaining > 0,
        c.effective_from <= now,
        or_(c.expires_at.is_(None), c.expires_at > now),
    )


def open_lot(entry: LedgerEntry, terms: Terms, now: datetime) -> Lot:
    """The lot of a credit-adding entry (in the entry's transaction)."""
    lot = Lot(
        wallet_id=entry.wallet_id,
        entry_id=entry.id,
        category=terms.category,
        priority=terms.priority,
        amount=entry.amount,
        remaining=entry.amount,
        stripe_ref=entry.stripe_ref,
        effective_from=now,
        expires_at=terms.expires_at,
        created_at=now,
    )
    db.session.add(lot)
    if terms.expires_at is not None:
        wallets = Wallet.__table__
        db.session.execute(
            update(wallets)
            .where(
                wallets.c.id == entry.wallet_id,
                or_(
                    wallets.c.lots_expire_at.is_(None),
                    wallets.c.lots_expire_at > terms.expires_at,
                ),
            )
            .values(lots_expire_at=terms.expires_at)
        )
    db.session.flush()
    return lot


def _sort_key(lot, now: datetime, kind: str, first: int | None):
    expired = lot.expires_at is not None and lot.expires_at <= now
    # Captures take expired credits first (a hold reserved them); others last (only
    # when lots and balance disagree, which the audit reports).
    lead = 0 if lot.id == first else 1
    stale = (0 if expired else 1) if kind == CAPTURE else (1 if expired else 0)
    never = lot.expires_at is None
    return (lead, stale, lot.priority, never, lot.expires_at or now, lot.category == PAID, lot.id)


def plan(wallet_id: int, credits: int, now: datetime, kind: str, first: int | None = None) -> Draws:
    """Which lots ``credits`` come from, in the draw order, taking them (not committed).
    The caller has locked the wallet row (its UPDATE), so no other draw of this wallet
    runs meanwhile.  Lots short of ``credits`` (entries the previous deploy wrote without
    lots) are caught up first; what is still missing is left undrawn and logged."""
    taken = _take(wallet_id, credits, now, kind, first)
    missing = credits - sum(n for _, n in taken)
    if missing and catch_up(wallet_id):
        taken += _take(wallet_id, missing, now, kind, first)
        missing = credits - sum(n for _, n in taken)
    if missing:
        log.warning("wallet %s: lots short by %s credits of a %s", wallet_id, missing, kind)
    return tuple(taken)


def _take(wallet_id: int, credits: int, now: datetime, kind: str, first: int | None) -> list:
    lots = Lot.__table__
    rows = db.session.execute(
        select(lots.c.id, lots.c.remaining, lots.c.priority, lots.c.expires_at, lots.c.category)
        .where(lots.c.wallet_id == wallet_id, lots.c.remaining > 0, lots.c.effective_from <= now)
        .with_for_update()
    ).all()
    taken, left = [], credits
    for lot in sorted(rows, key=lambda lot: _sort_key(lot, now, kind, first)):
        if left <= 0:
            break
        n = min(left, lot.remaining)
        _reduce(lot.id, n)
        taken.append((lot.id, n))
        left -= n
    return taken


def _reduce(lot_id: int, credits: int) -> None:
    lots = Lot.__table__
    done = db.session.execute(
        update(lots)
        .where(lots.c.id == lot_id, lots.c.remaining >= credits)
        .values(remaining=lots.c.remaining - credits)
    )
    if done.rowcount != 1:  # the wallet lock makes this unreachable; never go below zero
        raise RuntimeError(f"lot {lot_id} has fewer than {credits} credits")


def take(draws: Draws) -> None:
    """Take explicitly chosen draws (expiry names its lots itself)."""
    for lot_id, n in draws:
        _reduce(lot_id, n)


def record(entry_id: int, draws: Draws) -> None:
    """The entry's draws (in its transaction)."""
    if draws:
        db.session.execute(
            insert(LotDraw.__table__),
            [{"entry_id": entry_id, "lot_id": lot, "amount": n} for lot, n in draws],
        )


# -- expiry ---------------------------------------------------------------------------


def expiry_draws(wallet_id: int, held: int, now: datetime) -> Draws:
    """What expiry takes from the wallet's expired lots (wallet row locked by the caller):
    everything but ``held`` credits, soonest expiry first, so the held ones stay in the
    lots a capture draws first."""
    lots = Lot.__table__
    rows = db.session.execute(
        select(lots.c.id, lots.c.remaining)
        .where(lots.c.wallet_id == wallet_id, lots.c.remaining > 0, lots.c.expires_at <= now)
        .order_by(lots.c.expires_at.desc(), lots.c.id.desc())
    ).all()
    # Keep ``held`` in the lots that expired last (the order reversed), take the rest.
    keep, draws = held, []
    for lot in rows:
        kept = min(keep, lot.remaining)
        keep -= kept
        if lot.remaining - kept:
            draws.append((lot.id, lot.remaining - kept))
    return tuple(reversed(draws))


def next_expiry_bound(wallet_id: int) -> datetime | None:
    """The soonest expiry among the wallet's lots that still hold credits (None: none)."""
    return db.session.scalar(
        select(func.min(Lot.expires_at)).where(
            Lot.wallet_id == wallet_id, Lot.remaining > 0, Lot.expires_at.is_not(None)
        )
    )


# -- the state of a wallet's lots -------------------------------------------------------


def breakdown(wallet_id: int, now: datetime | None = None) -> dict:
    """Unexpired credits by category and the next expiry (its date and how many credits
    expire then), as ``GET /api/cross-app/credits`` shows them."""
    now = now or utcnow()
    lots = Lot.__table__
    rows = db.session.execute(
        select(lots.c.category, lots.c.remaining, lots.c.expires_at).where(
            lots.c.wallet_id == wallet_id, *drawable(lots, now)
        )
    ).all()
    by_category = {PAID: 0, PROMOTIONAL: 0}
    for row in rows:
        by_category[row.category] += row.remaining
    dated = [row for row in rows if row.expires_at is not None]
    next_expiry = None
    if dated:
        at = min(row.expires_at for row in dated)
        amount = sum(row.remaining for row in dated if row.expires_at == at)
        next_expiry = {"amount": amount, "expires_at": at.isoformat()}
    return {"by_category": by_category, "next_expiry": next_expiry}


def of_entries(entry_ids: list[int]) -> dict[int, list[dict]]:
    """Per entry, the lots it names: the lot it opened (``amount`` positive) or those it
    drew from (negative), as the transactions list shows them."""
    found: dict[int, list[dict]] = {entry_id: [] for entry_id in entry_ids}
    if not entry_ids:
        return found
    for lot_id, entry_id, amount in db.session.execute(
        select(Lot.id, Lot.entry_id, Lot.amount).where(Lot.entry_id.in_(entry_ids))
    ):
        found[entry_id].append({"lot_id": lot_id, "amount": amount})
    for lot_id, entry_id, amount in db.session.execute(
        select(LotDraw.lot_id, LotDraw.entry_id, LotDraw.amount)
        .where(LotDraw.entry_id.in_(entry_ids))
        .order_by(LotDraw.id)
    ):
        found[entry_id].append({"lot_id": lot_id, "amount": -amount})
    return found


def holding(wallet_id: int) -> list[Lot]:
    """The wallet's lots that still hold credits, in the draw order (``flask wallet show``)."""
    return list(
        db.session.scalars(
            select(Lot).where(Lot.wallet_id == wallet_id, Lot.remaining > 0).order_by(*order_by())
        )
    )


def lot_to_dict(lot: Lot) -> dict:
    return {
        "id": lot.id,
        "category": lot.category,
        "priority": lot.priority,
        "amount": lot.amount,
        "remaining": lot.remaining,
        "effective_from": lot.effective_from.isoformat(),
        "expires_at": lot.expires_at.isoformat() if lot.expires_at else None,
    }


# -- entries the previous deploy wrote ----------------------------------------------------


def _untracked(wallet_id: int):
    """The wallet's entries that move its balance but have neither a lot nor draws."""
    entries = LedgerEntry.__table__
    return select(entries).where(
        entries.c.wallet_id == wallet_id,
        entries.c.amount != 0,
        ~exists().where(Lot.entry_id == entries.c.id),
        ~exists().where(LotDraw.entry_id == entries.c.id),
    )


def catch_up(wallet_id: int) -> int:
    """Give the wallet's entries written without lots (by the previous deploy during a
    rollout) their lot or their draws, oldest first, in the caller's transaction; returns
    how many.  Their lots never expire (nothing said they would)."""
    rows = db.session.execute(_untracked(wallet_id).order_by(LedgerEntry.id)).all()
    now = utcnow()
    for row in rows:
        if row.amount > 0:
            terms = Terms(CATEGORY.get(row.kind, PROMOTIONAL))
            open_lot(row, terms, row.created_at)
        else:
            record(row.id, tuple(_take(row.wallet_id, -row.amount, now, row.kind, None)))
    return len(rows)


def catch_up_all() -> int:
    """:func:`catch_up` for every wallet, committed per wallet (``flask wallet
    catch-up-lots``)."""
    entries = LedgerEntry.__table__
    wallets = db.session.scalars(
        select(entries.c.wallet_id)
        .where(
            entries.c.amount != 0,
            ~exists().where(Lot.entry_id == entries.c.id),
            ~exists().where(LotDraw.entry_id == entries.c.id),
        )
        .distinct()
    ).all()
    count = 0
    for wallet_id in wallets:
        db.session.execute(select(Wallet.id).where(Wallet.id == wallet_id).with_for_update())
        count += catch_up(wallet_id)
        db.session.commit()
    return count


def untracked_entries() -> list[int]:
    """Ids of entries with neither a lot nor draws (for the audit)."""
    entries = LedgerEntry.__table__
    return list(
        db.session.scalars(
            select(entries.c.id).where(
                entries.c.amount != 0,
                ~exists().where(Lot.entry_id == entries.c.id),
                ~exists().where(LotDraw.entry_id == entries.c.id),
            )
        )
    )
