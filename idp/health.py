"""Liveness ``GET /healthz`` (the process answers) and readiness ``GET /readyz`` (it can
serve: the database answers, and Redis when ``REDIS_URL`` is set).

A load balancer takes a node out of rotation on a failing ``/readyz`` and an orchestrator
restarts it on a failing ``/healthz``: a database outage must not restart every node, so
liveness checks nothing outside the process.  Each readiness check gives up after
``IDP_READYZ_TIMEOUT`` seconds (default 2): on PostgreSQL a statement timeout, on Redis
socket timeouts; connecting to an unreachable PostgreSQL host is bounded by libpq's
``PGCONNECT_TIMEOUT`` (deploy/granian.env sets it).
"""

from __future__ import annotations

import logging

import redis
import sqlalchemy as sa
from flask import Blueprint, current_app

from idp.core import logs
from idp.core.errors import JSONBlueprint
from idp.core.extensions import db

bp = JSONBlueprint("health", __name__)
# Outside the API's URL spaces, so a request the input guard refuses gets the hosted
# error page like any other such path; its own answers (200, 503) are JSON.
readiness = Blueprint("readiness", __name__)
log = logging.getLogger("idp.health")
_REDIS = "idp_readyz_redis"


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@readiness.get("/readyz")
def readyz():
    checks = {"database": _database()}
    if current_app.extensions.get(_REDIS) is not None:
        checks["redis"] = _redis()
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def _database() -> str:
    timeout_ms = int(current_app.config["IDP_READYZ_TIMEOUT"] * 1000)
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(sa.text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        log.warning("readiness: database check failed (%s)", type(exc).__name__)
        return "unavailable"
    finally:
        db.session.rollback()  # ends the transaction SET LOCAL applied to
    return "ok"


def _redis() -> str:
    try:
        current_app.extensions[_REDIS].ping()
    except redis.RedisError as exc:
        log.warning("readiness: redis check failed (%s)", type(exc).__name__)
        return "unavailable"
    return "ok"


def init_app(app) -> None:
    timeout = float(logs.setting(app, "IDP_READYZ_TIMEOUT", "2"))
    app.config["IDP_READYZ_TIMEOUT"] = timeout
    url = app.config.get("REDIS_URL")
    # Its own client: the shared one waits as long as the socket lets it.
    app.extensions[_REDIS] = (
        redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        if url
        else None
    )
    app.register_blueprint(bp)
    app.register_blueprint(readiness)
