"""A large purchase needs a recent second factor: an API caller whose token does not show
one gets the RFC 9470 challenge; a browser on the purchase page is sent to prove it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.core.db_types import utcnow
from idp.oauth2 import services as oauth
from idp.oauth2.server import authorization_server
from idp.users import factors
from tests.helpers import bearer, csrf_of, query_of

API = "/api/cross-app/credits/purchase"
SCOPE = "openid credits:read credits:purchase"
LIMIT = 100


@pytest.fixture
def app_settings():
    return {
        "IDP_PAYMENTS": "simulated",
        "IDP_STRIPE_SECRET_KEY": None,
        "IDP_STRIPE_WEBHOOK_SECRET": None,
        "IDP_STRIPE_API_BASE": None,
        "IDP_STEP_UP_PURCHASE_CREDITS": LIMIT,
        "IDP_STEP_UP_MAX_AGE": 600,
    }


@pytest.fixture
def store(apps):
    return apps.create(
        client_id="store",
        name="Store",
        redirect_uris=["https://store.example/cb"],
        allowed_origins=["https://store.example"],
        allowed_scopes=SCOPE,
        audience="https://store.example",
    )


def token_for(user, amr: str, acr: str, age: int = 0) -> str:
    """An access token of ``user`` for the store, its sign-in ``age`` seconds old."""
    oauth.grant_consent(user.id, "store", SCOPE)
    from idp.apps.services import query_client

    subject = oauth.Subject(user.id, user.sub, utcnow() - timedelta(seconds=age), None, amr, acr)
    token = authorization_server().generate_token(
        "authorization_code", query_client("store"), subject, SCOPE, include_refresh_token=False
    )
    return token["access_token"]


def challenge(response) -> str:
    assert response.status_code == 401, response.json
    assert response.json["error"] == "insufficient_user_authentication"
    return response.headers["WWW-Authenticate"]


def test_a_small_purchase_needs_no_step_up(client, store, user):
    token = token_for(user, "pwd", factors.ACR_1FA)
    assert client.post(API, json={"amount": LIMIT}, headers=bearer(token)).status_code == 201


def test_a_large_purchase_with_one_factor_is_challenged(client, store, user):
    token = token_for(user, "pwd", factors.ACR_1FA)
    header = challenge(client.post(API, json={"amount": LIMIT + 1}, headers=bearer(token)))
    assert header.startswith('Bearer error="insufficient_user_authentication"')
    assert f'acr_values="{factors.ACR_2FA}"' in header
    assert 'max_age="600"' in header


def test_a_large_purchase_with_an_old_second_factor_is_challenged(client, store, user):
    token = token_for(user, "pwd otp mfa", factors.ACR_2FA, age=601)
    challenge(client.post(API, json={"amount": 500}, headers=bearer(token)))


def test_a_large_purchase_with_a_recent_second_factor_goes_through(client, store, user):
    token = token_for(user, "pwd otp mfa", factors.ACR_2FA, age=5)
    response = client.post(API, json={"amount": 500}, headers=bearer(token))
    assert response.status_code == 201, response.json


def test_the_purchase_page_sends_the_browser_to_prove_it(signed_in, store, user):
    http = signed_in.http
    page = http.get("/purchase?client_id=store")
    response = http.post(
        "/purchase?client_id=store",
        data={"csrf_token": csrf_of(page.data), "amount": "500", "client_id": "store"},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login/second-factor?")
    assert query_of(location)["return_to"].startswith("/purchase?")
