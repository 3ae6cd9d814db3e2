"""Fixtures: app -> db -> keys -> partner apps -> client, over two real backends.

Every test that uses ``app`` runs twice: on SQLite without Redis (the embedded
default) and on PostgreSQL + Redis (``TEST_DATABASE_URL`` / ``TEST_REDIS_URL``,
defaulting to the local servers).  When those are unreachable the second run
skips, unless ``IDP_TEST_REQUIRE_SERVICES=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import os
import socket
from email import message_from_bytes
from pathlib import Path

import pytest
import redis as redis_lib
import sqlalchemy as sa
from flask_migrate import upgrade

from idp import create_app
from idp.extensions import db as _db
from tests.helpers import KEK, Apps, Browser, install_fixed_keys, make_user

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("IDP_TEST_REQUIRE_SERVICES") == "1"
BACKENDS = ["sqlite", "postgres"]


def _unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot run here, or None."""
    if backend != "postgres":
        return None
    try:
        engine = sa.create_engine(_sqlalchemy_url(PG_URL))
        with engine.connect():
            pass
        engine.dispose()
        redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure to connect means "not here"
        return f"PostgreSQL/Redis not reachable ({type(exc).__name__}: {exc})"
    return None


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    """One database per backend per session, built by the Alembic migrations."""
    name = request.param
    reason = _unavailable(name)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason}; IDP_TEST_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(reason)
    if name == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        redis_url = None
    else:
        url, redis_url = PG_URL, REDIS_URL
        engine = sa.create_engine(_sqlalchemy_url(url))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    settings = base_settings(url, redis_url, tmp_path_factory.mktemp("instance"))
    app = create_app(settings)
    with app.app_context():
        upgrade()
        _db.engine.dispose()
    return {"name": name, "settings": settings}


def base_settings(url, redis_url, instance: Path) -> dict:
    return {
        # Cheap argon2id in tests (still argon2id): the suite hashes hundreds of passwords.
        "IDP_ARGON2_TIME_COST": 1,
        "IDP_ARGON2_MEMORY_COST": 8192,
        "IDP_ARGON2_PARALLELISM": 1,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "IDP_KEY_ENCRYPTION_KEY": KEK,
        "IDP_ISSUER": "https://idp.test",
        "IDP_JWKS_MAX_AGE": 60,
        "TESTING": True,
        "IDP_INSTANCE_PATH": str(instance),
    }


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as sock:  # aiosmtpd checks readiness by connecting: needs a real port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """Messages sent during this test (``mailbox.messages``), newest last."""
    smtp_server.messages.clear()
    return smtp_server


@pytest.fixture
def make_app(backend, smtp_server):
    """Build further app instances on the same database (several nodes)."""
    made = []

    def factory(**overrides):
        settings = {**backend["settings"], "IDP_SMTP_URL": smtp_server.url}
        app = create_app({**settings, **overrides})
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def app(make_app, backend):
    app = make_app()
    with app.app_context():
        yield app
        _clean(app)


def _clean(app) -> None:
    """Empty every table and our Redis keys, so each test starts from migrations' state."""
    _db.session.rollback()
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # TRUNCATE skips row triggers, such as the ledger's append-only guard.
            names = ", ".join(t.name for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            ledger_guard = _sqlite_ledger_guard(conn)
            for table in tables:
                conn.execute(table.delete())
            for sql in ledger_guard:
                conn.execute(sa.text(sql))
    client = app.extensions.get("idp_redis")
    if client is not None:
        for pattern in ("idp:*", "LIMITS:*"):  # our keys and Flask-Limiter's counters
            for key in client.scan_iter(pattern):
                client.delete(key)


def _sqlite_ledger_guard(conn) -> list[str]:
    """Drop the ledger's append-only triggers for the cleanup; returns SQL to restore them."""
    rows = conn.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'ledger_entries'"
        )
    ).all()
    for name, _ in rows:
        conn.execute(sa.text(f"DROP TRIGGER {name}"))
    return [sql for _, sql in rows]


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def signing_keys(db):
    """The fixed keys from tests/files installed as active and next."""
    return install_fixed_keys()


@pytest.fixture
def apps(signing_keys):
    return Apps()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def user(db):
    """A verified account with the password ``helpers.PASSWORD``."""
    return make_user()


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
