"""outbox for outgoing messages; users.updated_at (OIDC profile change time)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:10:00

Compatible with the previous deploy: the outbox is a new table the old code never
touches, and ``users.updated_at`` is nullable, so the old code keeps inserting users
(readers fall back to ``created_at``).  The backfill takes ``password_changed_at``,
the value userinfo reported as ``updated_at`` until now, so no relying party sees the
claim move backwards; where that is missing, ``created_at``.
"""

import sqlalchemy as sa
from alembic import op

import idp.core.db_types

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", idp.core.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", idp.core.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", idp.core.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("updated_at", idp.core.db_types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE users SET updated_at = COALESCE(password_changed_at, created_at)")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("updated_at")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_next_attempt_at"))

    op.drop_table("outbox")
