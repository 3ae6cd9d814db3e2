"""Each event is written by the change that causes it, in its transaction, and only
to the apps the user granted (with the scopes that let them see it)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from idp.core import outbox
from idp.core.extensions import db as _db
from idp.events import endpoints
from idp.events.models import WebhookEvent
from idp.events.types import TYPES
from idp.oauth2 import services as oauth2
from idp.users.deletion import delete_account
from wallet import ledger
from wallet import services as wallet
from wallet.models import PURCHASE, SUBSCRIPTION_GRANT


@pytest.fixture
def listeners(db, apps, receiver):
    """shop (credits:read granted), blog (openid only), other (never granted)."""
    secrets = {}
    for name, scopes in (("shop", "openid credits:read"), ("blog", "openid"), ("other", "openid")):
        apps.partner(name, scopes)
        _, secrets[name] = endpoints.add(name, f"{receiver.url}/{name}", list(TYPES))
    _db.session.commit()
    return secrets


@pytest.fixture
def granted(user, listeners, receiver):
    oauth2.grant_consent(user.id, "shop", "openid credits:read")
    oauth2.grant_consent(user.id, "blog", "openid")
    outbox.drain()
    receiver.requests.clear()
    return user


def received(receiver, listeners) -> dict[str, list[dict]]:
    """Each app's verified events, by the path of its endpoint."""
    found: dict[str, list[dict]] = {}
    for request in receiver.requests:
        name = request["path"].rsplit("/", 1)[1]
        event = Webhook(listeners[name]).verify(request["body"], request["headers"])
        found.setdefault(name, []).append(event)
    return found


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("kind", "event"), [(PURCHASE, "credits.purchased"), (SUBSCRIPTION_GRANT, "credits.granted")]
)
def test_credits_reach_only_apps_granted_a_credits_scope(
    db, granted, listeners, receiver, kind, event
):
    target = ledger.wallet_for(granted.id)
    wallet.grant_within(target.id, 25, kind, stripe_ref="cs_1")
    outbox.commit()
    got = received(receiver, listeners)
    assert list(got) == ["shop"]
    [sent] = got["shop"]
    assert sent["type"] == event
    assert sent["data"] == {"sub": granted.sub, "credits": 25}


def test_an_event_rolls_back_with_its_cause(db, granted, receiver):
    target = ledger.wallet_for(granted.id)
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(WebhookEvent))
    wallet.grant_within(target.id, 25, PURCHASE, stripe_ref="cs_2")
    db.session.rollback()
    outbox.drain()
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == before
    assert receiver.requests == []


def test_consent_events_go_to_that_app_alone(db, user, listeners, receiver):
    oauth2.grant_consent(user.id, "blog", "openid")
    oauth2.revoke_consent(user.id, "blog")
    outbox.drain()
    got = received(receiver, listeners)
    assert list(got) == ["blog"]
    assert [e["type"] for e in got["blog"]] == ["consent.granted", "consent.revoked"]
    assert got["blog"][1]["data"] == {"sub": user.sub, "client_id": "blog"}


def test_a_deleted_user_is_announced_by_the_sub_partners_knew(db, granted, listeners, receiver):
    sub = granted.sub
    delete_account(granted, "self")
    outbox.drain()
    got = received(receiver, listeners)
    assert sorted(got) == ["blog", "shop"]
    for name in ("blog", "shop"):
        assert [(e["type"], e["data"]) for e in got[name]] == [("user.deleted", {"sub": sub})]
    assert granted.sub != sub


def test_an_endpoint_hears_only_the_types_it_chose(db, user, apps, receiver):
    apps.partner("shop", "openid credits:read")
    endpoints.add("shop", receiver.url, "consent.revoked")
    db.session.commit()
    oauth2.grant_consent(user.id, "shop", "openid")
    oauth2.revoke_consent(user.id, "shop")
    outbox.drain()
    assert [e["type"] for e in receiver.events()] == ["consent.revoked"]


@pytest.mark.postgres
def test_a_subscription_change_from_stripe_is_announced(db, granted, listeners, receiver):
    from wallet import webhook_handlers

    ledger.wallet_for(granted.id)
    stripe_sub = {
        "id": "sub_1",
        "customer": "cus_unknown",
        "status": "past_due",
        "metadata": {"user_sub": granted.sub},
        "cancel_at_period_end": False,
        "current_period_end": 1893456000,
    }
    event = {"type": "customer.subscription.updated", "created": 1700000000}
    assert webhook_handlers.subscription_changed(event, stripe_sub) == "applied"
    outbox.commit()
    got = received(receiver, listeners)
    assert list(got) == ["shop"]
    [sent] = got["shop"]
    assert (sent["type"], sent["data"]) == (
        "subscription.updated",
        {"sub": granted.sub, "status": "past_due", "plan": None},
    )
    # An older event arriving late is stale: nothing more is sent.
    receiver.requests.clear()
    older = {**event, "created": 1600000000}
    assert webhook_handlers.subscription_changed(older, stripe_sub) == "ignored_stale"
    outbox.commit()
    assert receiver.requests == []


def test_a_disabled_app_hears_nothing(db, user, listeners, receiver):
    from idp.apps import services as registry

    registry.disable("blog")
    db.session.commit()
    oauth2.grant_consent(user.id, "blog", "openid")
    outbox.drain()
    assert receiver.requests == []
