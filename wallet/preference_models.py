"""What a person set up for their wallet: auto top-up, the low-balance mail and per-app
spend limits, with the counters that enforce them.

Kept beside ``models`` (the ledger's tables) because none of these is part of the
ledger: they decide whether a change may happen or what follows it, never the balance.
A wallet with any of them has ``wallets.watched`` set (``wallet.preferences``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.extensions import db

DAY, MONTH = "day", "month"
PERIODS = (DAY, MONTH)


class WalletPreferences(db.Model):
    """Auto top-up and the low-balance mail of one wallet (a row once either was set)."""

    __tablename__ = "wallet_preferences"

    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("wallets.id", ondelete="RESTRICT"), primary_key=True
    )
    # Auto top-up: when available credits fall below ``topup_below``, buy
    # ``topup_package_id`` with the saved card, at most ``topup_monthly_max`` times a
    # (UTC calendar) month; ``topup_failures`` consecutive failures switch it off.
    topup_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    topup_below: Mapped[int | None] = mapped_column(BigInteger)
    topup_package_id: Mapped[str | None] = mapped_column(String(64))
    topup_monthly_max: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    topup_month_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    topup_month_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    topup_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The low-balance mail (opt-in): sent once per fall below this many available credits.
    low_balance_below: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("topup_below IS NULL OR topup_below > 0", name="topup_below_positive"),
        CheckConstraint("topup_monthly_max > 0", name="topup_monthly_max_positive"),
        CheckConstraint(
            "low_balance_below IS NULL OR low_balance_below > 0", name="low_balance_positive"
        ),
    )


class TopUpAttempt(db.Model):
    """One automatic purchase, started by one downward crossing of the threshold.

    ``crossing`` (the ledger entry that crossed) is unique: one attempt per crossing,
    whoever retries; it is also the Stripe idempotency key of its PaymentIntent."""

    __tablename__ = "topup_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("wallets.id", ondelete="RESTRICT"), index=True
    )
    crossing: Mapped[str] = mapped_column(String(64), unique=True)
    package_id: Mapped[str] = mapped_column(String(64))
    # pending -> succeeded | failed (payment refused, or no saved card)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SpendLimit(db.Model):
    """A cap on what one app may spend from one wallet per UTC day or month, and what it
    spent in the current window (limit and counter in one row: one conditional UPDATE
    in the consume's transaction checks and counts)."""

    __tablename__ = "spend_limits"

    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("wallets.id", ondelete="RESTRICT"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("app_integrations.client_id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    cap: Mapped[int] = mapped_column(BigInteger)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    spent: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # When the cap was set: a hold placed before it was never counted, so settling it
    # gives nothing back.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("period IN ('day','month')", name="period_known"),
        CheckConstraint("cap > 0", name="cap_positive"),
        CheckConstraint("spent >= 0", name="spent_not_negative"),
    )
