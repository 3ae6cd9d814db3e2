"""The ledger audit (``flask wallet audit``): every wallet recomputed from its entries.

Read-only.  Three things must agree: the stored ``balance``/``held`` of a wallet, the sums
of its entries, and its active holds; and each entry's recorded ``*_after`` must follow
from the entry before it.  Any difference is reported, never repaired: a correction is a
new entry (``flask wallet adjust``).
"""

from __future__ import annotations

from sqlalchemy import func, select

from idp.core.extensions import db

from .models import Hold, LedgerEntry, Wallet


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
    return problems


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
