"""The per-process cache of listened event types (idp.events.listeners): an event type
no endpoint listens to costs no statement at all, however often it is emitted (the
wallet emits two per consume); an endpoint added on this node is heard at once, one
added on another node within IDP_WEBHOOK_LISTENERS_CHECK_MS."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from idp.core import outbox
from idp.core.events_hook import emit
from idp.core.extensions import db as _db
from idp.events import endpoints, listeners
from idp.oauth2 import services as oauth2
from tests.wallet.actions import PARTNER_SCOPES, Credits, delegated, fund

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_settings():
    # No re-check between the warm-up and the counted call, however slow the machine.
    return {"IDP_WEBHOOK_LISTENERS_CHECK_MS": 60_000}


@contextmanager
def statements():
    """The tables each statement the engine runs while the block runs names."""
    seen: list[str] = []

    def record(conn, cursor, statement, *rest):
        tables = re.findall(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)", statement)
        seen.append(statement.split()[0] + " " + ",".join(dict.fromkeys(tables)))

    event.listen(_db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(_db.engine, "before_cursor_execute", record)


@pytest.fixture
def granted(db, apps, user):
    apps.partner("shop", "openid credits:read credits:consume")
    oauth2.grant_consent(user.id, "shop", "openid credits:read credits:consume")
    outbox.drain()
    return user


def test_emitting_a_type_nobody_listens_to_runs_no_statement(db, granted):
    listeners.cache().forget()
    emit("credits.consumed", granted.id, {"credits": 1})  # the first use reads the types
    with statements() as seen:
        for _ in range(100):
            emit("credits.consumed", granted.id, {"credits": 1, "available_after": 5})
            emit("credits.low", granted.id, {"available_before": 6, "available_after": 5})
    assert seen == []


def test_other_types_listened_to_cost_nothing_for_these(db, granted, receiver):
    endpoints.add("shop", receiver.url, ["consent.revoked"])
    db.session.commit()
    emit("credits.consumed", granted.id, {"credits": 1})
    with statements() as seen:
        emit("credits.consumed", granted.id, {"credits": 1})
    assert seen == []


def test_a_fall_that_crosses_no_threshold_runs_no_statement(db, granted, receiver):
    """The default subscription includes credits.low, but without a threshold nobody can
    hear it; with one, only a fall across it costs the query."""
    endpoint, _ = endpoints.add("shop", receiver.url)  # every type but credits.consumed
    db.session.commit()
    fall = {"available_before": 60, "available_after": 40}
    emit("credits.low", granted.id, fall)
    with statements() as seen:
        emit("credits.low", granted.id, fall)
    assert seen == []
    endpoints.update(endpoint.id, low_balance_threshold=50)
    db.session.commit()
    emit("credits.low", granted.id, {"available_before": 45, "available_after": 30})
    with statements() as seen:
        emit("credits.low", granted.id, {"available_before": 45, "available_after": 30})
    assert seen == []  # below 50 already: no crossing
    emit("credits.low", granted.id, fall)
    outbox.commit()
    [event] = receiver.events()
    assert event["data"] == {"sub": granted.sub, "available": 40, "threshold": 50}


def test_an_endpoint_added_on_this_node_hears_the_next_event(db, granted, receiver):
    emit("credits.consumed", granted.id, {"credits": 1})  # cached: nobody listens
    endpoints.add("shop", receiver.url, ["credits.consumed"])
    db.session.commit()
    emit("credits.consumed", granted.id, {"credits": 2, "available_after": 8})
    outbox.commit()
    assert [e["data"]["credits"] for e in receiver.events()] == [2]


def test_an_endpoint_added_on_another_node_is_heard_within_the_check(
    db, granted, receiver, make_app
):
    user_id = granted.id
    here = make_app(IDP_WEBHOOK_LISTENERS_CHECK_MS=200)
    with here.app_context():
        emit("credits.consumed", user_id, {"credits": 1})  # cached: nobody listens
    endpoints.add("shop", receiver.url, ["credits.consumed"])  # on the shared app
    db.session.commit()
    with here.app_context():
        with statements() as seen:
            emit("credits.consumed", user_id, {"credits": 1})
        assert seen == []  # not yet: the check is due 200 ms after the last
        time.sleep(0.25)
        emit("credits.consumed", user_id, {"credits": 3, "available_after": 7})
        outbox.commit()
    assert [e["data"]["credits"] for e in receiver.events()] == [3]


def test_a_change_rolled_back_leaves_no_token_that_hides_a_later_one(
    db, granted, receiver, make_app, monkeypatch
):
    """This node read the token of a change that was then rolled back, and another node
    committed a change adding a type: a counter could be back at the value this node
    saw; a random token is not, so the new type is heard."""
    user_id = granted.id
    monkeypatch.setattr(listeners.cache(), "check_seconds", 0.001)
    endpoints.add("shop", receiver.url, ["consent.revoked"])
    emit("credits.consumed", user_id, {"credits": 1})  # reads the uncommitted token
    db.session.rollback()
    there = make_app()
    with there.app_context():
        endpoints.add("shop", receiver.url, ["credits.consumed"])
        _db.session.commit()
    time.sleep(0.01)
    emit("credits.consumed", user_id, {"credits": 4, "available_after": 6})
    outbox.commit()
    assert [e["data"]["credits"] for e in receiver.events()] == [4]


def test_a_consume_on_a_server_without_endpoints_costs_what_it_costs_without_events(
    committed_db, app, client, apps, user, monkeypatch
):
    """The consume API end to end (the wallet emits credits.consumed and credits.low on
    it): beyond the first use, exactly the statements of a server built without partner
    events (no writer registered), and not one about webhooks."""
    from tests.wallet.test_consume_statements import recorded

    shop = apps.partner("shop", PARTNER_SCOPES)
    credits: Credits = delegated(client, shop, user)
    fund(user, 100)
    _db.session.commit()
    assert credits.consume(1).status_code == 201  # warm: the app, the keys, the cache
    with monkeypatch.context() as without_events:
        without_events.delitem(app.extensions, "idp_events_writer")
        with recorded() as baseline:
            assert credits.consume(10).status_code == 201
    with recorded() as seen:
        assert credits.consume(10).status_code == 201
    assert not [s for s in seen if "webhook" in s]
    assert seen == baseline
