"""Credit wallets and their append-only ledger.

Credits are whole numbers.  A wallet's ``balance`` moves only together with a new
``ledger_entries`` row in the same transaction, and database constraints keep
``balance`` and ``held`` from going negative or holds from exceeding the balance.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.extensions import db

# Ledger entry kinds (the list); the sign of ``amount`` follows from the kind.
PURCHASE = "purchase"
SUBSCRIPTION_GRANT = "subscription_grant"
PROMO_GRANT = "promo_grant"
CONSUME = "consume"
HOLD = "hold"
CAPTURE = "capture"
RELEASE = "release"
REFUND = "refund"
EXPIRE = "expire"
ADJUSTMENT = "adjustment"
KINDS = (
    PURCHASE,
    SUBSCRIPTION_GRANT,
    PROMO_GRANT,
    CONSUME,
    HOLD,
    CAPTURE,
    RELEASE,
    REFUND,
    EXPIRE,
    ADJUSTMENT,
)


class Wallet(db.Model):
    __tablename__ = "wallets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), unique=True)
    # Credits owned; ``held`` of them are reserved by active holds.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set while the wallet has a spend limit, auto top-up or a low-balance mail
    # (``wallet.preference_models``): the consume's short path leaves such a wallet to
    # the full path, so a wallet without them pays nothing for those checks.
    watched: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # No earlier than the soonest expiry of a lot that may still hold credits (None: no
    # lot expires): the consume's short path runs only before it, so it never needs to
    # expire lots itself (see wallet.lots).
    lots_expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("held >= 0 AND held <= balance", name="held_within_balance"),
    )


class LedgerEntry(db.Model):
    """One change of one wallet.  Never updated or deleted: corrections are new entries
    (triggers in the migration refuse UPDATE and DELETE)."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(24))
    # Signed change of ``balance`` (holds change ``held`` and carry the held amount here
    # with balance unchanged; see ``held_delta``).
    amount: Mapped[int] = mapped_column(BigInteger)
    held_delta: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    held_after: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 of the request that created the entry: a reused key with another body is a 409.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    hold_id: Mapped[str | None] = mapped_column(String(32), index=True)
    stripe_ref: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Idempotency is a constraint, not a read-then-write.
        Index(
            "uq_ledger_idempotency",
            "wallet_id",
            "client_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        # One grant/refund per Stripe object and kind, however often Stripe retries.
        Index(
            "uq_ledger_stripe_ref",
            "kind",
            "stripe_ref",
            unique=True,
            sqlite_where=text("stripe_ref IS NOT NULL"),
            postgresql_where=text("stripe_ref IS NOT NULL"),
        ),
        Index("ix_ledger_wallet_id", "wallet_id", "id"),
        CheckConstraint(
            "kind IN ('purchase','subscription_grant','promo_grant','consume','hold','capture',"
            "'release','refund','expire','adjustment')",
            name="kind_known",
        ),
    )


# Lot categories: what the credits were given for.
PAID = "paid"
PROMOTIONAL = "promotional"


class Lot(db.Model):
    """A grant of credits (``credit_lots``): one per credit-adding entry.  ``remaining``
    only ever goes down, by draws (:class:`LotDraw`); the wallet's ``balance`` is the sum
    of its lots' ``remaining`` (see wallet.lots for the order they are drawn in)."""

    __tablename__ = "credit_lots"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id", ondelete="RESTRICT"))
    # The entry that added the credits (one lot per entry).
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="RESTRICT"), unique=True
    )
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower is drawn first
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    # The grant's Stripe reference (checkout session or invoice): a refund finds its lot.
    stripe_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within"),
        CheckConstraint("category IN ('paid','promotional')", name="category_known"),
        # The lots a draw looks at.  Not partial on ``remaining``: a column in an index's
        # predicate would make every draw's UPDATE a non-HOT one (new entries in every
        # index of the table), on the consume's hot path.
        Index("ix_credit_lots_wallet", "wallet_id", "priority", "expires_at"),
    )


class LotDraw(db.Model):
    """Credits one entry took from one lot (a consume, capture, refund, expiry or negative
    adjustment).  Append-only, like the ledger: the audit sums them per lot.

    No foreign keys, and no index on ``lot_id``: a consume writes one draw, and each
    foreign key would cost it a lookup of its parent row.  The ledger writes a draw only
    in the statement (or transaction) that writes its entry and updates its lot, neither
    is ever deleted, and the audit reports a draw naming a missing entry or lot."""

    __tablename__ = "credit_lot_draws"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    lot_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class Hold(db.Model):
    """Credits reserved for metered work: captured (up to the amount) or released."""

    __tablename__ = "credit_holds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("wallets.id", ondelete="RESTRICT"), index=True
    )
    client_id: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    captured: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)


class Package(db.Model):
    """Something on sale: a one-off credit pack, or a plan granting credits per period."""

    __tablename__ = "credit_packages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    credits: Mapped[int] = mapped_column(BigInteger)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))
    # None: one-off; "month" / "year": a subscription plan.
    interval: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (CheckConstraint("credits > 0 AND price_minor >= 0", name="positive"),)


class Subscription(db.Model):
    __tablename__ = "credit_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("wallets.id", ondelete="RESTRICT"), index=True
    )
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    package_id: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    # Stripe's event time of the last applied update: older events are not applied.
    last_event_at: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CheckoutSession(db.Model):
    """A checkout we started: who pays, for what, attributed to which app."""

    __tablename__ = "checkout_sessions"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Stripe's cs_... id
    wallet_id: Mapped[int] = mapped_column(
        ForeignKey("wallets.id", ondelete="RESTRICT"), index=True
    )
    package_id: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(64))
    credits: Mapped[int] = mapped_column(BigInteger)
    mode: Mapped[str] = mapped_column(String(16))
    # open -> pending (awaiting an asynchronous payment) -> complete | failed | expired.
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Known once Stripe reports the session complete: the payment behind a one-off purchase
    # (refunds name it) and the first invoice of a plan (its grant shows the plan credited).
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    invoice_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StripeEvent(db.Model):
    """Webhook deduplication: an event id is processed once, in the transaction of its effect."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
