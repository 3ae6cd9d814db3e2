"""Reading and saving what a person set up for their wallet (auto top-up, the
low-balance mail, spend limits), and keeping ``wallets.watched`` true exactly while any
of them is set: the consume's short path skips watched wallets, which take the full
path where ``wallet.watch`` runs, so a wallet with nothing set pays nothing for them."""

from __future__ import annotations

import functools

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from idp.core.db_types import utcnow
from idp.core.extensions import db

from . import packages, spend_limits
from .errors import PackageNotFound, WalletError
from .models import Wallet
from .preference_models import WalletPreferences

MAX_MONTHLY = 31  # auto top-ups a month: one a day is plenty for anyone


def _saving(fn):
    """Run ``fn`` and commit.  Two first saves of a wallet racing collide on a primary
    key: the loser runs once more, on the winner's rows.  A refusal writes nothing."""

    @functools.wraps(fn)
    def save(*args, **kwargs):
        for last in (False, True):
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            except IntegrityError:
                db.session.rollback()
                if last:
                    raise
            except WalletError:
                db.session.rollback()
                raise
        return None

    return save


def of(wallet_id: int) -> WalletPreferences | None:
    return db.session.get(WalletPreferences, wallet_id)


def _row(wallet_id: int) -> WalletPreferences:
    """The wallet's row, created on first use (not committed)."""
    row = db.session.get(WalletPreferences, wallet_id, with_for_update=True)
    if row is None:
        row = WalletPreferences(
            wallet_id=wallet_id,
            topup_enabled=False,
            topup_monthly_max=3,
            topup_month_count=0,
            topup_failures=0,
            updated_at=utcnow(),
        )
        db.session.add(row)
    return row


@_saving
def set_auto_topup(
    wallet_id: int, *, enabled: bool, below: int | None, package_id: str | None, monthly_max: int
) -> WalletPreferences:
    """Turn auto top-up on (threshold, a one-off package on sale, a monthly maximum) or
    off; turning it on again forgets earlier failures.  Committed."""
    row = _row(wallet_id)
    if enabled:
        if below is None or below <= 0:
            raise WalletError("Enter a number of credits above zero.", field="topup_below")
        package = _pack(package_id)
        if package is None or package.interval:
            raise WalletError("Choose a credit pack to buy.", field="topup_package_id")
        if not 1 <= monthly_max <= MAX_MONTHLY:
            raise WalletError(
                f"Choose from 1 to {MAX_MONTHLY} top-ups a month.", field="topup_monthly_max"
            )
        row.topup_below, row.topup_package_id = below, package.id
        row.topup_monthly_max = monthly_max
        if not row.topup_enabled:
            row.topup_failures = 0
    row.topup_enabled = enabled
    row.updated_at = utcnow()
    refresh_watched(wallet_id)
    return row


def _pack(package_id: str | None):
    try:
        return packages.get(package_id) if package_id else None
    except PackageNotFound:
        return None


@_saving
def set_low_balance(wallet_id: int, below: int | None) -> WalletPreferences:
    """Mail me when my available credits fall below ``below`` (None: never).  Committed."""
    if below is not None and below <= 0:
        raise WalletError("Enter a number of credits above zero.", field="low_balance_below")
    row = _row(wallet_id)
    row.low_balance_below = below
    row.updated_at = utcnow()
    refresh_watched(wallet_id)
    return row


@_saving
def set_spend_limits(wallet_id: int, client_id: str, caps: dict[str, int | None]) -> None:
    """The app's daily and monthly caps (None removes one).  Committed."""
    spend_limits.set_limits(wallet_id, client_id, caps)
    refresh_watched(wallet_id)


def switch_off_topup(row: WalletPreferences) -> None:
    """Auto top-up off after repeated failures (the caller mails and commits)."""
    row.topup_enabled = False
    row.updated_at = utcnow()
    refresh_watched(row.wallet_id)


def refresh_watched(wallet_id: int) -> None:
    """``wallets.watched`` from what is set now (in the caller's transaction)."""
    db.session.flush()
    row = db.session.get(WalletPreferences, wallet_id)
    watched = spend_limits.has_any(wallet_id) or (
        row is not None and (row.topup_enabled or row.low_balance_below is not None)
    )
    db.session.execute(update(Wallet).where(Wallet.id == wallet_id).values(watched=watched))
    wallet = db.session.get(Wallet, wallet_id)
    if wallet is not None:
        db.session.refresh(wallet, ["watched"])


def forget(wallet_id: int) -> None:
    """Everything set up for the wallet switched off (its account is being deleted: no
    top-up may follow the forfeiture, no mail go to a deleted address).  Not committed."""
    row = db.session.get(WalletPreferences, wallet_id, with_for_update=True)
    if row is not None:
        row.topup_enabled, row.low_balance_below, row.updated_at = False, None, utcnow()
    spend_limits.forget(wallet_id)
    refresh_watched(wallet_id)
