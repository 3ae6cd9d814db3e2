"""Prometheus metrics at ``GET /metrics`` (prometheus-client).

The packages below say what happened through ``idp.core.observe``; this module, in the
composition layer, turns those events into metric families, and adds at scrape time
what the database knows (signing-key age) and what this process's pool holds.

Under a multi-process server (granian's or gunicorn's workers) every process writes its
values to files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape, whichever worker answers
it, sums them (prometheus-client's multiprocess mode).  The variable must be set before
the server starts (deploy/granian.env, deploy/gunicorn.conf.py).

Access (``IDP_METRICS``): ``token`` (default) wants a bearer access token for the admin
audience with the ``metrics`` or ``admin`` scope; ``open`` serves anyone, for a node
whose /metrics only a private network reaches (docs/deploy.md); ``off`` removes the
endpoint.
"""

from __future__ import annotations

import glob
import os
import time

import sqlalchemy as sa
from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from idp.audit import services as audit
from idp.core import logs, observe
from idp.core import scopes as scope_names
from idp.core.config import ConfigError
from idp.core.extensions import db
from idp.oauth2.bearer import protector

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MULTIPROC_DIR:  # prometheus-client writes its files there from the first value on
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

REQUEST_SECONDS = Histogram(
    "idp_http_request_duration_seconds",
    "Time from the request's arrival to its response, by route template and status.",
    ["route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RATE_LIMITED = Counter(
    "idp_rate_limited_requests",
    "Requests refused with 429: sign-in limits and client-authentication lockouts.",
    ["route"],
)
TOKENS = Counter(
    "idp_tokens_issued", "Token responses, by grant type and app.", ["grant_type", "client_id"]
)
LOGIN_FAILURES = Counter("idp_login_failures", "Failed sign-ins, by reason.", ["reason"])
REFRESH_REUSE = Counter(
    "idp_refresh_reuse_detections", "A rotated refresh token presented again: family revoked."
)
CODE_REPLAY = Counter("idp_code_replay_detections", "An authorization code presented twice.")
WEBHOOKS = Counter("idp_webhook_events", "Stripe webhook deliveries.", ["type", "outcome"])
WALLET_OPERATIONS = Counter("idp_wallet_operations", "Ledger entries written, by kind.", ["kind"])
CREDITS_MOVED = Counter(
    "idp_wallet_credits_moved", "Credits moved (absolute balance change), by entry kind.", ["kind"]
)
POOL_IN_USE = Gauge(
    "idp_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live processes).",
    multiprocess_mode="livesum",
)


def _on_request(route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route, str(status)).observe(seconds)
    if status == 429:
        RATE_LIMITED.labels(route).inc()


def _on_audit(event: str, client_id: str | None, reason: str | None) -> None:
    if event == audit.LOGIN_FAILED:
        LOGIN_FAILURES.labels(reason or "unknown").inc()
    elif event == audit.REFRESH_REUSE:
        REFRESH_REUSE.inc()
    elif event == audit.CODE_REPLAY:
        CODE_REPLAY.inc()


def _on_token(grant_type: str, client_id: str) -> None:
    TOKENS.labels(grant_type, client_id).inc()


def _on_webhook(type: str, outcome: str) -> None:
    WEBHOOKS.labels(type, outcome).inc()


def _on_wallet(kind: str, amount: int) -> None:
    WALLET_OPERATIONS.labels(kind).inc()
    CREDITS_MOVED.labels(kind).inc(abs(amount))


def _on_checkout(*_) -> None:
    POOL_IN_USE.inc()


def _on_checkin(*_) -> None:
    POOL_IN_USE.dec()


class _ScrapeTime:
    """What is read when scraped: signing-key ages (the database) and this process's
    pool capacity."""

    def collect(self):
        from keys import services as key_store

        now = time.time()
        ages = GaugeMetricFamily(
            "idp_signing_key_age_seconds",
            "Seconds since each stored signing key was created, by status.",
            labels=["kid", "status"],
        )
        for key in key_store.all_keys():
            ages.add_metric([key.kid, key.status], now - key.created_at.timestamp())
        yield ages
        pool = getattr(db.engine, "pool", None)  # a test may bind the app to one connection
        if isinstance(pool, sa.pool.QueuePool):
            capacity = GaugeMetricFamily(
                "idp_db_pool_capacity",
                "Connections one process's pool may open (pool size plus overflow).",
            )
            capacity.add_metric([], pool.size() + max(pool._max_overflow, 0))
            yield capacity


class _ThisProcess:
    """The default registry (one process: development, tests) as a collector."""

    def collect(self):
        yield from REGISTRY.collect()


def _forget_dead_workers(path: str) -> None:
    """A worker that died (granian respawns it) leaves its live gauges behind; gunicorn
    has ``child_exit`` for this, granian has no hook, so each scrape sweeps them."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = int(name.rsplit("_", 1)[1][:-3])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, path)
        except PermissionError:  # alive, another user's: not ours to judge
            pass


def exposition() -> bytes:
    """The text every process's values add up to, plus the scrape-time families."""
    registry = CollectorRegistry()
    if MULTIPROC_DIR:
        _forget_dead_workers(MULTIPROC_DIR)
        multiprocess.MultiProcessCollector(registry, MULTIPROC_DIR)
    else:
        registry.register(_ThisProcess())
    registry.register(_ScrapeTime())
    return generate_latest(registry)


_admin_api = protector("IDP_ADMIN_AUDIENCE")


def _view() -> Response:
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)


def init_app(app) -> None:
    for event, listener in (
        (observe.REQUEST, _on_request),
        (observe.AUDIT, _on_audit),
        (observe.TOKEN_ISSUED, _on_token),
        (observe.WEBHOOK, _on_webhook),
        (observe.WALLET, _on_wallet),
    ):
        observe.listen(event, listener)
    if not sa.event.contains(sa.pool.Pool, "checkout", _on_checkout):
        sa.event.listen(sa.pool.Pool, "checkout", _on_checkout)
        sa.event.listen(sa.pool.Pool, "checkin", _on_checkin)
    access = logs.setting(app, "IDP_METRICS", "token")
    if access not in ("token", "open", "off"):
        raise ConfigError("IDP_METRICS must be token, open or off")
    if access == "off":
        return
    view = _view if access == "open" else _admin_api(sorted(scope_names.OPERATOR_SCOPES))(_view)
    # One per app (tests build apps both ways).  Not a JSONBlueprint: outside the API's
    # URL spaces a refused request gets the hosted error page; the bearer-token
    # challenges (401, 403) are Authlib's JSON.
    bp = Blueprint("metrics", __name__)
    bp.add_url_rule("/metrics", "metrics", view, methods=["GET"])
    app.register_blueprint(bp)
