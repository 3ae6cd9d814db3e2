"""The SDK's tests run against the real server: gunicorn on loopback, PostgreSQL + Redis.

The database is ``<TEST_DATABASE_URL's name>_sdkpy``, dropped and recreated per session.
Redis is ``SDK_TEST_REDIS_URL`` (flushed: give it a db of its own) or else
``TEST_REDIS_URL``, where only the server's keys (``idp:*``, ``LIMITS:*``) that appear
during the run are deleted.
Without PostgreSQL or Redis the tests skip, or fail with ``IDP_TEST_REQUIRE_SERVICES=1``.

Forged tokens are signed with ``tests/files/rsa_key_1.pem``, which the setup imports as
the server's active key (so the real JWKS vouches for them).  ``test_rotation.py`` rotates
and finally removes it, so it runs last (``pytest_collection_modifyitems``).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

import sdk_live as live

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _unavailable(reason: str):
    if os.environ.get("IDP_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def _database_urls() -> tuple[str, str, str]:
    """(server URL of our database, maintenance URL, our database name)."""
    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_DB)
    parts = urlsplit(base.replace("postgresql+psycopg://", "postgresql://"))
    name = (parts.path.lstrip("/") or "test") + "_sdkpy"
    ours = urlunsplit(parts._replace(path="/" + name))
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    return ours, maintenance, name


def _recreate_database() -> str:
    ours, maintenance, name = _database_urls()
    try:
        import psycopg

        with psycopg.connect(maintenance, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        _unavailable(f"PostgreSQL at {maintenance}: {type(exc).__name__}")
    return ours


class RedisScope:
    """Cleans up only what this run made."""

    def __init__(self) -> None:
        import redis

        dedicated = os.environ.get("SDK_TEST_REDIS_URL")
        self.url = dedicated or os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)
        self.dedicated = bool(dedicated)
        try:
            self.client = redis.Redis.from_url(self.url, socket_timeout=3)
            self.client.ping()
        except Exception as exc:
            _unavailable(f"Redis at {self.url}: {type(exc).__name__}")
        if self.dedicated:
            self.client.flushdb()
        self.before = self._ours()

    def _ours(self) -> set[bytes]:
        """The server's keys: ``idp:*`` (deny list, limiter) and ``LIMITS:*`` (the limits
        library's own prefix)."""
        return {k for pattern in ("idp:*", "LIMITS:*") for k in self.client.scan_iter(pattern)}

    def cleanup(self) -> None:
        if self.dedicated:
            self.client.flushdb()
            return
        mine = list(self._ours() - self.before)
        if mine:
            self.client.delete(*mine)


def _run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command[1:4])} failed:\n{result.stderr[-3000:]}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def services(tmp_path_factory):
    """Database, Redis and the environment every server process of the run shares."""
    database_url = _recreate_database()
    redis_scope = RedisScope()
    instance = tmp_path_factory.mktemp("instance")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_scope.url,
        "IDP_ENV": "development",
        "IDP_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "sdk-tests-" + "s" * 40,
        "IDP_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"k" * 32).decode(),
        "IDP_PAYMENTS": "simulated",
        # Purchases above 1000 credits want a recent second factor (RFC 9470 step-up).
        "IDP_STEP_UP_PURCHASE_CREDITS": "1000",
        "IDP_KEY_REFRESH_SECONDS": "1",
        "IDP_OUTBOX_DELIVERY": "cli",
        "IDP_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),  # the server code of this checkout, also for the scripts
        # Cheap password hashing: sign-ins are setup here, not the subject.
        "IDP_ARGON2_TIME_COST": "1",
        "IDP_ARGON2_MEMORY_COST": "8192",
        "IDP_ARGON2_PARALLELISM": "1",
    }
    for name in ("FLASK_APP", "IDP_ISSUER", "TESTING"):
        env.pop(name, None)
    env["IDP_ISSUER"] = "http://127.0.0.1:1"  # the CLI needs one; servers set their own
    run = [sys.executable, "-m", "flask", "--app", "wsgi"]
    setup = _run([sys.executable, str(Path(__file__).with_name("server_setup.py"))], env)
    data = json.loads(setup.stdout.strip().splitlines()[-1])
    yield live.Services(env=env, data=data, flask=run, repo=REPO, logs=instance)
    redis_scope.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server(services):
    """The IdP under gunicorn for the whole session."""
    srv = live.Server(services, free_port(), "main")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def disposable_server(services):
    """A second gunicorn on the same database, for tests that take the IdP down."""
    srv = live.Server(services, free_port(), f"disposable-{time.monotonic_ns()}")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def shop(services) -> dict:
    return services.data["shop"]


@pytest.fixture(scope="session")
def ada(services) -> dict:
    return services.data["users"]["ada@example.com"]


@pytest.fixture(scope="session")
def bob(services) -> dict:
    return services.data["users"]["bob@example.com"]


@pytest.fixture(scope="session")
def ada_tokens(server, shop) -> dict:
    """Ada's tokens for the shop app through the real authorization-code flow."""
    return live.authorization_code_tokens(server.url, shop, "ada@example.com", live.WALLET)


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def pytest_collection_modifyitems(items):
    """Rotation last: it removes rsa_key_1, which forged tokens and the session's early
    tokens are signed with."""
    items.sort(key=lambda item: item.module.__name__ == "test_rotation")
