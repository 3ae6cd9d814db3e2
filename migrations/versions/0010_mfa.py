"""second factors: TOTP secrets, recovery codes, session amr/acr (issue 20)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:15:00

Reserved in the revision chain; its issue fills it in.
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
