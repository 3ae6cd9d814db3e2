"""wallet lots: credit grants with expiry, priority and category (issue 21)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:15:00

Two new tables, ``credit_lots`` (one per credit-adding entry) and ``credit_lot_draws``
(what each entry that takes credits took from which lot), and a nullable
``wallets.lots_expire_at``.  The existing ledger is replayed into them, wallet by wallet
in entry order: purchases and subscription grants become paid lots carrying their Stripe
reference (checkout session, invoice), so a later refund claws back from its own lot;
promotional grants and positive adjustments become promotional lots; consumes, captures,
refunds and negative adjustments draw from them in the documented order (wallet.lots).
Lots built here never expire: the credits were sold or given without an expiry, and
nothing may be lost.  The ledger itself is not touched (it is append-only).

Compatible with the previous deploy: it never reads the new tables or column, and what
it writes during the rollout (entries without lots or draws) is picked up by the new
code's ``wallet.lots.catch_up`` (when a draw finds the lots short, and for every wallet
by ``flask wallet catch-up-lots``); the audit reports any entry still without them.
"""

from itertools import groupby

import sqlalchemy as sa
from alembic import op

import idp.core.db_types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TIME = idp.core.db_types.UTCDateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PAID_KINDS = ("purchase", "subscription_grant")

_PG_FUNCTION = """
CREATE FUNCTION credit_lot_draws_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credit_lot_draws is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lots_expire_at", _TIME, nullable=True))
    lots = op.create_table(
        "credit_lots",
        sa.Column("id", _ID, nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("stripe_ref", sa.String(length=255), nullable=True),
        sa.Column("effective_from", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= amount", name=op.f("ck_credit_lots_remaining_within")
        ),
        sa.CheckConstraint(
            "category IN ('paid','promotional')", name=op.f("ck_credit_lots_category_known")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_credit_lots_wallet_id_wallets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_credit_lots_entry_id_ledger_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_lots")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_credit_lots_entry_id")),
    )
    # Not partial on ``remaining`` (see wallet.models.Lot): draws stay HOT updates.
    op.create_index("ix_credit_lots_wallet", "credit_lots", ["wallet_id", "priority", "expires_at"])
    op.create_index(op.f("ix_credit_lots_stripe_ref"), "credit_lots", ["stripe_ref"])
    draws = op.create_table(
        "credit_lot_draws",
        sa.Column("id", _ID, nullable=False),
        sa.Column("entry_id", _ID, nullable=False),
        sa.Column("lot_id", _ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_lot_draws_amount_positive")),
        # No foreign keys (see wallet.models.LotDraw): the consume's hot path writes one
        # draw, and the audit reports a draw naming a missing entry or lot.
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_lot_draws")),
    )
    op.create_index(op.f("ix_credit_lot_draws_entry_id"), "credit_lot_draws", ["entry_id"])
    _forbid_draw_changes()
    _replay(op.get_bind(), lots, draws)


def _replay(bind, lots, draws) -> None:
    """Lots and draws for the ledger as it stands, wallet by wallet in entry order."""
    entries = sa.table(
        "ledger_entries",
        sa.column("id", sa.BigInteger()),
        sa.column("wallet_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("amount", sa.BigInteger()),
        sa.column("stripe_ref", sa.String()),
        sa.column("created_at", _TIME),
    )
    rows = bind.execute(
        sa.select(entries).where(entries.c.amount != 0).order_by(entries.c.wallet_id, entries.c.id)
    )
    for wallet_id, group in groupby(rows, key=lambda row: row.wallet_id):
        _replay_wallet(bind, lots, draws, wallet_id, list(group))


def _replay_wallet(bind, lots, draws, wallet_id: int, rows: list) -> None:
    opened: list[dict] = []  # the wallet's lots, in the order they are drawn
    taken: list[dict] = []
    for row in rows:
        if row.amount > 0:
            category = "paid" if row.kind in _PAID_KINDS else "promotional"
            lot = {
                "wallet_id": wallet_id,
                "entry_id": row.id,
                "category": category,
                "priority": 0,
                "amount": row.amount,
                "remaining": row.amount,
                "stripe_ref": row.stripe_ref,
                "effective_from": row.created_at,
                "expires_at": None,
                "created_at": row.created_at,
            }
            lot["id"] = bind.execute(sa.insert(lots).values(**lot)).inserted_primary_key[0]
            opened.append(lot)
            # No expiry and one priority: promotional before paid, then the oldest.
            opened.sort(key=lambda item: (item["category"] == "paid", item["id"]))
            continue
        left = -row.amount
        for lot in opened:
            if not left:
                break
            n = min(left, lot["remaining"])
            if n:
                lot["remaining"] -= n
                left -= n
                taken.append({"entry_id": row.id, "lot_id": lot["id"], "amount": n})
        # ``left`` stays above zero only if the ledger was overdrawn, which its constraints
        # forbid; the audit would report such a wallet.
    for lot in opened:
        if lot["remaining"] != lot["amount"]:
            bind.execute(
                sa.update(lots).where(lots.c.id == lot["id"]).values(remaining=lot["remaining"])
            )
    if taken:
        bind.execute(sa.insert(draws), taken)


def _forbid_draw_changes():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER credit_lot_draws_no_update BEFORE UPDATE OR DELETE ON "
            "credit_lot_draws FOR EACH ROW EXECUTE FUNCTION credit_lot_draws_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER credit_lot_draws_no_{action.lower()} BEFORE {action} ON "
                f"credit_lot_draws BEGIN SELECT RAISE(ABORT, 'credit_lot_draws is "
                f"append-only: {action} refused'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS credit_lot_draws_no_update ON credit_lot_draws")
        op.execute("DROP FUNCTION IF EXISTS credit_lot_draws_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS credit_lot_draws_no_update")
        op.execute("DROP TRIGGER IF EXISTS credit_lot_draws_no_delete")
    op.drop_index(op.f("ix_credit_lot_draws_entry_id"), table_name="credit_lot_draws")
    op.drop_table("credit_lot_draws")
    op.drop_index(op.f("ix_credit_lots_stripe_ref"), table_name="credit_lots")
    op.drop_index("ix_credit_lots_wallet", table_name="credit_lots")
    op.drop_table("credit_lots")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a plain column in place; the batch mode's rebuild of wallets
        # would be refused by the foreign keys that refer to it.
        op.execute("ALTER TABLE wallets DROP COLUMN lots_expire_at")
    else:
        op.drop_column("wallets", "lots_expire_at")
