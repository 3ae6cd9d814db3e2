"""The Python SDK's ``verify_webhook`` on the server's own deliveries (a real receiver),
and what it refuses."""

from __future__ import annotations

import pytest
from cross_app_sdk.webhooks import WebhookVerificationError, verify_webhook

from idp.core import outbox
from idp.events.signing import new_secret
from idp.oauth2 import services as oauth2


@pytest.fixture
def delivered(db, user, hook, receiver):
    oauth2.grant_consent(user.id, "shop", "openid email")
    outbox.drain()
    [request] = receiver.requests
    return request


def test_the_sdk_returns_the_typed_event(delivered, hook, user):
    event = verify_webhook(delivered["body"], delivered["headers"], hook[1])
    assert (event.type, event.sub) == ("consent.granted", user.sub)
    assert event.id == delivered["headers"]["webhook-id"]
    assert event.data["email"] == user.email
    assert event.timestamp.tzinfo is not None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda b, h: (b + b" ", h), "invalid_signature"),
        (lambda b, h: (b, {**h, "webhook-id": "evt_other"}), "invalid_signature"),
        (
            lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-signature"}),
            "missing_headers",
        ),
        (lambda b, h: (b, {**h, "webhook-timestamp": "100"}), "timestamp_out_of_tolerance"),
        (lambda b, h: (b, {**h, "webhook-timestamp": "soon"}), "invalid_timestamp"),
    ],
)
def test_the_sdk_refuses_a_changed_delivery(delivered, hook, change, reason):
    body, headers = change(delivered["body"], dict(delivered["headers"]))
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(body, headers, hook[1])
    assert caught.value.reason == reason


def test_the_sdk_refuses_another_secret(delivered):
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(delivered["body"], delivered["headers"], new_secret())
    assert caught.value.reason == "invalid_signature"


def test_the_flask_helper_answers_400_to_a_forgery(delivered, hook):
    from cross_app_sdk.webhooks import flask_event
    from flask import Flask

    receiver = Flask("receiver")
    receiver.post("/hooks")(lambda: {"type": flask_event(hook[1]).type})
    http = receiver.test_client()
    good = http.post("/hooks", data=delivered["body"], headers=delivered["headers"])
    assert (good.status_code, good.json) == (200, {"type": "consent.granted"})
    forged = http.post("/hooks", data=delivered["body"] + b"x", headers=delivered["headers"])
    assert forged.status_code == 400


def test_the_sdk_knows_the_shape_of_every_type():
    from cross_app_sdk.webhooks import EVENT_DATA

    from idp.events.types import FIELDS, TYPES

    assert sorted(EVENT_DATA) == sorted(TYPES)
    for kind, fields in FIELDS.items():
        assert set(fields) <= set(EVENT_DATA[kind].__annotations__), kind
