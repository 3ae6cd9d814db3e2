"""Migrations on SQLite keep the rows that reference a rebuilt table: a batch operation
copies, drops and renames a table, and with foreign keys on the drop would cascade into
every table referencing it (migrations/env.py turns them off for the migration)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from idp import create_app
from idp.core.extensions import db as _db
from tests.apps.test_unique_names import insert_app, insert_endpoint


@pytest.fixture
def migrated(tmp_path, backend):
    url = f"sqlite:///{tmp_path / 'round-trip.sqlite3'}"
    app = create_app({**backend.settings, "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        yield app
        _db.engine.dispose()


def endpoints() -> list[str]:
    _db.session.rollback()
    return list(_db.session.scalars(sa.text("SELECT id FROM webhook_endpoints")))


def test_a_downgrade_that_rebuilds_the_apps_table_keeps_what_references_it(migrated):
    insert_app("shop", "Shop")
    insert_endpoint("we_1", "shop", None, "2026-01-01 00:00:00")
    _db.session.commit()

    downgrade(revision="0009")  # 0010's downgrade drops a column of app_integrations
    assert endpoints() == ["we_1"]
    upgrade()
    assert endpoints() == ["we_1"]
    foreign_keys = _db.session.execute(sa.text("PRAGMA foreign_keys")).scalar()
    assert foreign_keys == 1  # on again for the connections the app uses


def test_every_migration_downgrades_and_upgrades_again(migrated):
    downgrade(revision="base")
    assert "app_integrations" not in sa.inspect(_db.engine).get_table_names()
    upgrade()
    assert {"credit_lots", "passkeys", "webhook_endpoints"} <= set(
        sa.inspect(_db.engine).get_table_names()
    )
