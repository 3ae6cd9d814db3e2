"""The ledger: the only code that changes a wallet, always together with a new entry.

Every change is one conditional UPDATE of the wallet row (``balance``/``held``
with the bounds in its WHERE clause, so concurrent writers can never overdraw)
followed by one INSERT into ``ledger_entries``, in one transaction.  Idempotency
is the unique index on (wallet, app, key): a retry collides, rolls back, and is
answered from the entry that won.

A spend (:func:`spend`, the consume API's hot path) is the same change written as
SQLAlchemy Core: the UPDATE finds the wallet by its user and gives the INSERT its id,
balance and held through RETURNING, on PostgreSQL in one statement (a data-modifying
CTE), on SQLite in two; the caller answers from the entry's RETURNING, with no read after
the commit.

Change listeners (:func:`register_change_listener`): code that runs inside the transaction
of every wallet change, after its entry is written and before its commit, on both paths
(:func:`spend` and :func:`apply`, so also :func:`apply_once` and everything built on it).
A listener gets an :class:`Applied` (the change, the new entry, the wallet and its user,
the available credits before and after).  It may add rows to the session (an outbox
row: they commit with the change or not at all) or raise a
:class:`~wallet.errors.WalletError` subclass to refuse the change: the transaction is
rolled back and the error reaches the API unchanged.  A replayed request (its key used
already) writes nothing and calls no listener.  With none registered, the hot path pays
one dictionary lookup.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import BigInteger, Row, bindparam, exists, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from idp.core import observe
from idp.core.db_types import utcnow
from idp.core.events_hook import emit
from idp.core.extensions import db

from . import lots
from .errors import IdempotencyConflict, InsufficientCredits
from .models import CAPTURE, CONSUME, EXPIRE, Hold, LedgerEntry, Lot, LotDraw, Wallet


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
    # A credit-adding change's lot (None: the defaults of its kind, lots.terms_for).
    lot: lots.Terms | None = None
    # A change that takes credits: the lot to draw first (a refund's purchase), or the
    # exact draws (expiry); else the draw order decides (wallet.lots).
    draw_first: int | None = None
    draws: lots.Draws | None = None


@dataclass(frozen=True)
class Applied:
    """One change as written, not yet committed: what a change listener is given."""

    change: Change
    entry: LedgerEntry | Row  # the new entry (an ORM object, or the spend's RETURNING row)
    wallet_id: int
    user_id: int

    @property
    def kind(self) -> str:
        return self.change.kind

    @property
    def amount(self) -> int:
        return self.change.amount

    @property
    def client_id(self) -> str | None:
        return self.change.client_id

    @property
    def balance_after(self) -> int:
        return self.entry.balance_after

    @property
    def held_after(self) -> int:
        return self.entry.held_after

    @property
    def available_after(self) -> int:
        return self.entry.balance_after - self.entry.held_after

    @property
    def available_before(self) -> int:
        return self.available_after - self.change.amount + self.change.held_delta


ChangeListener = Callable[[Applied], None]
_LISTENERS = "wallet_change_listeners"  # app.extensions key


def register_change_listener(app, listener: ChangeListener) -> None:
    """Run ``listener(applied)`` inside the transaction of every wallet change, before its
    commit (see the module docstring for what it may do)."""
    app.extensions.setdefault(_LISTENERS, []).append(listener)


def _changed(applied: Applied) -> None:
    """Tell the listeners, in the change's transaction (the caller rolls back if one raises)."""
    for listener in current_app.extensions.get(_LISTENERS, ()):
        listener(applied)


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
    :class:`InsufficientCredits` when it would leave fewer available credits than zero.

    Credits added open a lot; credits taken are drawn from lots (after the wallet row is
    locked by its UPDATE, so draws of one wallet never interleave).  The entry's ``lots``
    (not a column) names them: ``[{"lot_id", "amount"}]``, negative for a draw."""
    now = utcnow()
    balance, held, user_id = _move(wallet_id, change, now)
    draws: lots.Draws = ()
    if change.amount < 0:
        if change.draws is not None:
            lots.take(change.draws)
            draws = change.draws
        else:
            draws = lots.plan(wallet_id, -change.amount, now, change.kind, change.draw_first)
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
    if change.amount > 0:
        lot = lots.open_lot(entry, change.lot or lots.terms_for(change.kind, now), now)
        entry.lots = [{"lot_id": lot.id, "amount": change.amount}]
    else:
        lots.record(entry.id, draws)
        entry.lots = [{"lot_id": lot_id, "amount": -n} for lot_id, n in draws]
    applied = Applied(change, entry, wallet_id, user_id)
    _changed(applied)
    _announce(applied)
    observe.emit(observe.WALLET, kind=change.kind, amount=change.amount)
    return entry


def _announce(applied: Applied) -> None:
    """The partner events of a change (idp.core.events_hook), in its transaction: what
    was spent or expired, and every fall of the available credits (``idp.events`` tells
    each app of the fall only when it crosses that app's own threshold)."""
    change, user_id = applied.change, applied.user_id
    after = applied.available_after
    if change.amount < 0 and change.kind in (CONSUME, CAPTURE):
        emit(
            "credits.consumed",
            user_id,
            {
                "credits": -change.amount,
                "kind": change.kind,
                "client_id": change.client_id,
                "service": change.service,
                "available_after": after,
            },
        )
    elif change.amount < 0 and change.kind == EXPIRE:
        emit("credits.expired", user_id, {"credits": -change.amount, "available_after": after})
    if after < applied.available_before:
        data = {"available_before": applied.available_before, "available_after": after}
        emit("credits.low", user_id, {**data, "kind": change.kind})


def expire(wallet_id: int | None = None, now: datetime | None = None) -> int:
    """Expire the lots past their ``expires_at`` (one wallet lazily, or every wallet that
    is due from the job) and commit; returns the credits expired.

    Per wallet, one ``expire`` entry draws the expired lots' remaining credits, except as
    many as the wallet's holds reserve: those stay for the captures (which draw expired
    lots first) and expire once the holds are settled."""
    now = now or utcnow()
    query = select(Wallet.id).where(Wallet.lots_expire_at <= now)
    if wallet_id is not None:
        query = query.where(Wallet.id == wallet_id)
    total = 0
    for found in db.session.scalars(query.order_by(Wallet.id)).all():
        total += expire_lots(found, now)
    return total


def expire_lots(wallet_id: int, now) -> int:
    """Expire the wallet's lots past their expiry with one ``expire`` entry, and commit;
    returns the credits expired (see :func:`expire`)."""
    held = db.session.execute(
        select(Wallet.held).where(Wallet.id == wallet_id).with_for_update()
    ).scalar_one()
    draws = lots.expiry_draws(wallet_id, held, now)
    credits = sum(n for _, n in draws)
    if credits:
        named = ", ".join(str(lot_id) for lot_id, _ in draws)
        reason = f"expiry of lot{'s' if len(draws) > 1 else ''} {named}"
        change = Change(
            EXPIRE, amount=-credits, actor="system:expiry", draws=draws, reason=reason[:255]
        )
        try:
            apply(wallet_id, change)
        except Exception:
            db.session.rollback()
            raise
    db.session.execute(
        update(Wallet)
        .where(Wallet.id == wallet_id)
        .values(lots_expire_at=lots.next_expiry_bound(wallet_id))
    )
    db.session.commit()
    return credits


def _move(wallet_id: int, change: Change, now) -> tuple[int, int, int]:
    """The wallet's (balance, held, user id) after ``change``: one conditional UPDATE whose WHERE
    holds the bounds, so concurrent writers can never take it below zero available."""
    row = db.session.execute(
        update(Wallet)
        .where(Wallet.id == wallet_id, *_bounds(change.amount, change.held_delta))
        .values(
            balance=Wallet.balance + change.amount,
            held=Wallet.held + change.held_delta,
            updated_at=now,
        )
        .returning(Wallet.balance, Wallet.held, Wallet.user_id)
    ).first()
    if row is None:
        current = db.session.execute(
            select(Wallet.balance, Wallet.held).where(Wallet.id == wallet_id)
        ).one()
        raise InsufficientCredits(balance=current.balance, available=current.balance - current.held)
    return row.balance, row.held, row.user_id


def _bounds(amount, held_delta) -> tuple:
    """What a change must leave: no fewer available credits than zero, held not negative.
    (Table columns, not ORM attributes: these also build the spend's Core statements.)"""
    wallet = Wallet.__table__.c
    return (wallet.balance + amount >= wallet.held + held_delta, wallet.held + held_delta >= 0)


# What a spend's entry is given; the rest comes from the wallet row its UPDATE moved.
_GIVEN = (
    "kind",
    "amount",
    "held_delta",
    "client_id",
    "service",
    "idempotency_key",
    "request_hash",
    "actor",
    "created_at",
)


def _spend_statements() -> tuple:
    """The spend's UPDATE, its INSERT fed by the UPDATE (PostgreSQL's CTE) and its INSERT
    of given values (SQLite), built once: executing the same statement objects with new
    parameters skips SQLAlchemy's construction of them on every request."""
    wallets, entries, holds = Wallet.__table__, LedgerEntry.__table__, Hold.__table__
    credit_lots, draws = Lot.__table__, LotDraw.__table__
    given = {name: bindparam("new_" + name, type_=entries.c[name].type) for name in _GIVEN}
    amount, held_delta, now = given["amount"], given["held_delta"], given["created_at"]
    take = bindparam("take", type_=BigInteger())
    # A hold past its expiry is released before anything else is written to its wallet
    # (the full path does that first): such a wallet takes the full path.
    expired = exists().where(
        holds.c.wallet_id == wallets.c.id, holds.c.status == "active", holds.c.expires_at <= now
    )
    move = (
        update(wallets)
        .where(
            wallets.c.user_id == bindparam("owner"),
            *_bounds(amount, held_delta),
            or_(wallets.c.held == 0, ~expired),
            # A wallet with spend limits, auto top-up or a low-balance mail
            # (wallet.preferences) takes the full path, where wallet.watch runs.
            wallets.c.watched.is_(False),
            # A wallet with lots to expire takes the full path, which expires them first.
            or_(wallets.c.lots_expire_at.is_(None), wallets.c.lots_expire_at > now),
        )
        .values(
            balance=wallets.c.balance + amount, held=wallets.c.held + held_delta, updated_at=now
        )
        .returning(wallets.c.id, wallets.c.balance, wallets.c.held)
    )
    moved = move.cte("moved")

    def head_of(wallet_id):
        """The first lot in the draw order, if it alone covers the spend (the common
        case); else nothing, and the full path draws across lots."""
        first = (
            select(credit_lots.c.id)
            .where(credit_lots.c.wallet_id == wallet_id, *lots.drawable(credit_lots, now))
            .order_by(*lots.order_by(credit_lots))
            .limit(1)
            .scalar_subquery()
        )
        return (
            update(credit_lots)
            .where(credit_lots.c.id == first, credit_lots.c.remaining >= take)
            .values(remaining=credit_lots.c.remaining - take)
            .returning(credit_lots.c.id)
        )

    # The lot's UPDATE names the wallet through ``moved``, so the wallet row is locked
    # first (as on the full path); reading the head lot in the statement's snapshot is
    # safe because a lot's remaining only goes down and the UPDATE re-checks its bound
    # on the row's newest version.
    head = head_of(select(moved.c.id).scalar_subquery()).cte("head")
    from_move = {
        "wallet_id": moved.c.id,
        "balance_after": moved.c.balance,
        "held_after": moved.c.held,
    }
    # No head lot, no entry: the wallet's UPDATE is then rolled back by the caller.
    fed = insert(entries).from_select(
        [*from_move, *given],
        select(*from_move.values(), *given.values()).select_from(moved.join(head, true())),
    )
    entered = fed.returning(*entries.c).cte("entered")
    drawn = insert(draws).from_select(
        ["entry_id", "lot_id", "amount"],
        select(entered.c.id, head.c.id, take).select_from(entered.join(head, true())),
    )
    move_and_enter = (
        select(entered, head.c.id.label("lot_id"))
        .select_from(entered.join(head, true()))
        .add_cte(drawn.cte("drawn"))
    )
    enter = insert(entries).values(
        wallet_id=bindparam("moved_id"),
        balance_after=bindparam("moved_balance"),
        held_after=bindparam("moved_held"),
        **given,
    )
    draw = insert(draws).values(
        entry_id=bindparam("entry_id"), lot_id=bindparam("lot_id"), amount=take
    )
    sqlite = (head_of(bindparam("moved_id")), enter.returning(*entries.c), draw)
    return move, move_and_enter, sqlite


_MOVE, _MOVE_AND_ENTER, (_HEAD, _ENTER, _DRAW) = _spend_statements()


def spend(user_id: int, change: Change) -> Row | None:
    """Apply ``change`` to the user's wallet and commit, on the short path: one
    transaction of one statement (two on SQLite).  Returns the new entry's row (its
    columns as attributes, and ``lot_id``: the lot it drew from), or None with nothing
    written when this path cannot decide: no wallet yet, too few available credits, an
    expired hold or lot to expire first, no single lot covering the spend, or the key
    used already (the unique index refused the entry).  The caller then takes the
    full path, :func:`apply_once`, which tells these apart."""
    params = {"new_" + name: getattr(change, name, None) for name in _GIVEN}
    params.update(owner=user_id, new_request_hash=request_hash(change.request))
    params.update(new_created_at=utcnow(), take=-change.amount)
    try:
        entry = _spend_with(params)
        if entry is None:
            db.session.rollback()  # the wallet's UPDATE, if no lot alone covered the spend
            return None
        applied = Applied(change, entry, entry.wallet_id, user_id)
        if current_app.extensions.get(_LISTENERS):
            _changed(applied)
        _announce(applied)
    except IntegrityError:
        db.session.rollback()
        return None
    except Exception:
        db.session.rollback()  # a listener refused the change
        raise
    db.session.commit()
    observe.emit(observe.WALLET, kind=change.kind, amount=change.amount)
    return entry


def _spend_with(params: dict) -> Row | SimpleNamespace | None:
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.execute(_MOVE_AND_ENTER, params).first()
    # SQLite has no UPDATE inside a WITH: the same statements, one after the other.
    moved = db.session.execute(_MOVE, params).first()
    if moved is None:
        return None
    params.update(moved_id=moved.id, moved_balance=moved.balance, moved_held=moved.held)
    head = db.session.execute(_HEAD, params).first()
    if head is None:
        return None
    entry = db.session.execute(_ENTER, params).one()
    db.session.execute(_DRAW, {**params, "entry_id": entry.id, "lot_id": head.id})
    return SimpleNamespace(**entry._mapping, lot_id=head.id)


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
    except Exception:
        db.session.rollback()  # a change listener refused it, or the rows it added failed
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
