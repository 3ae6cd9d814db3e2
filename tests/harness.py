"""The test harness: one app per backend per session, each test inside a rolled-back
transaction, every test client its own browser.

How a test's database works (warehouse's pattern, SQLAlchemy's "joining a Session into
an external transaction" recipe):

- :class:`Backend` builds the database with the Alembic migrations and one app, once.
- :meth:`Backend.transaction` opens one connection and an outer transaction on it, and
  points every app of the test (the shared one and any ``make_app`` builds) at that
  connection.  Sessions join it with ``join_transaction_mode="create_savepoint"``: the
  app's own ``commit()`` releases a SAVEPOINT and its ``rollback()`` returns to one, so
  the code under test behaves as it does in production, and the outer ``ROLLBACK`` at
  the end of the test leaves the database as the migrations made it.
- :meth:`Backend.committed` is the opt-out (the ``committed_db`` fixture): real engines,
  real commits (threads, live servers, concurrency), then every table emptied.
- :func:`reset_app` clears what an app keeps in memory between tests (key and client
  caches, rate-limit counters, settings), through hooks rather than by rebuilding it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import redis as redis_lib
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from idp import create_app
from idp.core.extensions import db
from tests import contract

# Sessions bound to a connection that is already in a transaction nest a SAVEPOINT in it.
# With an engine bind (production, ``committed_db``) this option has no effect.
db.session.session_factory.configure(join_transaction_mode="create_savepoint")

# The OpenAPI document every app the harness builds is checked against (tests/contract.py).
CONTRACT = contract.Contract()

# Our Redis keys and Flask-Limiter's counters: what a test on Redis may leave behind.
REDIS_PATTERNS = ("idp:*", "LIMITS:*")


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as under a real
    server: nothing in ``g`` (SSO session, CSRF token) or in the request's database
    session outlives the request or reaches another client.

    The test's own session is another client of the database: what it has written is
    committed before each request (as if the test had finished its step), and its
    objects are expired after it, so they show what the request committed.  This keeps
    the test's savepoints and the request's apart: a later ``rollback()`` in the test
    never undoes a request."""

    def open(self, *args, **kwargs):
        _end_test_transaction()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context() and db.session.registry.has():
            db.session.expire_all()
        return response


def _end_test_transaction() -> None:
    if not (has_app_context() and db.session.registry.has()):
        return
    session = db.session()
    if not session.in_transaction():
        return
    try:
        session.commit()
    except Exception:  # a failed flush the test meant to provoke: nothing to keep
        session.rollback()


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


class Backend:
    """One database (built by the migrations) and the app built once on it."""

    def __init__(self, name: str, settings: dict) -> None:
        self.name = name
        self.settings = settings
        self.url = settings["DATABASE_URL"]
        self._apps: dict[tuple, Flask] = {}  # settings on top of the test's -> app
        self._configs: dict[Flask, dict] = {}
        self.app = self.app_for({})
        with self.app.app_context():
            upgrade()
            db.engine.dispose()
        self.redis = self.app.extensions.get("idp_redis")
        self.engine = _transaction_engine(self.url)

    def app_for(self, settings: dict) -> Flask:
        """The shared app for ``settings`` (a module's ``app_settings``), built on first
        use and reused by every later test that asks for the same settings."""
        key = tuple(sorted(settings.items()))
        if key not in self._apps:
            app = self._apps[key] = self.build(**settings)
            self._configs[app] = dict(app.config)
        return self._apps[key]

    def build(self, **overrides) -> Flask:
        app = create_app({**self.settings, **overrides})
        app.test_client_class = IsolatedClient
        app.wsgi_app = contract.middleware(app.wsgi_app, CONTRACT)
        return app

    @contextlib.contextmanager
    def transaction(self, made: list[Flask]):
        """The test's connection and outer transaction; every app in ``made`` (its first
        is the test's shared app; the list grows while the test runs) uses it, and it is
        rolled back at the end."""
        connection = self.engine.connect()
        outer = connection.begin()
        binder = _Binder(connection)
        binder.bind(made[0])
        try:
            yield binder
        finally:
            # Every session on the connection ended with its app context's teardown.
            binder.unbind_all()
            if outer.is_active:
                outer.rollback()
            connection.close()

    @contextlib.contextmanager
    def committed(self, made: list[Flask]):
        """Real engines and commits for this test; every table emptied afterwards."""
        try:
            yield None
        finally:
            with made[0].app_context():
                empty_tables()

    def reset(self, app: Flask) -> None:
        """Forget what ``app`` holds in memory and what this test left in Redis."""
        reset_app(app, self._configs.get(app))
        if self.redis is not None:
            for pattern in REDIS_PATTERNS:
                keys = list(self.redis.scan_iter(pattern, count=1000))
                if keys:
                    self.redis.delete(*keys)


class _Binder:
    """Points apps' Flask-SQLAlchemy engines at one connection, and back."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self._saved: list[tuple[dict, sa.Engine]] = []

    def bind(self, app: Flask) -> None:
        engines = db._app_engines[app]  # Flask-SQLAlchemy keeps one dict per app
        self._saved.append((engines, engines[None]))
        engines[None] = self.connection

    def unbind_all(self) -> None:
        for engines, engine in reversed(self._saved):
            engines[None] = engine
        self._saved.clear()


def _transaction_engine(url: str) -> sa.Engine:
    """The engine the test transactions run on (not the app's own, which stays as in
    production).  pysqlite emits BEGIN lazily and releases SAVEPOINTs as it likes; this
    engine lets SQLAlchemy emit BEGIN itself, SQLAlchemy's documented recipe for
    working savepoints on SQLite."""
    engine = sa.create_engine(sqlalchemy_url(url))
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _autocommit_driver(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN")

    return engine


def reset_app(app: Flask, config: dict | None = None) -> None:
    """Clear the per-process state of ``app``: its caches see the (rolled back)
    database afresh, rate-limit counters start at zero, settings are as built."""
    with app.app_context():
        app.extensions["idp_keys"].invalidate()
        app.extensions["idp_clients"].clear()
        limiter = app.extensions["idp_limiter"]
        if limiter.enabled:
            limiter.reset()
        app.extensions["idp_client_auth_blocks"].clear()
        app.extensions["idp_event_listeners"].forget()
    if config is not None and app.config != config:
        app.config.clear()
        app.config.update(config)


def empty_tables() -> None:
    """Empty every table (for tests that committed for real)."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # TRUNCATE skips row triggers, such as the ledger's append-only guard.
            names = ", ".join(t.name for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        guard = conn.execute(
            sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('ledger_entries', 'credit_lot_draws')"
            )
        ).all()
        for name, _ in guard:
            conn.execute(sa.text(f"DROP TRIGGER {name}"))
        for table in tables:
            conn.execute(table.delete())
        for _, sql in guard:
            conn.execute(sa.text(sql))


def reachable(pg_url: str, redis_url: str) -> str | None:
    """Why PostgreSQL + Redis cannot be used here, or None."""
    try:
        engine = sa.create_engine(sqlalchemy_url(pg_url))
        with engine.connect():
            pass
        engine.dispose()
        redis_lib.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure to connect means "not here"
        return f"PostgreSQL/Redis not reachable ({type(exc).__name__}: {exc})"
    return None


def fresh_postgres(url: str) -> None:
    engine = sa.create_engine(sqlalchemy_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_redis(url: str) -> None:
    client = redis_lib.Redis.from_url(url)
    for pattern in REDIS_PATTERNS:
        for key in client.scan_iter(pattern):
            client.delete(key)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'test.sqlite3'}"
