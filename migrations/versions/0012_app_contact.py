"""app registry: contact address (issue 22)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:15:00

Reserved in the revision chain; its issue fills it in.
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
