"""Delivery through the outbox: Standard Webhooks signatures checked by the
``standardwebhooks`` library on a real HTTP receiver, retries on our schedule, every
attempt recorded, disable after three days of failure, replay, and exactly one delivery
of an event committed before a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import idp.events
from idp.core import outbox
from idp.core.db_types import utcnow
from idp.core.outbox import OutboxMessage
from idp.events import delivery
from idp.events.models import DISABLED, WebhookAttempt, WebhookEndpoint
from idp.oauth2 import services as oauth2


def schedule(app) -> list[timedelta]:
    """The waits after each failed attempt (IDP_WEBHOOK_RETRY_SCHEDULE)."""
    return [timedelta(seconds=s) for s in app.config["IDP_WEBHOOK_RETRY_SCHEDULE"]]


def consent(user, client_id="shop", scope="openid email credits:read"):
    """The user grants the app (this emits consent.granted), committed, then delivered."""
    oauth2.grant_consent(user.id, client_id, scope)
    outbox.drain()


def due_now(db):
    """Let every pending webhook retry be due (time passing, without the wait)."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.kind == "webhook", OutboxMessage.next_attempt_at.is_not(None))
        .values(next_attempt_at=utcnow())
    )
    db.session.commit()


def pending(db) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(
        OutboxMessage.kind == "webhook", OutboxMessage.next_attempt_at.is_not(None)
    )
    return list(db.session.scalars(query))


@pytest.mark.postgres
def test_the_receiver_verifies_the_signature_with_the_standard_library(db, user, hook, receiver):
    _, secret = hook
    consent(user)
    [request] = receiver.requests
    event = Webhook(secret).verify(request["body"], request["headers"])
    assert event["type"] == "consent.granted"
    assert event["data"] == {
        "sub": user.sub,
        "email": user.email,
        "email_verified": True,
        "client_id": "shop",
        "scopes": ["openid", "email", "credits:read"],
    }
    assert request["headers"]["webhook-id"] == event["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(idp.events.signing.new_secret()).verify(request["body"], request["headers"])
    [attempt] = db.session.scalars(select(WebhookAttempt)).all()
    assert (attempt.ok, attempt.status_code, attempt.attempt) == (True, 204, 1)


def test_a_rotated_secret_signs_the_next_delivery(db, user, hook, receiver):
    endpoint, old = hook
    _, new = idp.events.endpoints.rotate_secret(endpoint.id)
    db.session.commit()
    consent(user)
    [request] = receiver.requests
    assert Webhook(new).verify(request["body"], request["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request["body"], request["headers"])


@pytest.mark.postgres
def test_failures_are_retried_on_the_schedule_and_recorded(app, db, user, hook, receiver):
    receiver.status = 500
    consent(user)
    [retry] = pending(db)
    assert retry.payload["attempt"] == 2
    wait = retry.next_attempt_at - utcnow()
    assert timedelta(seconds=3) < wait <= schedule(app)[0]
    due_now(db)
    outbox.drain()
    [retry] = pending(db)
    assert retry.payload["attempt"] == 3
    assert retry.next_attempt_at - utcnow() > schedule(app)[1] - timedelta(seconds=5)
    receiver.status = 200
    due_now(db)
    outbox.drain()
    assert pending(db) == []
    attempts = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [(a.attempt, a.ok, a.status_code) for a in attempts] == [
        (1, False, 500),
        (2, False, 500),
        (3, True, 200),
    ]
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert db.session.get(WebhookEndpoint, hook[0].id).failures == 0


def test_the_default_schedule_spans_about_three_days(app):
    total = sum(schedule(app), timedelta())
    assert timedelta(days=2, hours=20) < total < timedelta(days=3, hours=4)


def test_an_endpoint_failing_every_attempt_is_disabled_and_its_contact_told(
    app, db, user, hook, receiver, mailbox
):
    receiver.status = 503
    consent(user)
    for _ in schedule(app):
        due_now(db)
        outbox.drain()
    endpoint = db.session.get(WebhookEndpoint, hook[0].id)
    assert endpoint.status == DISABLED
    assert len(receiver.requests) == len(schedule(app)) + 1
    assert pending(db) == []
    [mail] = [m for m in mailbox.messages if "ops@shop.example" in m["To"]]
    assert "disabled" in mail["Subject"]
    # Disabled: later events are not sent.
    oauth2.revoke_consent(user.id, "shop")
    outbox.drain()
    assert len(receiver.requests) == len(schedule(app)) + 1


def test_a_receiver_that_does_not_answer_times_out(app, db, user, hook, receiver, monkeypatch):
    monkeypatch.setitem(app.config, "IDP_WEBHOOK_TIMEOUT_SECONDS", 0.2)
    receiver.server.RequestHandlerClass.do_POST = lambda handler: __import__("time").sleep(1)
    consent(user)
    [attempt] = db.session.scalars(select(WebhookAttempt)).all()
    assert (attempt.ok, attempt.error) == (False, "timeout")


def test_replay_sends_the_event_again_with_the_same_id(app, db, user, hook, receiver):
    consent(user)
    [first] = receiver.requests
    event_id = first["headers"]["webhook-id"]
    result = app.test_cli_runner().invoke(args=["apps", "webhooks", "replay", event_id, "--json"])
    assert result.exit_code == 0, result.output
    assert len(receiver.requests) == 2
    again = receiver.requests[1]
    assert again["headers"]["webhook-id"] == event_id
    assert Webhook(hook[1]).verify(again["body"], again["headers"])["id"] == event_id


def test_replay_of_an_unknown_event_is_not_found(app, db):
    result = app.test_cli_runner().invoke(args=["apps", "webhooks", "replay", "evt_x", "--json"])
    assert result.exit_code == 1
    assert '"error": "not_found"' in result.output


def test_an_event_committed_before_a_crash_is_delivered_once_after_restart(
    committed_db, make_app, user, hook, receiver
):
    # Only `flask events deliver` sends: the process "dies" after the commit.
    before = make_app(IDP_OUTBOX_DELIVERY="cli")
    with before.app_context():
        oauth2.grant_consent(user.id, "shop", "openid")
        outbox.commit()
    assert receiver.requests == []
    after = make_app(IDP_OUTBOX_DELIVERY="cli", IDP_OUTBOX_POLL_SECONDS=8)
    with after.app_context():  # the CLI runs in the app whose context is current
        runs = [after.test_cli_runner().invoke(args=["events", "deliver"]) for _ in range(2)]
    # The restarted process delivers it; its next round finds nothing left.
    assert [r.output.strip() for r in runs] == ["delivered 1", "delivered 0"]
    assert len(receiver.requests) == 1
    assert receiver.events()[0]["type"] == "consent.granted"


def test_a_crash_after_sending_resends_the_same_id(db, user, hook, receiver, monkeypatch):
    """Sent, then the process died before recording it: the outbox tries again (at least
    once) with the same webhook-id, so the receiver can drop the copy."""
    sent = delivery.send

    def send_then_crash(endpoint, event):
        sent(endpoint, event)
        raise SystemError("the process died here")

    monkeypatch.setattr(delivery, "send", send_then_crash)
    consent(user)
    assert len(receiver.requests) == 1
    assert db.session.scalars(select(WebhookAttempt)).all() == []  # nothing was recorded
    monkeypatch.setattr(delivery, "send", sent)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.kind == "webhook")
        .values(next_attempt_at=utcnow())
    )
    db.session.commit()
    outbox.drain()
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    [attempt] = db.session.scalars(select(WebhookAttempt)).all()
    assert attempt.ok
