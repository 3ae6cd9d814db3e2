"""Who hears the wallet's events: the wallet emits (``credits.consumed`` on each consume
or capture, ``credits.low`` candidates on every change that lowers the available
credits, ``credits.expired``, ``credits.granted`` for operator grants); the events
package decides who hears them.  Emitted directly here, as the wallet does, through
``idp.core.events_hook.emit`` in the change's transaction."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from idp.core import outbox
from idp.core.events_hook import emit
from idp.core.extensions import db as _db
from idp.events import endpoints
from idp.events.types import DEFAULT, TYPES
from idp.oauth2 import services as oauth2


@pytest.fixture
def hooks(db, apps, receiver, user):
    """shop (credits:read granted) with an endpoint of every type (threshold 50) and one
    of the default types (threshold 10); blog granted openid only; other never granted.
    Returns each endpoint's secret by its path's last part."""
    secrets = {}
    apps.partner("shop", "openid credits:read")
    apps.partner("blog", "openid credits:read")
    apps.partner("other", "openid credits:read")
    wanted = {
        "shop-all": ("shop", list(TYPES), 50),
        "shop-default": ("shop", None, 10),
        "blog": ("blog", list(TYPES), 50),
        "other": ("other", list(TYPES), 50),
    }
    for name, (app, types, threshold) in wanted.items():
        _, secrets[name] = endpoints.add(
            app, f"{receiver.url}/{name}", types, low_balance_threshold=threshold
        )
    _db.session.commit()
    oauth2.grant_consent(user.id, "shop", "openid credits:read")
    oauth2.grant_consent(user.id, "blog", "openid")
    outbox.drain()
    receiver.requests.clear()
    return secrets


def heard(receiver, secrets) -> dict[str, list[dict]]:
    """Each endpoint's verified events (their ``data``), by the last part of its path."""
    found: dict[str, list[dict]] = {}
    for request in receiver.requests:
        name = request["path"].rsplit("/", 1)[1]
        event = Webhook(secrets[name]).verify(request["body"], request["headers"])
        found.setdefault(name, []).append((event["type"], event["data"]))
    receiver.requests.clear()
    return found


def emitted(kind: str, user, data: dict) -> None:
    emit(kind, user.id, data)
    outbox.commit()


def test_credits_consumed_is_heard_only_where_named(db, user, hooks, receiver):
    assert "credits.consumed" not in DEFAULT
    data = {"credits": 3, "available_after": 97, "client_id": "shop", "service": "render"}
    emitted("credits.consumed", user, data)
    got = heard(receiver, hooks)
    # Not shop-default (it did not name the type), not blog (no credits scope granted),
    # not other (never granted).
    assert got == {
        "shop-all": [
            (
                "credits.consumed",
                {
                    "sub": user.sub,
                    "credits": 3,
                    "available": 97,
                    "client_id": "shop",
                    "service": "render",
                },
            )
        ]
    }


def test_another_apps_consumption_withholds_its_detail(db, user, hooks, receiver):
    data = {"credits": 3, "available_after": 97, "client_id": "blog", "service": "render"}
    emitted("credits.consumed", user, data)
    [(_, shown)] = heard(receiver, hooks)["shop-all"]
    assert (shown["client_id"], shown["service"]) == (None, None)


@pytest.mark.parametrize(
    ("before", "after", "crossed"),
    [
        (60, 40, [50]),  # crosses 50 only
        (50, 49, [50]),  # from exactly the threshold
        (49, 45, []),  # already below 50, above 10
        (60, 5, [50, 10]),  # both at once: one event per threshold
        (10, 9, [10]),
        (9, 0, []),  # already below both
        (40, 60, []),  # a rise is never a crossing
        (40, 40, []),
    ],
)
def test_credits_low_fires_once_per_downward_crossing(
    db, user, hooks, receiver, before, after, crossed
):
    data = {"available_before": before, "available_after": after, "wallet_id": 7}
    emitted("credits.low", user, data)
    got = heard(receiver, hooks)
    by_threshold = {50: "shop-all", 10: "shop-default"}
    assert sorted(got) == sorted(by_threshold[t] for t in crossed)
    for threshold in crossed:
        [(kind, shown)] = got[by_threshold[threshold]]
        # The balance and the threshold only: the wallet's own fields stay inside.
        assert (kind, shown) == (
            "credits.low",
            {"sub": user.sub, "available": after, "threshold": threshold},
        )


def test_a_balance_going_down_step_by_step_is_told_once(db, user, hooks, receiver):
    for before, after in ((70, 60), (60, 52), (52, 48), (48, 30), (30, 20)):
        emitted("credits.low", user, {"available_before": before, "available_after": after})
    got = heard(receiver, hooks)
    assert list(got) == ["shop-all"]
    assert got["shop-all"] == [("credits.low", {"sub": user.sub, "available": 48, "threshold": 50})]
    # Up again (a purchase), then down: a new crossing, told again.
    emitted("credits.low", user, {"available_before": 80, "available_after": 45})
    assert [shown["available"] for _, shown in heard(receiver, hooks)["shop-all"]] == [45]


def test_an_endpoint_without_a_threshold_never_hears_credits_low(db, apps, user, receiver, hooks):
    endpoint, secret = endpoints.add("shop", f"{receiver.url}/bare", ["credits.low"])
    db.session.commit()
    hooks["bare"] = secret
    emitted("credits.low", user, {"available_before": 10**6, "available_after": 0})
    assert "bare" not in heard(receiver, hooks)
    assert endpoint.low_balance_threshold is None


EXPIRED = {"credits": 5, "available_after": 20, "lot": 3}
GRANTED = {"credits": 25, "reason": "goodwill", "actor": "ops"}


@pytest.mark.parametrize(
    ("kind", "data", "shown"),
    [
        ("credits.expired", EXPIRED, {"credits": 5, "available": 20}),
        ("credits.granted", GRANTED, {"credits": 25}),
    ],
)
def test_expiry_and_operator_grants_carry_only_their_fields(
    db, user, hooks, receiver, kind, data, shown
):
    emitted(kind, user, data)
    got = heard(receiver, hooks)
    assert sorted(got) == ["shop-all", "shop-default"]
    for name in got:
        assert got[name] == [(kind, {"sub": user.sub, **shown})]


def test_nothing_is_heard_of_a_change_rolled_back(db, user, hooks, receiver):
    emit("credits.consumed", user.id, {"credits": 1, "available_after": 1})
    emit("credits.low", user.id, {"available_before": 60, "available_after": 1})
    db.session.rollback()
    outbox.drain()
    assert receiver.requests == []
