"""Fixtures: backend -> app -> db -> keys -> user -> partner apps -> client.

Where a test runs (see README, "Testing"):
- every test runs on the embedded default: SQLite, no Redis;
- a test marked ``postgres`` (locking, concurrency, ``RETURNING``, NUL bytes) or
  ``redis`` (expiry, counters shared between nodes) runs there too, on PostgreSQL +
  Redis (``TEST_DATABASE_URL`` / ``TEST_REDIS_URL``, defaulting to the local servers);
  with ``only=True`` (``@pytest.mark.redis(only=True)``) it runs there alone.  When those
  servers are unreachable such a test skips, unless ``IDP_TEST_REQUIRE_SERVICES=1`` (CI),
  where it fails instead.

The app is built once per backend; each test runs inside a transaction rolled back at
its end (``tests/harness.py``).  ``committed_db`` opts a test out, for real commits.
"""

from __future__ import annotations

import os
import socket
from email import message_from_bytes
from pathlib import Path

import pytest

from idp.core.extensions import db as _db
from tests import harness
from tests.helpers import KEK, Apps, Browser, install_fixed_keys, make_user

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("IDP_TEST_REQUIRE_SERVICES") == "1"
EMBEDDED, SERVICES = "sqlite", "postgres"  # the two backends' names


def pytest_addoption(parser):
    parser.addoption(
        "--contract-complete",
        action="store_true",
        help="fail the run when an (operation, status) pair of the OpenAPI document was "
        "never produced by a test (make test passes it; a partial run only reports them)",
    )


@pytest.fixture(autouse=True)
def _contract():
    """Fail the test whose requests got a response that departs from the OpenAPI document."""
    start = len(harness.CONTRACT.violations)
    yield
    found = harness.CONTRACT.violations[start:]
    if found:
        pytest.fail("responses that break the API contract:\n" + "\n".join(found), False)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    missing = sorted(harness.CONTRACT.documented_pairs() - harness.CONTRACT.seen)
    if not missing:
        return
    terminalreporter.section("API contract: documented responses no test produced")
    for operation, status in missing:
        terminalreporter.line(f"{operation} {status}")
    if config.getoption("--contract-complete"):
        terminalreporter.line("(--contract-complete: the run fails)")


def pytest_sessionfinish(session, exitstatus):
    unseen = harness.CONTRACT.documented_pairs() - harness.CONTRACT.seen
    if session.config.getoption("--contract-complete") and exitstatus == 0 and unseen:
        session.exitstatus = 1


def pytest_generate_tests(metafunc):
    """Choose the backends of each test from its markers."""
    if "backend" not in metafunc.fixturenames:
        return
    markers = [m for name in ("postgres", "redis") for m in metafunc.definition.iter_markers(name)]
    if not markers:
        names = [EMBEDDED]
    elif any(m.kwargs.get("only") for m in markers):
        names = [SERVICES]
    else:
        names = [EMBEDDED, SERVICES]
    metafunc.parametrize("backend", names, indirect=True, scope="session")


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


@pytest.fixture(scope="session", autouse=True)
def _suite_log_scan():
    """Every line the whole run logs, scanned for secrets; the run fails at its end if
    one held any (tests/test_logs.py, ``SuiteLogScan``)."""
    from tests import test_logs
    from tests.helpers import PASSWORD

    known = {"test password": PASSWORD, "hostile password": test_logs.PASSWORD, "KEK": KEK}
    known["SECRET_KEY"] = base_settings(None, None, Path())["SECRET_KEY"]
    scan = test_logs.SuiteLogScan(known)
    with scan.installed():
        yield scan
    if problem := scan.verdict():
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def backend(request, tmp_path_factory, smtp_server) -> harness.Backend:
    """One database per backend per session, built by the Alembic migrations, and the
    app built on it once."""
    name = request.param
    if name == EMBEDDED:
        url, redis_url = harness.sqlite_url(tmp_path_factory.mktemp("db")), None
    else:
        reason = harness.reachable(PG_URL, REDIS_URL)
        if reason:
            if REQUIRE_SERVICES:
                pytest.fail(f"{reason}; IDP_TEST_REQUIRE_SERVICES=1 forbids skipping")
            pytest.skip(reason)
        harness.fresh_postgres(PG_URL)
        harness.fresh_redis(REDIS_URL)
        url, redis_url = PG_URL, REDIS_URL
    settings = base_settings(url, redis_url, tmp_path_factory.mktemp("instance"))
    settings["IDP_SMTP_URL"] = smtp_server.url
    return harness.Backend(name, settings)


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
def app_settings():
    """Settings on top of the test settings for this module's shared app (override it in
    a module or conftest, e.g. the payment tests'); the app is built once per distinct
    settings per session."""
    return {}


@pytest.fixture
def _database(request, backend, app_settings):
    """This test's database: a rolled-back transaction, or real commits when the test
    (or a fixture it uses) asks for ``committed_db``.  Yields the apps made so far (the
    test's shared app first) and what binds further apps to the transaction."""
    made = [backend.app_for(app_settings)]
    if "committed_db" in request.fixturenames:
        with backend.committed(made):
            yield made, None
    else:
        with backend.transaction(made) as binder:
            yield made, binder
    for app in made:
        backend.reset(app)
    for app in made[1:]:
        with app.app_context():
            _db.engine.dispose()


@pytest.fixture
def committed_db(_database):
    """Opt out of the rolled-back transaction: this test's writes are really committed
    (threads, live servers, several connections, concurrency), and every table is
    emptied after it."""


@pytest.fixture
def make_app(backend, app_settings, _database):
    """Build further app instances (nodes) on the same database, with ``app_settings``
    and ``overrides`` on top of the test settings.  For a second browser on the same
    app, use ``new_browser``."""
    made, binder = _database

    def factory(**overrides):
        app = backend.build(**{**app_settings, **overrides})
        made.append(app)
        if binder is not None:
            binder.bind(app)
        return app

    return factory


@pytest.fixture
def app(_database):
    """The shared app of this backend (and ``app_settings``), with an app context for
    the test's own code; requests through test clients each get their own."""
    made, _ = _database
    with made[0].app_context():
        yield made[0]


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
    """A browser (test client with its own cookies) on the app."""
    return app.test_client()


@pytest.fixture
def new_browser(app):
    """Another browser on the same app: ``new_browser()`` is a test client with a cookie
    jar of its own (each test client is isolated from every other)."""
    return app.test_client


@pytest.fixture
def user(db):
    """A verified account with the password ``helpers.PASSWORD``."""
    return make_user()


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def signed_in(browser, user):
    """``browser`` (on ``client``) holding an SSO session for ``user``."""
    response = browser.login()
    assert response.status_code == 302, response.data[:300]
    return browser


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
