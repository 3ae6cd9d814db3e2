"""The partner events the ledger emits (idp.core.events_hook), in the change's
transaction: credits.consumed for consumes and captures, credits.low for every fall of
the available credits (before and after, for idp.events to find each app's crossing),
credits.expired for expiry, credits.granted for an operator's grant.  A writer standing
in for idp.events records what it is given; idp.events' own tests cover who hears it."""

from __future__ import annotations

import pytest

from idp.core import events_hook
from wallet import ledger

from .lot_actions import Clock, grant

pytestmark = pytest.mark.postgres


@pytest.fixture
def emitted(app):
    seen: list[tuple[str, int, dict]] = []
    key = events_hook._WRITER
    previous = app.extensions.get(key)
    events_hook.register_writer(
        app, lambda kind, user_id, data, client_id: seen.append((kind, user_id, data))
    )
    yield seen
    if previous is None:
        app.extensions.pop(key, None)
    else:
        app.extensions[key] = previous


def kinds(seen) -> list[str]:
    return [kind for kind, _, _ in seen]


def test_a_consume_emits_consumed_and_low(shop_credits, user, emitted):
    grant(ledger.wallet_for(user.id), 100)
    emitted.clear()
    assert shop_credits.consume(30).status_code == 201  # the short path
    assert emitted == [
        (
            "credits.consumed",
            user.id,
            {
                "credits": 30,
                "kind": "consume",
                "client_id": "shop",
                "service": "render",
                "available_after": 70,
            },
        ),
        (
            "credits.low",
            user.id,
            {"available_before": 100, "available_after": 70, "kind": "consume"},
        ),
    ]


def test_holds_and_captures_emit_low_and_consumed(shop_credits, user, emitted):
    grant(ledger.wallet_for(user.id), 100)
    emitted.clear()
    hold_id = shop_credits.hold_id(40)
    assert emitted == [
        ("credits.low", user.id, {"available_before": 100, "available_after": 60, "kind": "hold"})
    ]
    emitted.clear()
    assert shop_credits.capture(hold_id, 25).status_code == 200
    # The capture gives back 15 of the 40 held: available rises, so no credits.low.
    assert kinds(emitted) == ["credits.consumed"]
    assert emitted[0][2]["credits"] == 25 and emitted[0][2]["kind"] == "capture"


def test_expiry_emits_expired_and_low(shop_credits, user, emitted, monkeypatch):
    clock = Clock(monkeypatch)
    grant(ledger.wallet_for(user.id), 10, days=1)
    grant(ledger.wallet_for(user.id), 5)
    emitted.clear()
    clock.advance(days=2)
    assert shop_credits.state()["balance"] == 5
    assert emitted == [
        ("credits.expired", user.id, {"credits": 10, "available_after": 5}),
        ("credits.low", user.id, {"available_before": 15, "available_after": 5, "kind": "expire"}),
    ]


def test_an_operator_grant_emits_granted(runner, user, emitted):
    args = ["wallet", "grant", "--email", user.email, "--credits", "25", "--reason", "launch"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert emitted == [("credits.granted", user.id, {"credits": 25, "category": "promotional"})]


def test_a_refused_consume_emits_nothing(shop_credits, user, emitted):
    grant(ledger.wallet_for(user.id), 10)
    emitted.clear()
    assert shop_credits.consume(30).status_code == 402
    assert emitted == []
