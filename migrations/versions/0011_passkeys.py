"""passkeys: WebAuthn credentials (issue 20)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:15:00

Reserved in the revision chain; its issue fills it in.
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
