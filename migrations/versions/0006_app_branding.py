"""app_integrations: branding of the app's hosted pages (colour, home, privacy, terms)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:20:00

Compatible with the previous deploy: four nullable columns the old code never reads or
writes (its INSERTs leave them NULL, which means "no branding").
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_LINKS = ("client_uri", "policy_uri", "tos_uri")


def upgrade():
    with op.batch_alter_table("app_integrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_color", sa.String(length=7), nullable=True))
        for name in _LINKS:
            batch_op.add_column(sa.Column(name, sa.String(length=512), nullable=True))


def downgrade():
    with op.batch_alter_table("app_integrations", schema=None) as batch_op:
        for name in ("brand_color", *_LINKS):
            batch_op.drop_column(name)
