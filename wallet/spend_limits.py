"""Per-app spend limits: what a person lets one app spend from their wallet per UTC day
and per UTC calendar month.

Enforced in the transaction of the change (a ledger change listener, ``wallet.watch``)
by one UPDATE of the app's limit rows that counts the change into the current window
(starting it afresh when the window moved on) and returns what was spent: if a row is
over its cap the listener raises :class:`SpendLimitReached` and the whole change rolls
back, counter included.  The UPDATE takes the rows' locks, so concurrent consumes
through the same app count one after the other and never exceed the cap together.

What counts: a consume, and a hold when it is placed (a reservation spends the limit
as it does the balance); what a capture leaves uncaptured, or a released or expired
hold, is given back to the window the hold was counted in, if that window is still the
current one.  A capture itself never fails on a limit: its hold was counted already.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, case, delete, select, update

from idp.core.db_types import UTCDateTime, utcnow
from idp.core.extensions import db

from .errors import SpendLimitReached, WalletError
from .ledger import Applied
from .models import CAPTURE, CONSUME, EXPIRE, HOLD, RELEASE, Hold
from .preference_models import DAY, MONTH, PERIODS, SpendLimit

MAX_CAP = 10**12  # the same bound as any amount (wallet.schemas.MAX_AMOUNT's order)
_LIMITS = SpendLimit.__table__.c
_SETTLING = frozenset({CAPTURE, RELEASE, EXPIRE})


def window_start(period: str, now: datetime) -> datetime:
    """Start of the UTC day or month holding ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == DAY else day.replace(day=1)


def resets_at(period: str, now: datetime) -> datetime:
    """When the window holding ``now`` ends (the next one starts from zero)."""
    start = window_start(period, now)
    if period == DAY:
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


def _starts(now: datetime):
    """``window_start`` of each row's own period, as one SQL expression."""
    day = bindparam("day_start", window_start(DAY, now), type_=UTCDateTime())
    month = bindparam("month_start", window_start(MONTH, now), type_=UTCDateTime())
    return case((_LIMITS.period == DAY, day), else_=month)


def on_change(applied: Applied) -> None:
    """The listener's part for limits: count a consume or hold, give back a settled
    hold's uncaptured credits.  Only called for watched wallets."""
    client_id = applied.client_id
    if client_id is None:
        return
    kind, change = applied.kind, applied.change
    if kind == CONSUME:
        _count(applied.wallet_id, client_id, -change.amount)
    elif kind == HOLD:
        _count(applied.wallet_id, client_id, change.held_delta)
    elif kind in _SETTLING and change.hold_id:
        _give_back(applied.wallet_id, client_id, change.hold_id, change.amount - change.held_delta)


def _count(wallet_id: int, client_id: str, amount: int) -> None:
    """Count ``amount`` into the app's windows; refuse the change if a cap is passed."""
    if amount <= 0:
        return
    now = utcnow()
    start = _starts(now)
    rows = db.session.execute(
        update(SpendLimit.__table__)
        .where(_LIMITS.wallet_id == wallet_id, _LIMITS.client_id == client_id)
        .values(
            spent=case((_LIMITS.window_start == start, _LIMITS.spent), else_=0) + amount,
            window_start=start,
        )
        .returning(_LIMITS.period, _LIMITS.cap, _LIMITS.spent)
    ).all()
    over = [row for row in rows if row.spent > row.cap]
    if over:
        row = min(over, key=lambda r: PERIODS.index(r.period))  # the day's first
        raise SpendLimitReached(
            limit=row.cap,
            period=row.period,
            remaining=max(row.cap - (row.spent - amount), 0),
            resets_at=resets_at(row.period, now).isoformat().replace("+00:00", "Z"),
        )


def _give_back(wallet_id: int, client_id: str, hold_id: str, uncaptured: int) -> None:
    """Return a settled hold's uncaptured credits to the windows it was counted in."""
    found = db.session.get(Hold, hold_id)
    if found is None or uncaptured <= 0:
        return
    spent = _LIMITS.spent
    db.session.execute(
        update(SpendLimit.__table__)
        .where(
            _LIMITS.wallet_id == wallet_id,
            _LIMITS.client_id == client_id,
            _LIMITS.window_start == _starts(found.created_at),
            _LIMITS.created_at <= found.created_at,  # counted when it was placed
        )
        .values(spent=case((spent > uncaptured, spent - uncaptured), else_=0))
    )


# -- what the account page reads and writes ------------------------------------------


def limits_of(wallet_id: int) -> dict[str, dict[str, SpendLimit]]:
    """client id -> period -> limit row, for the account page."""
    shown: dict[str, dict[str, SpendLimit]] = {}
    rows = db.session.scalars(select(SpendLimit).where(SpendLimit.wallet_id == wallet_id))
    for row in rows:
        shown.setdefault(row.client_id, {})[row.period] = row
    return shown


def has_any(wallet_id: int) -> bool:
    found = select(SpendLimit.wallet_id).where(SpendLimit.wallet_id == wallet_id).limit(1)
    return db.session.scalar(found) is not None


def set_limits(wallet_id: int, client_id: str, caps: dict[str, int | None]) -> None:
    """Set (or with None remove) the app's daily and monthly caps; not committed.  What
    was spent in the current window still counts against a changed cap."""
    now = utcnow()
    for period in PERIODS:
        cap = caps.get(period)
        if cap is not None and not 0 < cap <= MAX_CAP:
            raise WalletError("A limit is a whole number of credits above zero.", field=period)
        key = (wallet_id, client_id, period)
        row = db.session.get(SpendLimit, key, with_for_update=True)
        if cap is None:
            db.session.execute(
                delete(SpendLimit).where(
                    SpendLimit.wallet_id == wallet_id,
                    SpendLimit.client_id == client_id,
                    SpendLimit.period == period,
                )
            )
        elif row is None:
            db.session.add(
                SpendLimit(
                    wallet_id=wallet_id,
                    client_id=client_id,
                    period=period,
                    cap=cap,
                    window_start=window_start(period, now),
                    spent=0,
                    created_at=now,
                )
            )
        else:
            row.cap = cap
    db.session.flush()


def forget(wallet_id: int) -> None:
    """Every limit of the wallet removed (not committed)."""
    db.session.execute(delete(SpendLimit).where(SpendLimit.wallet_id == wallet_id))


def spent_now(row: SpendLimit) -> int:
    """What the row's app spent in the current window (0 once the window moved on)."""
    return row.spent if row.window_start == window_start(row.period, utcnow()) else 0
