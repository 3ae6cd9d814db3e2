"""POST /api/cross-app/credits/consume: spend now, idempotently per app and key."""

from __future__ import annotations

import pytest

from tests.helpers import make_user
from wallet.schemas import MAX_AMOUNT

from .actions import API, Credits, entries, entry_count, fund, stored, user_token

# Consumes are one conditional UPDATE ... RETURNING and a unique index for idempotency:
# their semantics (locking, constraint errors inside a transaction) are the database's.
pytestmark = pytest.mark.postgres


def test_consume_spends_and_records_an_entry(shop_credits, user):
    fund(user, 100)
    response = shop_credits.consume(30, key="k1", service="image-gen")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["replayed"] is False
    assert (body["balance"], body["held"], body["available"]) == (70, 0, 70)
    transaction = body["transaction"]
    assert transaction["kind"] == "consume"
    assert transaction["amount"] == -30
    assert transaction["balance_after"] == 70
    assert transaction["client_id"] == "shop"
    assert transaction["service"] == "image-gen"
    assert stored(user) == (70, 0)
    [entry] = entries(user, "consume")
    assert (entry.id, entry.idempotency_key, entry.actor) == (
        transaction["id"],
        "k1",
        f"user:{user.sub}",
    )


def test_app_acting_for_the_user_is_recorded_as_the_app(blog_credits, user):
    fund(user, 100)
    assert blog_credits.consume(10).status_code == 201
    [entry] = entries(user, "consume")
    assert (entry.client_id, entry.actor) == ("blog", "client:blog")


def test_the_whole_available_balance_can_be_spent(shop_credits, user):
    fund(user, 30)
    response = shop_credits.consume(30)
    assert response.status_code == 201
    assert response.json["balance"] == 0


@pytest.mark.parametrize(
    ("funds", "held", "amount", "available"),
    [(0, 0, 1, 0), (20, 0, 30, 20), (100, 80, 30, 20), (100, 100, 1, 0)],
    ids=["empty", "short", "held", "all-held"],
)
def test_insufficient_credits_is_402_with_the_balance(
    shop_credits, user, funds, held, amount, available
):
    if funds:
        fund(user, funds)
    if held:
        shop_credits.hold_id(held)
    response = shop_credits.consume(amount)
    assert response.status_code == 402
    assert response.json["error"] == "insufficient_credits"
    assert (response.json["balance"], response.json["available"]) == (funds, available)
    assert stored(user) == (funds, held)
    assert entry_count(kind="consume") == 0


def test_same_key_and_body_replays_the_original(shop_credits, user):
    fund(user, 100)
    first = shop_credits.consume(30, key="k1")
    again = shop_credits.consume(30, key="k1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["replayed"] is True
    assert again.json["transaction"] == first.json["transaction"]
    assert again.json["balance"] == 70
    assert stored(user) == (70, 0)
    assert entry_count(kind="consume") == 1


def test_replay_succeeds_even_when_the_credits_are_gone(shop_credits, user):
    """A retry of a consume that succeeded must not turn into a 402."""
    fund(user, 30)
    assert shop_credits.consume(30, key="k1").status_code == 201
    again = shop_credits.consume(30, key="k1")
    assert again.status_code == 200
    assert again.json["replayed"] is True
    assert entry_count(kind="consume") == 1


@pytest.mark.parametrize(
    "changed",
    [{"amount": 31}, {"service": "other"}, {"amount": 1, "service": "other"}],
    ids=["amount", "service", "both"],
)
def test_same_key_with_another_body_is_409(shop_credits, user, changed):
    fund(user, 100)
    assert shop_credits.consume(30, key="k1", service="render").status_code == 201
    body = {"amount": 30, "service": "render", **changed}
    response = shop_credits.consume(key="k1", **body)
    assert response.status_code == 409
    assert response.json["error"] == "idempotency_key_reused"
    assert stored(user) == (70, 0)
    assert entry_count(kind="consume") == 1


def test_a_key_of_another_app_is_independent(shop_credits, blog_credits, user):
    fund(user, 100)
    assert shop_credits.consume(30, key="shared").status_code == 201
    response = blog_credits.consume(20, key="shared")
    assert response.status_code == 201, response.json
    assert response.json["replayed"] is False
    assert stored(user) == (50, 0)
    assert {(e.client_id, e.idempotency_key) for e in entries(user, "consume")} == {
        ("shop", "shared"),
        ("blog", "shared"),
    }


def test_a_key_of_another_user_is_independent(client, shop, shop_credits, user):
    """Keys are per wallet too: two people's apps may pick the same one."""
    fund(user, 100)
    bob = make_user("bob@example.com", name="Bob")
    fund(bob, 100)
    assert shop_credits.consume(30, key="k1").status_code == 201
    bobs = Credits(client, user_token(client, shop, email="bob@example.com"))
    response = bobs.consume(30, key="k1")
    assert response.status_code == 201, response.json
    assert stored(bob) == (70, 0)


def test_idempotency_key_header_works_like_the_body_field(shop_credits, user):
    fund(user, 100)
    body = {"amount": 30, "service": "render"}
    first = shop_credits.post("/credits/consume", body, headers={"Idempotency-Key": "h1"})
    assert first.status_code == 201, first.json
    again = shop_credits.post("/credits/consume", body, headers={"Idempotency-Key": "h1"})
    assert again.status_code == 200
    assert again.json["transaction"]["id"] == first.json["transaction"]["id"]
    in_body = shop_credits.post("/credits/consume", {**body, "idempotency_key": "h1"})
    assert in_body.status_code == 200
    assert in_body.json["replayed"] is True
    conflict = shop_credits.post(
        "/credits/consume", {**body, "amount": 1}, {"Idempotency-Key": "h1"}
    )
    assert conflict.status_code == 409
    assert conflict.json["error"] == "idempotency_key_reused"
    assert stored(user) == (70, 0)


@pytest.mark.parametrize(
    "amount",
    [0, -1, -30, 1.5, 30.0, "30", "", None, True, False, MAX_AMOUNT + 1, 10**30, [30], {"n": 1}],
    ids=repr,
)
def test_invalid_amount_is_400(shop_credits, user, amount):
    fund(user, 100)
    response = shop_credits.consume(amount)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == "amount"
    assert stored(user) == (100, 0)


def test_missing_amount_is_400(shop_credits, user):
    response = shop_credits.post("/credits/consume", {"service": "render", "idempotency_key": "k"})
    assert response.status_code == 400
    assert response.json["field"] == "amount"


@pytest.mark.parametrize("service", [None, "", "   ", "x" * 101, 5], ids=repr)
def test_invalid_service_is_400(shop_credits, user, service):
    fund(user, 100)
    response = shop_credits.consume(10, service=service)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == "service"


@pytest.mark.parametrize("key", [None, "", "k" * 256, 12], ids=repr)
def test_invalid_idempotency_key_is_400(shop_credits, user, key):
    fund(user, 100)
    body = {"amount": 10, "service": "render"}
    if key is not None:
        body["idempotency_key"] = key
    response = shop_credits.post("/credits/consume", body)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == "idempotency_key"
    assert stored(user) == (100, 0)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("[1, 2]", "application/json"),
        ('"amount"', "application/json"),
        ("{not json", "application/json"),
        ("amount=1", "application/x-www-form-urlencoded"),
    ],
    ids=["array", "string", "malformed", "form"],
)
def test_body_must_be_a_json_object(client, shop_credits, user, data, content_type):
    fund(user, 100)
    response = client.post(
        API + "/credits/consume",
        data=data,
        headers={"Authorization": f"Bearer {shop_credits.token}", "Content-Type": content_type},
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert stored(user) == (100, 0)
