"""GET /api/cross-app/subscription: the user's current plan and the history of them (what
the JS SDK's ``PaymentSDK.getSubscription()`` reads)."""

from __future__ import annotations

import time

import pytest

from idp.core.extensions import db
from tests.helpers import bearer, mint_tokens
from wallet import billing, ledger, packages

from .payment_fixtures import API, PURCHASE_SCOPE


def subscribe(user, subscription_id: str, status: str, package_id: str | None = "pro", **extra):
    """Record a subscription as a Stripe subscription event would (the webhook's own code)."""
    wallet = ledger.wallet_for(user.id)
    billing.apply_subscription_event(
        wallet.id,
        subscription_id,
        int(time.time()),
        status=status,
        package_id=package_id,
        client_id="store",
        **extra,
    )
    db.session.commit()


def read(client, token: str):
    return client.get(f"{API}/subscription", headers=bearer(token))


def test_no_subscription(client, buyer, catalogue):
    response = read(client, buyer)
    assert response.status_code == 200
    assert response.json == {"subscription": None, "subscriptions": []}
    assert response.headers["Content-Type"] == "application/json"


def test_current_plan_with_its_catalogue_entry(client, buyer, user, catalogue):
    subscribe(user, "sub_live", "active", current_period_end=billing.from_epoch(1893456000))
    body = read(client, buyer).json
    assert body["subscription"] == {
        "id": "sub_live",
        "status": "active",
        "package_id": "pro",
        "plan": {
            "id": "pro",
            "name": "Pro",
            "credits": 1000,
            "price": 2000,
            "currency": "usd",
            "interval": "month",
            "type": "subscription",
        },
        "client_id": "store",
        "current_period_end": "2030-01-01T00:00:00+00:00",
        "cancel_at_period_end": False,
    }
    assert body["subscriptions"] == [body["subscription"]]


def test_an_ended_subscription_is_history_not_current(client, buyer, user, catalogue):
    subscribe(user, "sub_old", "active", package_id="basic")
    subscribe(user, "sub_new", "canceled")
    body = read(client, buyer).json
    assert body["subscription"]["id"] == "sub_old"
    assert [s["id"] for s in body["subscriptions"]] == ["sub_new", "sub_old"]
    assert body["subscriptions"][0]["status"] == "canceled"


def test_only_ended_subscriptions_mean_none_current(client, buyer, user, catalogue):
    subscribe(user, "sub_gone", "incomplete_expired")
    body = read(client, buyer).json
    assert body["subscription"] is None
    assert len(body["subscriptions"]) == 1


def test_cancelling_at_period_end_is_still_current(client, buyer, user, catalogue):
    subscribe(user, "sub_ending", "active", cancel_at_period_end=True)
    assert read(client, buyer).json["subscription"]["cancel_at_period_end"] is True


def test_a_plan_withdrawn_from_sale_is_still_described(client, buyer, user, catalogue):
    packages.set_active("pro", False)
    subscribe(user, "sub_live", "active")
    assert read(client, buyer).json["subscription"]["plan"]["id"] == "pro"


def test_an_unknown_plan_is_null(client, buyer, user, catalogue):
    subscribe(user, "sub_live", "active", package_id=None)
    current = read(client, buyer).json["subscription"]
    assert (current["package_id"], current["plan"]) == (None, None)


def test_another_users_subscription_is_not_shown(client, buyer, catalogue):
    from tests.helpers import make_user

    grace = make_user("grace@example.com", name="Grace")
    subscribe(grace, "sub_grace", "active")
    assert read(client, buyer).json == {"subscription": None, "subscriptions": []}


def test_needs_credits_read(client, store, user, catalogue):
    token = mint_tokens(store, user, "openid credits:purchase")["access_token"]
    response = read(client, token)
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    assert 'scope="credits:read"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}])
def test_needs_a_valid_token(client, headers, catalogue):
    response = client.get(f"{API}/subscription", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_cors_for_the_apps_registered_origin(client, store, user, catalogue):
    token = mint_tokens(store, user, PURCHASE_SCOPE)["access_token"]
    response = client.get(
        f"{API}/subscription", headers={**bearer(token), "Origin": "https://store.example"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://store.example"


def test_an_app_acting_for_a_user_who_granted_it(client, apps, user, catalogue):
    from .actions import delegated

    partner = apps.partner("ledgerly", "credits:read")
    subscribe(user, "sub_live", "active")
    acting = delegated(client, partner, user, scope="credits:read")
    response = acting.get("/subscription")
    assert response.status_code == 200
    assert response.json["subscription"]["id"] == "sub_live"


def test_an_app_token_must_name_the_user(client, apps, user, catalogue):
    from .actions import app_token

    partner = apps.partner("ledgerly", "credits:read")
    token = app_token(client, partner, "credits:read")
    response = read(client, token)
    assert response.status_code == 400
    assert (response.json["error"], response.json["field"]) == ("invalid_request", "user")
