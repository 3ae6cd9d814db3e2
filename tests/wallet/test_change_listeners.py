"""The ledger's change listeners: inside every change's transaction, on both paths."""

from __future__ import annotations

import pytest

from wallet import ledger
from wallet.errors import WalletError

from .actions import entries, fund, stored

pytestmark = pytest.mark.postgres


class Refused(WalletError):
    """A documented code (the API contract is checked), told apart by its description."""

    error = "insufficient_credits"
    description = "A listener refused this change."
    status_code = 402


@pytest.fixture
def listen(app):
    """Register listeners for one test (the app outlives it: they are removed after)."""
    added = []

    def register(listener):
        ledger.register_change_listener(app, listener)
        added.append(listener)

    yield register
    for listener in added:
        app.extensions["wallet_change_listeners"].remove(listener)


class Heard:
    """What a listener was told, read in the change's transaction (an ORM entry expires
    at the commit)."""

    def __init__(self, applied: ledger.Applied) -> None:
        names = ("kind", "amount", "client_id", "wallet_id", "user_id", "balance_after")
        for name in (*names, "held_after", "available_before", "available_after"):
            setattr(self, name, getattr(applied, name))
        self.entry_id = applied.entry.id


@pytest.fixture
def heard(listen):
    seen: list[Heard] = []
    listen(lambda applied: seen.append(Heard(applied)))
    return seen


def test_the_short_path_tells_listeners_before_its_commit(shop_credits, user, heard):
    fund(user, 100)
    heard.clear()
    assert shop_credits.consume(30).status_code == 201
    [applied] = heard
    assert (applied.kind, applied.amount, applied.client_id) == ("consume", -30, "shop")
    assert (applied.user_id, applied.balance_after, applied.held_after) == (user.id, 70, 0)
    assert (applied.available_before, applied.available_after) == (100, 70)
    assert (applied.wallet_id, applied.entry_id) == (
        entries(user)[0].wallet_id,
        entries(user, "consume")[0].id,
    )


def test_the_full_path_tells_listeners_too(shop_credits, user, heard):
    fund(user, 100)
    [grant] = heard
    assert (grant.kind, grant.user_id, grant.available_before, grant.available_after) == (
        "promo_grant",
        user.id,
        0,
        100,
    )
    hold = shop_credits.hold_id(40)
    assert heard[-1].kind == "hold"
    assert (heard[-1].available_before, heard[-1].available_after) == (100, 60)
    assert shop_credits.capture(hold, 25).status_code == 200
    assert (heard[-1].kind, heard[-1].available_after) == ("capture", 75)


def test_a_replay_tells_no_listener(shop_credits, user, heard):
    fund(user, 100)
    assert shop_credits.consume(30, key="once").status_code == 201
    count = len(heard)
    assert shop_credits.consume(30, key="once").status_code == 200
    assert len(heard) == count


@pytest.mark.parametrize("path", ["short", "full"])
def test_a_listener_refuses_a_change_which_is_rolled_back(listen, shop_credits, user, path):
    fund(user, 100)
    if path == "full":
        shop_credits.hold_id(10)  # a wallet with holds may still take the short path...
    held = stored(user)[1]

    def refuse(applied):
        if applied.kind == "consume":
            raise Refused()

    listen(refuse)
    response = shop_credits.consume(30)
    assert response.status_code == 402
    assert response.json["error_description"] == "A listener refused this change."
    assert stored(user) == (100, held)
    assert entries(user, "consume") == []
