"""wallet lots: credit grants with expiry, priority and category (issue 21)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:15:00

Reserved in the revision chain; its issue fills it in.
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
