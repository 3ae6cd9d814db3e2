"""The delivery settings (IDP_WEBHOOK_*): checked at start-up with every other problem,
and what delivery does with them: the retry schedule, the attempt timeout, the disable
threshold, and the app's contact told when an endpoint is disabled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from idp import create_app
from idp.core import outbox
from idp.core.config import ConfigError
from idp.core.db_types import utcnow
from idp.core.defaults import DEFAULTS
from idp.core.outbox import OutboxMessage
from idp.events import endpoints
from idp.events.models import ACTIVE, DISABLED, WebhookAttempt, WebhookEndpoint
from idp.oauth2 import services as oauth2


@pytest.fixture
def clean_environment(monkeypatch):
    for name in DEFAULTS:
        monkeypatch.delenv(name, raising=False)


def build(tmp_path, **settings):
    return create_app({"IDP_INSTANCE_PATH": str(tmp_path), "TESTING": True, **settings})


def test_the_environment_spelling_becomes_a_tuple_of_seconds(clean_environment, tmp_path):
    app = build(tmp_path, IDP_WEBHOOK_RETRY_SCHEDULE=" 1, 60 ,3600")
    assert app.config["IDP_WEBHOOK_RETRY_SCHEDULE"] == (1, 60, 3600)
    assert (
        build(tmp_path, IDP_WEBHOOK_RETRY_SCHEDULE="").config["IDP_WEBHOOK_RETRY_SCHEDULE"] == ()
    )  # one attempt, no retry


def test_every_bad_setting_is_reported_at_once(clean_environment, tmp_path):
    with pytest.raises(ConfigError) as refused:
        build(
            tmp_path,
            IDP_WEBHOOK_RETRY_SCHEDULE="5,soon",
            IDP_WEBHOOK_TIMEOUT_SECONDS=0,
            IDP_WEBHOOK_DISABLE_AFTER_FAILURES="many",
            IDP_WEBHOOK_LISTENERS_CHECK_MS=-1,
        )
    named = sorted(problem.split()[0] for problem in refused.value.problems)
    assert named == [
        "IDP_WEBHOOK_DISABLE_AFTER_FAILURES",
        "IDP_WEBHOOK_LISTENERS_CHECK_MS",
        "IDP_WEBHOOK_RETRY_SCHEDULE",
        "IDP_WEBHOOK_TIMEOUT_SECONDS",
    ]


@pytest.mark.parametrize(
    "schedule", ["0", "-5", "5,,x", ",".join(["60"] * 31)], ids=["zero", "negative", "word", "31"]
)
def test_a_bad_schedule_is_refused(clean_environment, tmp_path, schedule):
    with pytest.raises(ConfigError, match="IDP_WEBHOOK_RETRY_SCHEDULE"):
        build(tmp_path, IDP_WEBHOOK_RETRY_SCHEDULE=schedule)


# -- delivery under the settings ----------------------------------------------------------
@pytest.fixture
def app_settings():
    return {"IDP_WEBHOOK_RETRY_SCHEDULE": "7,11", "IDP_WEBHOOK_DISABLE_AFTER_FAILURES": 3}


def retries_due(db) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.kind == "webhook", OutboxMessage.next_attempt_at.is_not(None))
        .values(next_attempt_at=utcnow())
    )
    db.session.commit()
    outbox.drain()


def pending(db) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(
        OutboxMessage.kind == "webhook", OutboxMessage.next_attempt_at.is_not(None)
    )
    return list(db.session.scalars(query))


def test_retries_follow_the_configured_schedule(db, user, hook, receiver):
    receiver.status = 500
    oauth2.grant_consent(user.id, "shop", "openid")
    outbox.drain()
    [retry] = pending(db)
    assert timedelta(seconds=5) < retry.next_attempt_at - utcnow() <= timedelta(seconds=7)
    retries_due(db)
    [retry] = pending(db)
    assert timedelta(seconds=9) < retry.next_attempt_at - utcnow() <= timedelta(seconds=11)
    retries_due(db)  # the third and last attempt
    assert pending(db) == []
    assert len(receiver.requests) == 3
    assert db.session.get(WebhookEndpoint, hook[0].id).status == DISABLED


def test_one_refused_event_does_not_disable_an_endpoint_that_takes_others(
    db, user, hook, receiver, mailbox
):
    """The receiver refuses one event three times, and takes another in between: the
    failures in a row never reach the threshold, so that event alone is given up."""
    receiver.status = 500
    oauth2.grant_consent(user.id, "shop", "openid")  # refused, retried
    outbox.drain()
    retries_due(db)  # its second attempt fails too
    receiver.status = 204
    oauth2.revoke_consent(user.id, "shop")  # taken: the failures in a row start again
    outbox.drain()
    receiver.status = 500
    retries_due(db)  # the first event's last attempt
    endpoint = db.session.get(WebhookEndpoint, hook[0].id)
    assert (endpoint.status, endpoint.failures) == (ACTIVE, 1)
    assert pending(db) == []
    attempts = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert [(a.attempt, a.ok) for a in attempts] == [(1, False), (2, False), (1, True), (3, False)]
    assert not [m for m in mailbox.messages if "disabled" in m["Subject"]]


@pytest.mark.parametrize(
    ("app_contact", "endpoint_contact", "told"),
    [
        ("ops@shop.example", None, "ops@shop.example"),
        ("ops@shop.example", "old@shop.example", "ops@shop.example"),  # the app's first
        (None, "old@shop.example", "old@shop.example"),  # written by the previous release
        (None, None, None),
    ],
)
def test_a_disabled_endpoint_is_told_to_the_apps_contact(
    db, apps, user, receiver, mailbox, app_contact, endpoint_contact, told
):
    apps.partner("shop", "openid", contact_email=app_contact)
    endpoint, _ = endpoints.add("shop", receiver.url, ["consent.granted"])
    endpoint.contact_email = endpoint_contact
    db.session.commit()
    receiver.status = 503
    oauth2.grant_consent(user.id, "shop", "openid")
    outbox.drain()
    retries_due(db)
    retries_due(db)
    assert db.session.get(WebhookEndpoint, endpoint.id).status == DISABLED
    sent = [m["To"] for m in mailbox.messages if "disabled" in m["Subject"]]
    assert sent == ([told] if told else [])
