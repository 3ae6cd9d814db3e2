"""App names are unique whatever their case: the service's check gives the clear error,
and the unique index on ``lower(name)`` (migration 0012) settles two registrations
racing past it, with the same error.  The migration refuses a database that already
holds two apps of one name, naming them, and copies each app's contact address from
its webhook endpoints."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from idp import create_app
from idp.apps import services
from idp.apps.errors import NameInUse
from idp.core.extensions import db as _db


def test_a_registration_that_raced_past_the_check_gets_the_same_error(db, apps):
    apps.create(client_id="shop", name="Shop")
    # services.create skips the check (as seed data does): only the index stops it, as
    # it stops a registration whose check ran before the other's commit.
    with pytest.raises(NameInUse) as refused:
        services.create({"client_id": "shop-2", "name": "SHOP", "type": "confidential"})
    assert refused.value.to_dict()["field"] == "name"
    assert "'shop'" in refused.value.description
    assert [a.client_id for a in services.list_all()] == ["shop"]


def test_a_rename_that_raced_past_the_check_gets_the_same_error(db, apps):
    apps.create(client_id="shop", name="Shop")
    apps.create(client_id="blog", name="Blog")
    blog = services.get("blog")
    blog.name = "shop"  # as if the check had run before the other app took the name
    with pytest.raises(NameInUse):
        services._save(blog)
    assert services.get("blog").name == "Blog"


@pytest.fixture
def fresh(tmp_path, backend):
    """An app on an empty SQLite database of its own, migrated to 0011."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({**backend.settings, "DATABASE_URL": url})
    with app.app_context():
        upgrade(revision="0011")
        yield app
        _db.engine.dispose()


def insert_app(client_id: str, name: str) -> None:
    _db.session.execute(
        sa.text(
            "INSERT INTO app_integrations (client_id, name, client_type, redirect_uris, "
            "allowed_origins, allowed_scopes, audience, access_token_lifetime, first_party, "
            "status, created_at, updated_at) VALUES (:c, :n, 'confidential', '[]', '[]', "
            "'[]', :c, 600, false, 'active', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ),
        {"c": client_id, "n": name},
    )


def insert_endpoint(endpoint_id: str, client_id: str, contact: str | None, when: str) -> None:
    _db.session.execute(
        sa.text(
            "INSERT INTO webhook_endpoints (id, client_id, url, event_types, secret_sealed, "
            "contact_email, status, failures, created_at, updated_at) VALUES (:i, :c, "
            "'https://h.example/', '[]', x'00', :e, 'active', 0, :w, :w)"
        ),
        {"i": endpoint_id, "c": client_id, "e": contact, "w": when},
    )


def contacts() -> dict[str, str | None]:
    rows = _db.session.execute(sa.text("SELECT client_id, contact_email FROM app_integrations"))
    return dict(rows.all())


def test_the_migration_refuses_duplicate_names_and_changes_nothing(fresh, capfd):
    for client_id, name in (("shop", "Shop"), ("shop-2", "SHOP"), ("blog", "Blog")):
        insert_app(client_id, name)
    _db.session.commit()
    with pytest.raises(SystemExit):  # flask-migrate logs the error, then exits
        upgrade(revision="0012")
    message = capfd.readouterr().err
    assert "migration 0012 makes app names unique" in message
    assert "'shop': shop, shop-2" in message and "flask apps update" in message
    assert "blog" not in message
    _db.session.rollback()
    version = _db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert version == "0011"
    columns = [c["name"] for c in sa.inspect(_db.engine).get_columns("app_integrations")]
    assert "contact_email" not in columns


def test_the_migration_gives_each_app_its_endpoints_latest_contact(fresh):
    for client_id, name in (("shop", "Shop"), ("blog", "Blog"), ("mail", "Mail")):
        insert_app(client_id, name)
    insert_endpoint("ep_1", "shop", "old@shop.example", "2026-01-01 00:00:00")
    insert_endpoint("ep_2", "shop", "new@shop.example", "2026-02-01 00:00:00")
    insert_endpoint("ep_3", "shop", None, "2026-03-01 00:00:00")
    insert_endpoint("ep_4", "blog", None, "2026-01-01 00:00:00")
    _db.session.commit()
    upgrade(revision="0012")
    assert contacts() == {"shop": "new@shop.example", "blog": None, "mail": None}
    # Down again: an endpoint without a contact gets its app's (the old code reads it
    # there); the others keep theirs.
    for client_id, contact in (("shop", "s@shop.example"), ("blog", "b@blog.example")):
        _db.session.execute(
            sa.text("UPDATE app_integrations SET contact_email = :e WHERE client_id = :c"),
            {"e": contact, "c": client_id},
        )
    _db.session.commit()
    downgrade(revision="0011")
    rows = _db.session.execute(sa.text("SELECT id, contact_email FROM webhook_endpoints"))
    assert dict(rows.all()) == {
        "ep_1": "old@shop.example",
        "ep_2": "new@shop.example",
        "ep_3": "s@shop.example",
        "ep_4": "b@blog.example",
    }


@pytest.mark.postgres(only=True)
def test_concurrent_registrations_of_one_name_register_one_app(committed_db, app, client, apps):
    """Ten registrations of one name (in ten cases) at once: one app, nine name_in_use,
    whichever of the check and the index stopped each."""
    from tests.helpers import bearer
    from tests.wallet.test_concurrency import concurrently

    headers = bearer(apps.token(client, apps.admin(), "admin").json["access_token"])

    def register(http, i):
        body = {"name": "shop".upper() if i % 2 else "Shop", "allowed_scopes": "openid"}
        return http.post("/api/cross-app/register", json=body, headers=headers)

    responses = concurrently(app, 10, register)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * 9
    assert {r.json["error"] for r in responses if r.status_code == 400} == {"name_in_use"}
    assert [a.name.lower() for a in services.list_all()].count("shop") == 1
