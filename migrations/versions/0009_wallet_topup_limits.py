"""wallet auto top-up and per-app spend limits (issue 21)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:15:00

Compatible with the previous deploy: three new tables the old code never reads, and
``wallets.watched`` with a server default of false, which old INSERTs leave as it is
(the old code never sets it, so no wallet is watched until a person sets something up
on the new code's pages).
"""

import sqlalchemy as sa
from alembic import op

import idp.core.db_types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TIME = idp.core.db_types.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("watched", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "wallet_preferences",
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("topup_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("topup_below", sa.BigInteger(), nullable=True),
        sa.Column("topup_package_id", sa.String(length=64), nullable=True),
        sa.Column("topup_monthly_max", sa.Integer(), server_default="3", nullable=False),
        sa.Column("topup_month_start", _TIME, nullable=True),
        sa.Column("topup_month_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("topup_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("low_balance_below", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "topup_below IS NULL OR topup_below > 0",
            name=op.f("ck_wallet_preferences_topup_below_positive"),
        ),
        sa.CheckConstraint(
            "topup_monthly_max > 0", name=op.f("ck_wallet_preferences_topup_monthly_max_positive")
        ),
        sa.CheckConstraint(
            "low_balance_below IS NULL OR low_balance_below > 0",
            name=op.f("ck_wallet_preferences_low_balance_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_wallet_preferences_wallet_id_wallets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("wallet_id", name=op.f("pk_wallet_preferences")),
    )
    op.create_table(
        "topup_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("crossing", sa.String(length=64), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("failure", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("settled_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_topup_attempts_wallet_id_wallets"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topup_attempts")),
        sa.UniqueConstraint("crossing", name=op.f("uq_topup_attempts_crossing")),
        sa.UniqueConstraint("payment_intent_id", name=op.f("uq_topup_attempts_payment_intent_id")),
    )
    op.create_index(
        op.f("ix_topup_attempts_wallet_id"), "topup_attempts", ["wallet_id"], unique=False
    )
    op.create_table(
        "spend_limits",
        sa.Column("wallet_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("cap", sa.BigInteger(), nullable=False),
        sa.Column("window_start", _TIME, nullable=False),
        sa.Column("spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.CheckConstraint("period IN ('day','month')", name=op.f("ck_spend_limits_period_known")),
        sa.CheckConstraint("cap > 0", name=op.f("ck_spend_limits_cap_positive")),
        sa.CheckConstraint("spent >= 0", name=op.f("ck_spend_limits_spent_not_negative")),
        sa.ForeignKeyConstraint(
            ["wallet_id"],
            ["wallets.id"],
            name=op.f("fk_spend_limits_wallet_id_wallets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["app_integrations.client_id"],
            name=op.f("fk_spend_limits_client_id_app_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("wallet_id", "client_id", "period", name=op.f("pk_spend_limits")),
    )


def downgrade():
    op.drop_table("spend_limits")
    op.drop_index(op.f("ix_topup_attempts_wallet_id"), table_name="topup_attempts")
    op.drop_table("topup_attempts")
    op.drop_table("wallet_preferences")
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.drop_column("watched")
