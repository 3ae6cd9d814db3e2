"""``GET /metrics``: who may read it, and each metric family moving when its event happens.

Counters live in the process for the whole session (as under a server), so each test
reads a family before and after the action and asserts the difference."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask_migrate import upgrade
from prometheus_client.parser import text_string_to_metric_families

from idp import create_app
from idp.oauth2.server import authorization_server
from idp.users import services as users
from idp.users.errors import InvalidCredentials
from keys.signer import key_cache
from tests.helpers import PASSWORD, Flow, bearer
from tests.wallet.actions import fund
from wallet import services as wallet_services
from wallet import simulated
from wallet.models import PROMO_GRANT


@pytest.fixture
def shop(apps):
    return apps.create(
        client_id="shop",
        type="confidential",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid offline_access credits:read",
        audience="https://shop.example",
    )


@pytest.fixture
def ops(apps):
    return apps.admin()


@pytest.fixture
def scrape(client, apps, ops):
    """``scrape()``: every sample of /metrics as {(name, labels...): value}."""
    token = apps.token(client, ops, "admin").json["access_token"]

    def read() -> dict:
        response = client.get("/metrics", headers=bearer(token))
        assert response.status_code == 200, response.data[:300]
        assert response.mimetype == "text/plain"
        samples = {}
        for family in text_string_to_metric_families(response.get_data(as_text=True)):
            for sample in family.samples:
                samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
        return samples

    return read


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, *sorted((k, str(v)) for k, v in labels.items())), 0.0)


def minted(app_client_id: str, scope: str, audience: str) -> str:
    """An access token of ours with exactly this scope and audience."""
    now = int(time.time())
    claims = {
        "iss": "https://idp.test",
        "sub": app_client_id,
        "aud": audience,
        "client_id": app_client_id,
        "scope": scope,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + 60,
    }
    return key_cache().sign(claims, typ="at+jwt")


# -- access ---------------------------------------------------------------------------------


def test_metrics_want_a_bearer_token(client, signing_keys):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert b"idp_" not in response.data


def test_a_token_for_another_audience_is_refused(client, apps, shop):
    token = apps.token(client, shop, "credits:read").json["access_token"]
    response = client.get("/metrics", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_an_admin_audience_token_without_the_scope_is_403(client, app, shop):
    token = minted("shop", "credits:read", app.config["IDP_ADMIN_AUDIENCE"])
    response = client.get("/metrics", headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


def test_a_metrics_scope_token_reads_them(client, shop):
    from idp.apps.services import query_client

    token = authorization_server().generate_token(
        "client_credentials", query_client("shop"), None, "metrics", include_refresh_token=False
    )
    response = client.get("/metrics", headers=bearer(token["access_token"]))
    assert response.status_code == 200
    assert b"idp_http_request_duration_seconds" in response.data


@pytest.mark.parametrize(("mode", "status"), [("open", 200), ("off", 404)])
def test_the_access_setting(make_app, signing_keys, mode, status):
    node = make_app(IDP_METRICS=mode)
    response = node.test_client().get("/metrics")
    assert response.status_code == status


def test_an_unknown_access_setting_refuses_to_start(make_app):
    from idp.core.config import ConfigError

    with pytest.raises(ConfigError, match="IDP_METRICS"):
        make_app(IDP_METRICS="public")


# -- families -------------------------------------------------------------------------------


def test_request_latency_by_route_and_status(client, scrape):
    before = scrape()
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page")
    after = scrape()
    name = "idp_http_request_duration_seconds_count"
    assert value(after, name, route="/healthz", status=200) - value(
        before, name, route="/healthz", status=200
    ) == pytest.approx(2)
    # An unknown path is one label value, never the path itself (bounded cardinality).
    assert value(after, name, route="<unmatched>", status=404) > value(
        before, name, route="<unmatched>", status=404
    )
    assert not any("/no/such/page" in str(key) for key in after)


def test_tokens_issued_by_grant_type_and_app(client, apps, shop, scrape):
    name = "idp_tokens_issued_total"
    before = value(scrape(), name, grant_type="client_credentials", client_id="shop")
    assert apps.token(client, shop, "credits:read").status_code == 200
    assert apps.token(client, shop, "credits:read").status_code == 200
    after = value(scrape(), name, grant_type="client_credentials", client_id="shop")
    assert after - before == 2


def test_login_failures_by_reason(app, user, scrape):
    name = "idp_login_failures_total"
    before = scrape()
    for email, password in [(user.email, "wrong-password-x"), ("nobody@example.com", PASSWORD)]:
        with app.test_request_context("/login", method="POST"), pytest.raises(InvalidCredentials):
            users.authenticate(email, password)
    after = scrape()
    for reason in ("bad_password", "unknown_account"):
        assert value(after, name, reason=reason) - value(before, name, reason=reason) == 1


def test_lockouts_are_counted_as_refused_requests(make_app, apps, signing_keys, scrape):
    node = make_app(IDP_RATELIMIT_CLIENT_AUTH="2/minute")
    http = node.test_client()
    with node.app_context():
        shop = apps.confidential("locked-shop")
    wrong = {**shop, "client_secret": "not-the-secret"}
    name = "idp_rate_limited_requests_total"
    before = value(scrape(), name, route="/oauth/token")
    statuses = [apps.token(http, wrong).status_code for _ in range(4)]
    assert statuses[-1] == 429
    after = value(scrape(), name, route="/oauth/token")
    assert after - before == statuses.count(429)


def test_refresh_reuse_detections(client, signed_in, shop, scrape):
    flow = Flow(client, signed_in)
    first = flow.tokens(shop, "openid offline_access")["refresh_token"]
    assert flow.refresh(shop, first).status_code == 200
    before = value(scrape(), "idp_refresh_reuse_detections_total")
    assert flow.refresh(shop, first).status_code == 400  # reuse: the family is revoked
    assert value(scrape(), "idp_refresh_reuse_detections_total") - before == 1


@pytest.mark.parametrize(
    ("signed", "event_type", "labels"),
    [
        (False, "checkout.session.completed", {"type": "unverified", "outcome": "rejected"}),
        (True, "customer.created", {"type": "other", "outcome": "ignored"}),
    ],
)
def test_webhook_events_by_type_and_outcome(
    make_app, signing_keys, scrape, signed, event_type, labels
):
    node = make_app(IDP_PAYMENTS="simulated")
    event = {"id": "evt_" + secrets.token_hex(6), "type": event_type, "created": 1}
    event["data"] = {"object": {}}
    payload = json.dumps(event)
    secret = node.config["IDP_STRIPE_WEBHOOK_SECRET"] if signed else "whsec_other"
    before = value(scrape(), "idp_webhook_events_total", **labels)
    response = node.test_client().post(
        "/stripe/webhook",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": simulated.sign(payload, secret)},
    )
    assert response.status_code == (200 if signed else 400)
    assert value(scrape(), "idp_webhook_events_total", **labels) - before == 1


def test_wallet_operations_and_credits_moved_by_kind(db, user, scrape):
    ops, moved = "idp_wallet_operations_total", "idp_wallet_credits_moved_total"
    before = scrape()
    wallet = fund(user, 50)
    wallet_services.consume(user.id, 20, "render", "key-1", "shop", "app:shop")
    assert wallet.id
    after = scrape()
    assert value(after, ops, kind=PROMO_GRANT) - value(before, ops, kind=PROMO_GRANT) == 1
    assert value(after, moved, kind=PROMO_GRANT) - value(before, moved, kind=PROMO_GRANT) == 50
    assert value(after, ops, kind="consume") - value(before, ops, kind="consume") == 1
    assert value(after, moved, kind="consume") - value(before, moved, kind="consume") == 20


def test_signing_key_age(scrape, signing_keys):
    samples = scrape()
    age = value(samples, "idp_signing_key_age_seconds", kid=signing_keys["active"], status="active")
    assert 86400 <= age < 86400 + 300  # install_fixed_keys made them a day ago
    assert value(samples, "idp_signing_key_age_seconds", kid=signing_keys["next"], status="next")


def test_database_pool_usage(app, db, committed_db, scrape):
    name = "idp_db_pool_connections_in_use"
    idle = value(scrape(), name)
    with db.engine.connect():
        held = value(scrape(), name)
    assert held - idle == 1
    assert value(scrape(), name) == idle
    assert value(scrape(), "idp_db_pool_capacity") >= 1


# -- several worker processes ---------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


def env_file(path: Path) -> dict:
    """KEY=VALUE lines of deploy/granian.env (what `set -a; . file` exports)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str) -> tuple[int, str]:
    """One request on its own connection, so the workers share them out."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def server_command(server: str, port: int) -> tuple[list[str], dict]:
    """The production command of ``server`` with its committed config, on ``port``."""
    binary = Path(sys.executable).parent
    if server == "granian":
        env = env_file(ROOT / "deploy" / "granian.env")
        env.update(GRANIAN_HOST="127.0.0.1", GRANIAN_PORT=str(port), GRANIAN_WORKERS="2")
        return [str(binary / "granian"), "wsgi:app"], env
    env = {"IDP_BIND": f"127.0.0.1:{port}", "IDP_WORKERS": "2"}
    return [str(binary / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "wsgi:app"], env


@contextlib.contextmanager
def running(server: str, tmp_path: Path):
    """The server on a migrated SQLite database, metrics open; yields (port, metrics dir)."""
    database = f"sqlite:///{tmp_path / 'idp.sqlite3'}"
    settings = {"DATABASE_URL": database, "IDP_INSTANCE_PATH": str(tmp_path), "IDP_METRICS": "open"}
    with create_app(settings).app_context():
        upgrade()
    port, metrics_dir = free_port(), tmp_path / "prometheus"
    command, env = server_command(server, port)
    env = {**os.environ, **env, **settings, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / "server.log"
            ).read_text()
            time.sleep(0.2)
        yield port, metrics_dir
    finally:
        process.send_signal(signal.SIGTERM)  # the graceful shutdown both configs set up
        try:
            process.wait(timeout=40)
        finally:
            process.kill()
            log.close()


def pids_with_values(metrics_dir: Path) -> set[int]:
    return {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob("histogram_*.db")}


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_metrics_add_up_across_two_worker_processes(tmp_path, server):
    """Under the production servers' committed configs, /metrics (answered by one
    worker) counts the requests every worker served, and the JSON access lines are there."""
    with running(server, tmp_path) as (port, metrics_dir):
        sent, deadline = 0, time.monotonic() + 60
        with ThreadPoolExecutor(8) as pool:
            # Until both workers have served some: the second may still be starting.
            while len(pids_with_values(metrics_dir)) < 2 and time.monotonic() < deadline:
                statuses = list(pool.map(lambda _: get(port, "/readyz")[0], range(40)))
                assert statuses == [200] * 40
                sent += 40
                time.sleep(0.2)
        assert len(pids_with_values(metrics_dir)) == 2, "one worker served every request"
        status, text = get(port, "/metrics")
    assert status == 200
    samples = {
        (s.name, *sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    count = ("idp_http_request_duration_seconds_count", ("route", "/readyz"), ("status", "200"))
    assert samples[count] == sent
    lines = [
        json.loads(x) for x in (tmp_path / "server.log").read_text().splitlines() if x[:1] == "{"
    ]
    access = [x for x in lines if x.get("logger") == "idp.access" and x["route"] == "/readyz"]
    assert len(access) == sent and all(len(x["request_id"]) == 32 for x in access)
