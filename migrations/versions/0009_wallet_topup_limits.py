"""wallet auto top-up and per-app spend limits (issue 21)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 17:15:00

Reserved in the revision chain; its issue fills it in.
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
