"""partner events: webhook_endpoints, webhook_events, webhook_attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:45:00

Compatible with the previous deploy: three new tables the old code never reads.
"""

import sqlalchemy as sa
from alembic import op

import idp.core.db_types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TIME = idp.core.db_types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("low_balance_threshold", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("disabled_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["app_integrations.client_id"],
            name=op.f("fk_webhook_endpoints_client_id_app_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_client_id"), "webhook_endpoints", ["client_id"], unique=False
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["app_integrations.client_id"],
            name=op.f("fk_webhook_events_client_id_app_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        op.f("ix_webhook_events_client_id"), "webhook_events", ["client_id"], unique=False
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=100), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("attempted_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_attempts_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["webhook_events.id"],
            name=op.f("fk_webhook_attempts_event_id_webhook_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(
        op.f("ix_webhook_attempts_endpoint_id"), "webhook_attempts", ["endpoint_id"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_attempts_event_id"), "webhook_attempts", ["event_id"], unique=False
    )


def downgrade():
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_events")
    op.drop_table("webhook_endpoints")
