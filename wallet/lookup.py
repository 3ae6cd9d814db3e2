"""Read-only wallet lookups for operators (``flask wallet show``): nothing here creates a
wallet or changes one, unlike :func:`wallet.ledger.wallet_for`."""

from __future__ import annotations

from sqlalchemy import select

from idp.core.extensions import db

from .models import Wallet


def existing_wallet(user_id: int) -> Wallet | None:
    """The user's wallet, or None if it was never used (a show must not create one)."""
    return db.session.scalar(select(Wallet).where(Wallet.user_id == user_id))
