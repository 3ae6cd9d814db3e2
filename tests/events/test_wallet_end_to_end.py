"""The wallet's events end to end: the credit API and `flask wallet` cause them (the
wallet emits in each change's transaction), the partners' real receiver hears them
signed, each app only what it may see."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from idp.core import outbox
from idp.events import endpoints
from idp.events.types import TYPES
from tests.wallet.actions import PARTNER_SCOPES, Credits, delegated, fund

pytestmark = pytest.mark.postgres


@pytest.fixture
def partners(db, apps, client, user, receiver):
    """shop and blog, both granted credits:read and credits:consume by the user, each with
    an endpoint of every type (credits.low below 50); other, never granted, too."""
    secrets, made = {}, {}
    for name in ("shop", "blog", "other"):
        made[name] = apps.partner(name, PARTNER_SCOPES)
        _, secrets[name] = endpoints.add(
            name, f"{receiver.url}/{name}", list(TYPES), low_balance_threshold=50
        )
    db.session.commit()
    callers = {name: delegated(client, made[name], user) for name in ("shop", "blog")}
    fund(user, 100)
    db.session.commit()
    outbox.drain()
    receiver.requests.clear()
    return secrets, callers


def heard(receiver, secrets) -> dict[str, list[tuple[str, dict]]]:
    found: dict[str, list[tuple[str, dict]]] = {}
    for request in receiver.requests:
        name = request["path"].rsplit("/", 1)[1]
        event = Webhook(secrets[name]).verify(request["body"], request["headers"])
        data = {k: v for k, v in event["data"].items() if k != "sub"}
        found.setdefault(name, []).append((event["type"], data))
    receiver.requests.clear()
    return found


def test_a_consume_is_heard_by_the_apps_granted_credits(partners, receiver):
    secrets, callers = partners
    assert callers["shop"].consume(10).status_code == 201
    mine = {"credits": 10, "available": 90, "client_id": "shop", "service": "render"}
    assert heard(receiver, secrets) == {
        "shop": [("credits.consumed", mine)],
        # blog hears of the spending, not who spent on what; other was never granted.
        "blog": [("credits.consumed", {**mine, "client_id": None, "service": None})],
    }


def test_consumes_across_the_threshold_tell_it_once(partners, receiver):
    secrets, callers = partners
    low = ("credits.low", {"available": 45, "threshold": 50})
    told = []
    for amount in (45, 10, 5):
        assert callers["shop"].consume(amount).status_code == 201
        got = heard(receiver, secrets)
        told.append([event for event in got["shop"] if event[0] == "credits.low"])
        assert [e for e in got["blog"] if e[0] == "credits.low"] == told[-1]
    assert told == [[], [low], []]


def test_a_hold_that_crosses_the_threshold_and_its_capture(partners, receiver):
    secrets, callers = partners
    hold = callers["shop"].hold_id(60)
    got = heard(receiver, secrets)
    assert got["shop"] == [("credits.low", {"available": 40, "threshold": 50})]
    assert callers["shop"].capture(hold, 30).status_code == 200
    got = heard(receiver, secrets)
    [(kind, data)] = got["shop"]
    assert (kind, data["credits"], data["client_id"]) == ("credits.consumed", 30, "shop")


def test_an_operator_grant_is_heard(partners, receiver, runner, user):
    secrets, _ = partners
    args = ["wallet", "grant", "--email", user.email, "--credits", "25", "--reason", "sorry"]
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    outbox.drain()  # a server's outbox worker sends what the command committed
    got = heard(receiver, secrets)
    assert got == {
        "shop": [("credits.granted", {"credits": 25})],
        "blog": [("credits.granted", {"credits": 25})],
    }


def test_credits_that_expire_are_heard(partners, receiver, runner, user):
    from datetime import timedelta

    from idp.core.db_types import utcnow
    from wallet import ledger

    secrets, _ = partners
    args = ["wallet", "grant", "--email", user.email, "--credits", "25", "--reason", "trial"]
    assert runner.invoke(args=[*args, "--expires-in-days", "1"]).exit_code == 0
    outbox.drain()
    receiver.requests.clear()
    assert ledger.expire(now=utcnow() + timedelta(days=2)) == 25
    outbox.drain()
    assert heard(receiver, secrets) == {
        "shop": [("credits.expired", {"credits": 25, "available": 100})],
        "blog": [("credits.expired", {"credits": 25, "available": 100})],
    }


@pytest.mark.postgres(only=True)
def test_concurrent_consumes_cross_the_threshold_once(committed_db, app, partners, receiver, user):
    """20 consumes of 5 at once take 100 credits to 0: exactly one goes from 50 to 45,
    and only that one tells each app (the wallet's row lock orders the falls)."""
    from tests.wallet.test_concurrency import concurrently

    secrets, callers = partners
    token, sub = callers["shop"].token, user.sub

    def spend(http, i):
        return Credits(http, token, acting_for=sub).consume(5, key=f"c-{i}")

    responses = concurrently(app, 20, spend)
    assert [r.status_code for r in responses] == [201] * 20
    outbox.drain()
    got = heard(receiver, secrets)
    for name in ("shop", "blog"):
        lows = [event for event in got[name] if event[0] == "credits.low"]
        assert lows == [("credits.low", {"available": 45, "threshold": 50})], name
        assert len(got[name]) == 21  # and the 20 consumes
