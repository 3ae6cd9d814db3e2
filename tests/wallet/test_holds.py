"""Holds: reserve credits, then capture (up to the amount) or release; expiry."""

from __future__ import annotations

import pytest

from idp.core.extensions import db
from tests.helpers import make_user
from wallet import holds, ledger
from wallet.models import Hold
from wallet.schemas import MAX_HOLD_TTL

from .actions import Credits, backdate, entries, fund, stored, user_token

# Holds lock the wallet row (SELECT ... FOR UPDATE) and nest savepoints: database semantics.
pytestmark = pytest.mark.postgres


def hold_status(hold_id: str) -> str:
    db.session.expire_all()
    return db.session.get(Hold, hold_id).status


def test_hold_reduces_available_not_balance(shop_credits, user):
    fund(user, 100)
    response = shop_credits.hold(40, ttl=60, service="transcode")
    assert response.status_code == 201, response.json
    assert response.json["replayed"] is False
    hold = response.json["hold"]
    assert (hold["amount"], hold["captured"], hold["status"], hold["service"]) == (
        40,
        0,
        "active",
        "transcode",
    )
    assert (response.json["balance"], response.json["held"], response.json["available"]) == (
        100,
        40,
        60,
    )
    assert shop_credits.state() == {"balance": 100, "held": 40, "available": 60}
    assert stored(user) == (100, 40)
    [entry] = entries(user, "hold")
    assert (entry.amount, entry.held_delta, entry.hold_id) == (0, 40, hold["id"])


def test_hold_beyond_available_is_402(shop_credits, user):
    fund(user, 100)
    shop_credits.hold_id(70)
    response = shop_credits.hold(31)
    assert response.status_code == 402
    assert response.json["error"] == "insufficient_credits"
    assert (response.json["balance"], response.json["available"]) == (100, 30)
    assert stored(user) == (100, 70)


@pytest.mark.parametrize("ttl", [9, 0, -1, MAX_HOLD_TTL + 1, "60", 60.0, True, None], ids=repr)
def test_invalid_ttl_is_400(shop_credits, user, ttl):
    fund(user, 100)
    response = shop_credits.hold(10, ttl=ttl)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == "ttl_seconds"
    assert stored(user) == (100, 0)


def test_hold_is_idempotent(shop_credits, user):
    fund(user, 100)
    first = shop_credits.hold(40, key="h1")
    again = shop_credits.hold(40, key="h1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["replayed"] is True
    assert again.json["hold"]["id"] == first.json["hold"]["id"]
    assert stored(user) == (100, 40)
    conflict = shop_credits.hold(41, key="h1")
    assert conflict.status_code == 409
    assert conflict.json["error"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("capture", "balance"),
    [(25, 75), (40, 60), (1, 99), (None, 60)],
    ids=["part", "all", "one", "default"],
)
def test_capture_charges_exactly_the_captured_amount(shop_credits, user, capture, balance):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    response = shop_credits.capture(hold_id, capture)
    assert response.status_code == 200, response.json
    captured = 100 - balance
    assert response.json["hold"]["status"] == "captured"
    assert response.json["hold"]["captured"] == captured
    assert (response.json["balance"], response.json["held"], response.json["available"]) == (
        balance,
        0,
        balance,
    )
    assert stored(user) == (balance, 0)
    [entry] = entries(user, "capture")
    assert (entry.amount, entry.held_delta) == (-captured, -40)


def test_capture_beside_other_holds_returns_only_this_ones_rest(shop_credits, user):
    fund(user, 100)
    first, second = shop_credits.hold_id(40), shop_credits.hold_id(30)
    assert shop_credits.capture(first, 10).status_code == 200
    assert shop_credits.state() == {"balance": 90, "held": 30, "available": 60}
    assert shop_credits.release(second).status_code == 200
    assert shop_credits.state() == {"balance": 90, "held": 0, "available": 90}


@pytest.mark.parametrize("amount", [41, 1000, -1, 1.5, "10", True], ids=repr)
def test_invalid_capture_amount_is_400(shop_credits, user, amount):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    response = shop_credits.capture(hold_id, amount)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == "amount"
    assert hold_status(hold_id) == "active"
    assert stored(user) == (100, 40)


def test_release_returns_everything(shop_credits, user):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    response = shop_credits.release(hold_id)
    assert response.status_code == 200
    assert response.json["hold"]["status"] == "released"
    assert response.json["available"] == 100
    assert stored(user) == (100, 0)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("capture", "capture"),
        ("capture", "release"),
        ("release", "release"),
        ("release", "capture"),
    ],
)
def test_settling_twice_is_409(shop_credits, user, first, second):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    assert getattr(shop_credits, first)(hold_id).status_code == 200
    before = stored(user)
    response = getattr(shop_credits, second)(hold_id)
    assert response.status_code == 409
    assert response.json["error"] == "hold_not_active"
    assert stored(user) == before


def test_get_hold(shop_credits, user):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    response = shop_credits.get(f"/credits/holds/{hold_id}")
    assert response.status_code == 200
    assert response.json["hold"]["id"] == hold_id
    assert response.json["hold"]["status"] == "active"


READS = {
    "credits": lambda caller, hold_id: caller.get("/credits"),
    "hold": lambda caller, hold_id: caller.get(f"/credits/holds/{hold_id}"),
    "credit-check": lambda caller, hold_id: caller.post("/credit-check", {"required": 1}),
}


@pytest.mark.parametrize("read", READS)
def test_expired_hold_is_released_lazily_on_read(shop_credits, user, read):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40, ttl=10)
    backdate(hold_id)
    assert stored(user) == (100, 40)  # nothing happens until someone looks
    response = READS[read](shop_credits, hold_id)
    assert response.status_code == 200
    assert response.json.get("available", 100) == 100
    assert hold_status(hold_id) == "expired"
    assert stored(user) == (100, 0)
    [entry] = entries(user, "expire")
    assert (entry.amount, entry.held_delta, entry.actor) == (0, -40, "system:expiry")


def test_expired_hold_does_not_block_a_consume(shop_credits, user):
    fund(user, 100)
    backdate(shop_credits.hold_id(80))
    response = shop_credits.consume(50)
    assert response.status_code == 201, response.json
    assert (response.json["balance"], response.json["held"]) == (50, 0)


def test_unexpired_hold_is_kept(shop_credits, user):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40, ttl=10)
    assert shop_credits.state() == {"balance": 100, "held": 40, "available": 60}
    assert hold_status(hold_id) == "active"


@pytest.mark.parametrize("settle", ["capture", "release"])
def test_expired_hold_cannot_be_settled(shop_credits, user, settle):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    backdate(hold_id)
    response = getattr(shop_credits, settle)(hold_id)
    assert response.status_code == 409
    assert response.json["error"] == "hold_not_active"
    assert shop_credits.state() == {"balance": 100, "held": 0, "available": 100}
    assert hold_status(hold_id) == "expired"


def test_expire_holds_cli_releases_every_expired_hold(runner, shop_credits, user):
    bob = make_user("bob@example.com", name="Bob")
    fund(user, 100)
    fund(bob, 100)
    expired = shop_credits.hold_id(40)
    kept = shop_credits.hold_id(10)
    bobs, _ = holds.hold(ledger.wallet_for(bob.id), 30, 60, "render", "b1", "shop", "test")
    backdate(expired)
    backdate(bobs.id)
    result = runner.invoke(args=["wallet", "expire-holds"])
    assert result.exit_code == 0, result.output
    assert "released 2 expired holds" in result.output
    assert [hold_status(h) for h in (expired, kept, bobs.id)] == ["expired", "active", "expired"]
    assert stored(user) == (100, 10)
    assert stored(bob) == (100, 0)
    again = runner.invoke(args=["wallet", "expire-holds"])
    assert "released 0 expired holds" in again.output


@pytest.mark.parametrize("action", ["get", "capture", "release"])
def test_another_apps_hold_is_404(shop_credits, blog_credits, user, action):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    if action == "get":
        response = blog_credits.get(f"/credits/holds/{hold_id}")
    else:
        response = getattr(blog_credits, action)(hold_id)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert hold_status(hold_id) == "active"
    assert stored(user) == (100, 40)


@pytest.mark.parametrize("action", ["get", "capture", "release"])
def test_another_users_hold_is_404(client, shop, shop_credits, user, action):
    fund(user, 100)
    hold_id = shop_credits.hold_id(40)
    make_user("bob@example.com", name="Bob")
    bobs = Credits(client, user_token(client, shop, email="bob@example.com"))
    if action == "get":
        response = bobs.get(f"/credits/holds/{hold_id}")
    else:
        response = getattr(bobs, action)(hold_id)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert hold_status(hold_id) == "active"


def test_unknown_hold_is_404(shop_credits, user):
    response = shop_credits.capture("hold_doesnotexist")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
