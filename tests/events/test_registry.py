"""`flask apps webhooks ...` and the admin API over endpoints."""

from __future__ import annotations

import json

import pytest

from tests.helpers import Apps, bearer


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=["apps", "webhooks", *args, "--json"])
    return result.exit_code, json.loads(result.output)


def test_add_prints_the_id_and_the_one_time_secret(app, partner):
    code, body = cli(
        app,
        "add",
        "shop",
        "--url",
        "https://hooks.shop.example/in",
        "--events",
        "credits.purchased,credits.low",
    )
    assert code == 0
    assert body["id"].startswith("ep_") and body["secret"].startswith("whsec_")
    assert body["events"] == ["credits.low", "credits.purchased"]
    code, listed = cli(app, "list", "shop")
    assert code == 0 and [e["id"] for e in listed] == [body["id"]]
    assert "secret" not in listed[0]
    code, rotated = cli(app, "rotate-secret", body["id"])
    assert code == 0 and rotated["secret"] not in (body["secret"], None)
    code, _ = cli(app, "remove", body["id"])
    assert code == 0
    assert cli(app, "list", "shop") == (0, [])


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["add", "nope", "--url", "https://h.example/"], "not_found"),
        (["add", "shop", "--url", "http://h.example/"], "invalid_webhook_url"),
        (["add", "shop", "--url", "https://10.0.0.1/"], "invalid_webhook_url"),
        (
            ["add", "shop", "--url", "https://h.example/", "--events", "credits.stolen"],
            "invalid_event_type",
        ),
        (["add", "shop", "--url", "https://h.example/", "--contact-email", "x"], "invalid_webhook"),
        (["remove", "ep_nope"], "not_found"),
        (["rotate-secret", "ep_nope"], "not_found"),
    ],
)
def test_refusals(app, partner, args, error):
    code, body = cli(app, *args)
    assert (code, body["error"]) == (1, error)


@pytest.fixture
def admin_token(client, apps):
    admin = apps.admin()
    return Apps.token(client, admin, "admin").json["access_token"]


def test_the_admin_api(client, partner, admin_token):
    auth = bearer(admin_token)
    url = "/api/cross-app/apps/shop/webhooks"
    made = client.post(url, json={"url": "https://hooks.shop.example/in"}, headers=auth)
    assert made.status_code == 201, made.json
    assert made.json["secret"].startswith("whsec_")
    assert made.headers["Cache-Control"] == "no-store"
    listed = client.get(url, headers=auth)
    assert [e["id"] for e in listed.json["endpoints"]] == [made.json["id"]]
    patched = client.patch(
        f"/api/cross-app/webhooks/{made.json['id']}",
        json={"contact_email": "ops@shop.example", "low_balance_threshold": 10},
        headers=auth,
    )
    assert patched.json["contact_email"] == "ops@shop.example"
    assert (
        client.delete(f"/api/cross-app/webhooks/{made.json['id']}", headers=auth).status_code == 204
    )
    assert client.get(url).status_code == 401
    bad = client.post(url, json={"url": "http://hooks.shop.example/"}, headers=auth)
    assert (bad.status_code, bad.json["error"]) == (400, "invalid_webhook_url")


def test_update_sets_the_contact_and_re_enables(app, db, partner):
    from idp.events import endpoints
    from idp.events.models import ACTIVE, DISABLED

    endpoint, _ = endpoints.add("shop", "https://hooks.shop.example/in")
    endpoint.status, endpoint.failures = DISABLED, 10
    db.session.commit()
    code, body = cli(
        app,
        "update",
        endpoint.id,
        "--contact-email",
        "ops@shop.example",
        "--low-balance-threshold",
        "50",
        "--enable",
    )
    assert code == 0
    assert (body["status"], body["failures"], body["contact_email"]) == (
        ACTIVE,
        0,
        "ops@shop.example",
    )
    assert body["low_balance_threshold"] == 50
    code, body = cli(app, "update", endpoint.id, "--low-balance-threshold", "0")
    assert (code, body["error"]) == (1, "invalid_webhook")


def test_without_json_the_cli_prints_lines_and_errors(app, partner):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["apps", "webhooks", "add", "shop", "--url", "https://h.example/"])
    assert made.exit_code == 0
    assert any(line.startswith("secret  whsec_") for line in made.output.splitlines())
    refused = runner.invoke(args=["apps", "webhooks", "remove", "ep_nope"])
    assert refused.exit_code == 1
    assert "not_found" in refused.output


def test_the_admin_replay(client, db, user, hook, receiver, admin_token):
    from idp.core import outbox
    from idp.oauth2 import services as oauth2

    oauth2.grant_consent(user.id, "shop", "openid")
    outbox.drain()
    event_id = receiver.requests[0]["headers"]["webhook-id"]
    replayed = client.post(
        f"/api/cross-app/webhook-events/{event_id}/replay", headers=bearer(admin_token)
    )
    assert replayed.json == {"event": event_id, "endpoints": [hook[0].id]}
    assert [r["headers"]["webhook-id"] for r in receiver.requests] == [event_id, event_id]


def test_an_endpoint_opts_in_to_consumed_credits_later(app, db, user, partner, receiver):
    from idp.core import outbox
    from idp.core.events_hook import emit
    from idp.oauth2 import services as oauth2

    code, made = cli(app, "add", "shop", "--url", receiver.url)  # the default types
    assert code == 0 and "credits.consumed" not in made["events"]
    oauth2.grant_consent(user.id, "shop", "openid credits:read")
    outbox.drain()
    receiver.requests.clear()
    emit("credits.consumed", user.id, {"credits": 1, "available_after": 9})
    outbox.commit()
    assert receiver.requests == []
    code, body = cli(app, "update", made["id"], "--events", "credits.consumed,credits.low")
    assert (code, body["events"]) == (0, ["credits.consumed", "credits.low"])
    emit("credits.consumed", user.id, {"credits": 2, "available_after": 7})
    outbox.commit()
    assert [e["data"]["credits"] for e in receiver.events()] == [2]
    code, body = cli(app, "update", made["id"], "--events", "credits.stolen")
    assert (code, body["error"]) == (1, "invalid_event_type")


def test_the_admin_api_changes_the_types(client, partner, admin_token):
    auth = bearer(admin_token)
    made = client.post(
        "/api/cross-app/apps/shop/webhooks", json={"url": "https://h.shop.example/"}, headers=auth
    )
    url = f"/api/cross-app/webhooks/{made.json['id']}"
    changed = client.patch(url, json={"events": ["credits.consumed"]}, headers=auth)
    assert (changed.status_code, changed.json["events"]) == (200, ["credits.consumed"])
    refused = client.patch(url, json={"events": "nope"}, headers=auth)
    assert (refused.status_code, refused.json["error"]) == (400, "invalid_event_type")
