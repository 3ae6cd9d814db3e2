"""second factors: TOTP secrets, recovery codes, how each session signed in (issue 20)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:15:00

Compatible with the previous deploy: two new tables the old code never reads, and
nullable columns (or one with a server default) it neither reads nor writes.  A session,
code or refresh token the old code writes has no ``amr``: read as a password sign-in.
"""

import sqlalchemy as sa
from alembic import op

import idp.core.db_types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TIME = idp.core.db_types.UTCDateTime(timezone=True)
# How a person authenticated (RFC 8176 amr, space-separated) and the level (OIDC acr).
_HOW = ("cross_app_sessions", "authorization_codes", "refresh_tokens")


def upgrade():
    op.create_table(
        "totp_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("confirmed_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_totp_factors_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_factors")),
        sa.UniqueConstraint("user_id", name=op.f("uq_totp_factors_user_id")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_codes_user_id")),
    )
    for table in _HOW:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("amr", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("acr", sa.String(length=64), nullable=True))
    with op.batch_alter_table("cross_app_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("app_integrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("require_mfa", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("app_integrations", schema=None) as batch_op:
        batch_op.drop_column("require_mfa")
    with op.batch_alter_table("cross_app_sessions", schema=None) as batch_op:
        batch_op.drop_column("device_hash")
    for table in _HOW:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("acr")
            batch_op.drop_column("amr")
    op.drop_table("recovery_codes")
    op.drop_table("totp_factors")
