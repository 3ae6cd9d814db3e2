"""``GET /readyz``: ready when the database answers, and Redis when one is configured;
503 naming the failed check when either is unreachable.  ``/healthz`` stays liveness:
it answers whatever the database and Redis do."""

from __future__ import annotations

import socket

import pytest


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.redis
def test_ready_when_every_dependency_answers(client, app):
    response = client.get("/readyz")
    assert response.status_code == 200
    expected = {"database": "ok"}
    if app.config["REDIS_URL"]:
        expected["redis"] = "ok"
    assert response.json == {"status": "ok", "checks": expected}


@pytest.mark.postgres(only=True)
def test_unready_when_the_database_is_unreachable(make_app, committed_db):
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere"
    node = make_app(DATABASE_URL=url, REDIS_URL=None)
    http = node.test_client()

    response = http.get("/readyz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"database": "unavailable"}}
    assert http.get("/healthz").status_code == 200  # liveness does not depend on it


@pytest.mark.redis(only=True)
def test_unready_when_redis_is_unreachable(make_app, committed_db):
    # Rate limits off: their counters would live in the unreachable Redis too.
    node = make_app(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0", IDP_RATELIMIT_ENABLED=0)
    http = node.test_client()

    response = http.get("/readyz")

    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }
    assert http.get("/healthz").status_code == 200


@pytest.mark.redis(only=True)
def test_a_redis_that_does_not_answer_times_out_quickly(make_app, committed_db):
    """A server that accepts the connection and never replies: the check gives up after
    IDP_READYZ_TIMEOUT instead of holding the worker."""
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        node = make_app(
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            IDP_READYZ_TIMEOUT=0.3,
            IDP_RATELIMIT_ENABLED=0,
        )
        started = time.monotonic()
        response = node.test_client().get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.json["checks"]["redis"] == "unavailable"
    assert elapsed < 2


def test_a_refused_request_is_a_400_page(client):
    response = client.get("/readyz?probe=a%00b")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
