"""idp/openapi/spec/events.yaml: in the served document it is valid OpenAPI 3.1, the
admin API answers as it says, and the server's real deliveries match its webhooks."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from idp import openapi
from idp.core import outbox
from idp.events.types import TYPES
from idp.oauth2 import services as oauth2
from tests.contract import Contract
from tests.helpers import Apps, bearer


def merged() -> dict:
    """The served document, which holds idp/openapi/spec/events.yaml."""
    return openapi.document()


def test_the_served_document_with_the_events_is_valid_openapi_3_1():
    validate(merged())


def test_every_event_type_is_a_webhook():
    assert set(merged()["webhooks"]) == set(TYPES)


def test_the_admin_api_answers_as_documented(client, apps, partner):
    contract = Contract(spec=merged())
    http = client
    token = Apps.token(http, apps.admin(), "admin").json["access_token"]
    auth = bearer(token)
    base = "/api/cross-app/apps/shop/webhooks"
    calls = [
        ("POST", base, {"url": "https://hooks.shop.example/in", "events": ["consent.granted"]}),
        ("POST", base, {"url": "http://hooks.shop.example/in"}),
        ("GET", base, None),
        ("GET", "/api/cross-app/apps/nope/webhooks", None),
    ]
    answers = [_call(http, contract, m, p, b, auth) for m, p, b in calls]
    endpoint = answers[0].json["id"]
    for method, path, body in [
        ("PATCH", f"/api/cross-app/webhooks/{endpoint}", {"contact_email": "ops@shop.example"}),
        ("PATCH", f"/api/cross-app/webhooks/{endpoint}", {"contact_email": "nope"}),
        ("POST", f"/api/cross-app/webhooks/{endpoint}/rotate-secret", None),
        ("POST", "/api/cross-app/webhook-events/evt_nope/replay", None),
        ("DELETE", f"/api/cross-app/webhooks/{endpoint}", None),
        ("DELETE", f"/api/cross-app/webhooks/{endpoint}", None),
    ]:
        _call(http, contract, method, path, body, auth)
    _call(http, contract, "GET", base, None, {})
    assert contract.violations == []
    assert {
        ("addWebhookEndpoint", "201"),
        ("addWebhookEndpoint", "400"),
        ("listWebhookEndpoints", "200"),
        ("listWebhookEndpoints", "404"),
        ("listWebhookEndpoints", "401"),
        ("updateWebhookEndpoint", "200"),
        ("updateWebhookEndpoint", "400"),
        ("rotateWebhookSecret", "200"),
        ("replayWebhookEvent", "404"),
        ("removeWebhookEndpoint", "204"),
        ("removeWebhookEndpoint", "404"),
    } <= contract.seen


def test_the_admin_api_refuses_a_token_without_admin_and_unknown_ids(client, apps, partner):
    """403 for an operator token without ``admin`` (a scraper's ``metrics``), 404 for an
    app, endpoint or event that does not exist."""
    scraper = apps.create(client_id="scraper", allowed_scopes="metrics", first_party=True)
    admin = bearer(Apps.token(client, apps.admin(), "admin").json["access_token"])
    metrics = bearer(Apps.token(client, scraper, "metrics").json["access_token"])
    hook = {"url": "https://hooks.shop.example/in"}
    operations = [
        ("POST", "/api/cross-app/apps/shop/webhooks", hook),
        ("GET", "/api/cross-app/apps/shop/webhooks", None),
        ("PATCH", "/api/cross-app/webhooks/we_nope", {"contact_email": "ops@shop.example"}),
        ("DELETE", "/api/cross-app/webhooks/we_nope", None),
        ("POST", "/api/cross-app/webhooks/we_nope/rotate-secret", None),
        ("POST", "/api/cross-app/webhook-events/evt_nope/replay", None),
    ]
    for method, path, body in operations:
        refused = client.open(path, method=method, json=body, headers=metrics)
        assert (refused.status_code, refused.json["error"]) == (403, "insufficient_scope")
    unknown = [("POST", "/api/cross-app/apps/nope/webhooks", hook), *operations[2:]]
    for method, path, body in unknown:
        missing = client.open(path, method=method, json=body, headers=admin)
        assert (missing.status_code, missing.json["error"]) == (404, "not_found"), path


def _call(http, contract, method, path, body, headers):
    response = http.open(path, method=method, json=body, headers=headers)
    contract.check(method, path, response.status_code, response.headers, response.data)
    return response


@pytest.fixture
def validators():
    doc = merged()
    registry = Registry().with_resource(
        "urn:openapi", Resource.from_contents(doc, default_specification=DRAFT202012)
    )

    def for_type(kind: str) -> Draft202012Validator:
        ref = doc["webhooks"][kind]["post"]["requestBody"]["content"]["application/json"]
        return Draft202012Validator(
            {"$ref": "urn:openapi#" + ref["schema"]["$ref"][1:]}, registry=registry
        )

    return for_type


def test_real_deliveries_match_their_webhooks(db, user, hook, receiver, validators):
    from idp.users.deletion import delete_account

    oauth2.grant_consent(user.id, "shop", "openid email profile credits:read")
    oauth2.revoke_consent(user.id, "shop")
    oauth2.grant_consent(user.id, "shop", "openid")
    delete_account(user, "self")
    outbox.drain()
    events = receiver.events()
    assert [e["type"] for e in events] == [
        "consent.granted",
        "consent.revoked",
        "consent.granted",
        "user.deleted",
    ]
    for event in events:
        assert list(validators(event["type"]).iter_errors(event)) == []


def test_the_new_types_deliveries_match_their_webhooks(db, user, hook, receiver, validators):
    """The wallet's events (as it emits them, internal fields and all), user.updated,
    each against its documented payload."""
    from idp.core.events_hook import emit
    from idp.events import endpoints
    from idp.users import services as users

    endpoints.update(hook[0].id, low_balance_threshold=50)
    oauth2.grant_consent(user.id, "shop", "openid email profile credits:read")
    outbox.drain()
    receiver.requests.clear()
    spent = {"credits": 3, "kind": "consume", "client_id": "blog", "service": None}
    emit("credits.consumed", user.id, {**spent, "available_after": 40})
    emit("credits.low", user.id, {"available_before": 60, "available_after": 40, "kind": "x"})
    emit("credits.expired", user.id, {"credits": 5, "available_after": 35})
    emit("credits.granted", user.id, {"credits": 9, "category": "promotional"})
    outbox.commit()
    users.update_profile(user, "Ada L.")
    outbox.drain()
    events = receiver.events()
    assert [e["type"] for e in events] == [
        "credits.consumed",
        "credits.low",
        "credits.expired",
        "credits.granted",
        "user.updated",
    ]
    for event in events:
        assert list(validators(event["type"]).iter_errors(event)) == [], event


def test_every_type_is_documented_as_a_webhook():
    from idp.events.types import TYPES

    assert sorted(merged()["webhooks"]) == sorted(TYPES)
