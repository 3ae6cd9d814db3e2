"""app registry: contact address; app names unique whatever their case; the webhook
listeners' generation (issue 22)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:15:00

Compatible with the previous deploy:

- ``app_integrations.contact_email`` is nullable; the old code never reads or writes it.
  Each app takes the contact address of its most recently changed webhook endpoint that
  has one.  ``webhook_endpoints.contact_email`` stays: the old code still reads and
  writes it while the new one rolls out, and the new code falls back to it when the app
  has none.  A later release drops it.
- The unique index on ``lower(name)`` refuses only what the old code's own check
  (``name_in_use``) already refused, except for two registrations racing.  A database
  that holds two apps of one name (a race, or apps registered before issue 17) is
  refused here with the list of them: renaming a partner's app is the operator's
  choice (``flask apps update CLIENT_ID --name ...`` of the release still running: this
  one's needs the new column), not a migration's, and nothing has changed when it
  stops.
- ``webhook_listeners``: one row, a random token every change to the set of webhook
  endpoints replaces (``idp.events.listeners``); the old code never touches it, so a
  node still on it leaves the token alone and others notice its changes only within
  ``IDP_WEBHOOK_LISTENERS_CHECK_MS`` after this deploy's first change, as documented.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_NAME_INDEX = "uq_app_integrations_lower_name"


def upgrade():
    _refuse_duplicate_names()
    op.add_column(
        "app_integrations", sa.Column("contact_email", sa.String(length=254), nullable=True)
    )
    op.execute(
        """
        UPDATE app_integrations SET contact_email = (
            SELECT e.contact_email FROM webhook_endpoints e
            WHERE e.client_id = app_integrations.client_id AND e.contact_email IS NOT NULL
            ORDER BY e.updated_at DESC, e.id LIMIT 1
        )
        WHERE contact_email IS NULL
        """
    )
    op.create_index(_NAME_INDEX, "app_integrations", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "webhook_listeners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_listeners")),
    )
    op.execute("INSERT INTO webhook_listeners (id, token) VALUES (1, 'initial')")


def _refuse_duplicate_names():
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(name) AS folded, client_id FROM app_integrations "
                "WHERE lower(name) IN (SELECT lower(name) FROM app_integrations "
                "GROUP BY lower(name) HAVING count(*) > 1) ORDER BY lower(name), client_id"
            )
        )
        .all()
    )
    if not rows:
        return
    groups: dict[str, list[str]] = {}
    for folded, client_id in rows:
        groups.setdefault(folded, []).append(client_id)
    listed = "; ".join(f"{name!r}: {', '.join(ids)}" for name, ids in groups.items())
    raise RuntimeError(
        "migration 0012 makes app names unique whatever their case, and these apps share "
        f"a name ({listed}).  Rename all but one of each with the release still running "
        "(flask apps update CLIENT_ID --name NEW_NAME), then upgrade again; nothing was "
        "changed."
    )


def downgrade():
    op.drop_table("webhook_listeners")
    op.drop_index(_NAME_INDEX, table_name="app_integrations")
    # The previous code reads the contact from each endpoint: give those without one
    # their app's, so nobody stops being told.
    op.execute(
        """
        UPDATE webhook_endpoints SET contact_email = (
            SELECT a.contact_email FROM app_integrations a
            WHERE a.client_id = webhook_endpoints.client_id
        )
        WHERE contact_email IS NULL
        """
    )
    # Not a batch operation: on SQLite that copies app_integrations to a new table and
    # drops the old one, whose foreign keys (ON DELETE CASCADE) would empty every table
    # that names an app.  SQLite has dropped columns itself since 3.35.
    op.execute("ALTER TABLE app_integrations DROP COLUMN contact_email")
