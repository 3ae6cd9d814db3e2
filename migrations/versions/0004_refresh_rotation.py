"""refresh-token rotation: parent links, the access token of each link, per-app grace

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:45:00

Compatible with the previous deploy: every new column is nullable or has a server
default, so the code still running during the rollout keeps inserting rows.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("app_integrations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refresh_reuse_grace_seconds", sa.Integer(), server_default="0", nullable=False
            )
        )

    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("access_jti", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("access_exp", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_refresh_tokens_parent_id"), ["parent_id"], unique=False)


def downgrade():
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_parent_id"))
        batch_op.drop_column("access_exp")
        batch_op.drop_column("access_jti")
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("app_integrations", schema=None) as batch_op:
        batch_op.drop_column("refresh_reuse_grace_seconds")
