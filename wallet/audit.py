"""The ledger audit (``flask wallet audit``): every wallet recomputed from its entries.

Read-only.  Three things must agree: the stored ``balance``/``held`` of a wallet, the sums
of its entries, and its active holds; and each entry's recorded ``*_after`` must follow
from the entry before it.  Lots too (wallet.lots): each lot's ``remaining`` is its amount
less its draws, its amount that of the entry that opened it, each entry that took credits
drew exactly that many, and a wallet's lots hold its balance.  Any difference is
reported, never repaired: a correction is a new entry (``flask wallet adjust``).
"""

from __future__ import annotations

from sqlalchemy import func, select

from idp.core.extensions import db

from . import lots
from .models import Hold, LedgerEntry, Lot, LotDraw, Wallet


def reconcile() -> list[dict]:
    """Recompute every wallet from its ledger; returns the differences (should be none)."""
    sums, active = _ledger_sums(), _active_holds()
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
    problems.extend(lot_problems())
    return problems


def lot_problems() -> list[dict]:
    """Where lots and entries disagree (see the module docstring)."""
    drawn = _sums(select(LotDraw.lot_id, func.sum(LotDraw.amount)).group_by(LotDraw.lot_id))
    by_entry = _sums(select(LotDraw.entry_id, func.sum(LotDraw.amount)).group_by(LotDraw.entry_id))
    problems, held_by_wallet = [], {}
    rows = db.session.execute(
        select(Lot, LedgerEntry.amount.label("entry_amount"), LedgerEntry.wallet_id)
        .join(LedgerEntry, LedgerEntry.id == Lot.entry_id)
        .order_by(Lot.id)
    )
    for lot, entry_amount, entry_wallet in rows:
        held_by_wallet[lot.wallet_id] = held_by_wallet.get(lot.wallet_id, 0) + lot.remaining
        expected = lot.amount - drawn.get(lot.id, 0)
        if lot.remaining != expected or lot.amount != entry_amount or lot.wallet_id != entry_wallet:
            problems.append(
                {
                    "lot_id": lot.id,
                    "wallet_id": lot.wallet_id,
                    "remaining": lot.remaining,
                    "amount_less_draws": expected,
                    "entry_amount": entry_amount,
                }
            )
    for entry_id, amount in db.session.execute(
        select(LedgerEntry.id, LedgerEntry.amount).where(LedgerEntry.amount < 0)
    ):
        if entry_id in by_entry and by_entry[entry_id] != -amount:
            problems.append({"entry_id": entry_id, "amount": amount, "drawn": by_entry[entry_id]})
    for wallet_id, balance in db.session.execute(select(Wallet.id, Wallet.balance)):
        if held_by_wallet.get(wallet_id, 0) != balance:
            problems.append(
                {
                    "wallet_id": wallet_id,
                    "balance": balance,
                    "in_lots": held_by_wallet.get(wallet_id, 0),
                }
            )
    orphans = db.session.scalars(
        select(LotDraw.id).where(
            ~select(Lot.id).where(Lot.id == LotDraw.lot_id).exists()
            | ~select(LedgerEntry.id).where(LedgerEntry.id == LotDraw.entry_id).exists()
        )
    ).all()
    if orphans:  # no foreign keys on draws (wallet.models.LotDraw): checked here
        problems.append({"draws_naming_no_lot_or_entry": list(orphans[:100])})
    untracked = lots.untracked_entries()
    if untracked:  # the previous deploy's: `flask wallet catch-up-lots` gives them theirs
        problems.append({"entries_without_lots": untracked[:100], "count": len(untracked)})
    return problems


def _sums(query) -> dict[int, int]:
    return {key: int(total) for key, total in db.session.execute(query)}


def _ledger_sums() -> dict[int, tuple[int, int]]:
    """Per wallet: (sum of amounts, sum of held deltas) over all its entries."""
    # int(): on PostgreSQL SUM over BIGINT is NUMERIC (Decimal), which JSON cannot encode.
    rows = db.session.execute(
        select(
            LedgerEntry.wallet_id,
            func.sum(LedgerEntry.amount).label("balance"),
            func.sum(LedgerEntry.held_delta).label("held"),
        ).group_by(LedgerEntry.wallet_id)
    )
    return {row.wallet_id: (int(row.balance), int(row.held)) for row in rows}


def _active_holds() -> dict[int, int]:
    """Per wallet: the credits its active holds reserve."""
    rows = db.session.execute(
        select(Hold.wallet_id, func.sum(Hold.amount))
        .where(Hold.status == "active")
        .group_by(Hold.wallet_id)
    )
    return {wallet_id: int(total) for wallet_id, total in rows}


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
