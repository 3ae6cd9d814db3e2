"""Who may call the credit API: scope, audience, delegation and app status (RFC 6750)."""

from __future__ import annotations

import pytest

from idp.apps import services as app_services
from idp.users import services as users
from tests.helpers import bearer, make_user
from wallet import holds, ledger

from .actions import API, WALLET_SCOPES, Credits, app_token, delegated, fund, new_key, user_token

READ, CONSUME, PURCHASE = "credits:read", "credits:consume", "credits:purchase"

# (method, path, scope it needs, body, status when allowed).  ``{hold}`` is a hold of the
# caller's; None: the payments work decides the status, it only must not be 401/403.
ENDPOINTS = [
    ("GET", "/credits", READ, None, 200),
    ("POST", "/credit-check", READ, {"required": 1}, 200),
    ("POST", "/credits/consume", CONSUME, {"amount": 1, "service": "render"}, 201),
    ("POST", "/credits/holds", CONSUME, {"amount": 1, "service": "render"}, 201),
    ("GET", "/credits/holds/{hold}", CONSUME, None, 200),
    ("POST", "/credits/holds/{hold}/capture", CONSUME, {"amount": 1}, 200),
    ("POST", "/credits/holds/{hold}/release", CONSUME, {}, 200),
    ("GET", "/credits/transactions", READ, None, 200),
    ("POST", "/credits/purchase", PURCHASE, {"package_id": "starter"}, None),
    ("POST", "/credits/portal", PURCHASE, {}, None),
]
IDS = [f"{method} {path}" for method, path, *_ in ENDPOINTS]


def call(caller: Credits, method: str, path: str, body: dict | None, hold: str = "hold_x"):
    path = path.format(hold=hold)
    if method == "GET":
        return caller.get(path)
    return caller.post(path, {**(body or {}), "idempotency_key": new_key()})


def without(scope: str) -> str:
    return " ".join(s for s in WALLET_SCOPES.split() if s != scope)


def caller_hold(user, client_id: str) -> str:
    """A funded wallet with an active hold of ``client_id``'s; returns the hold id."""
    wallet = fund(user, 100)
    found, _ = holds.hold(wallet, 10, 60, "render", new_key(), client_id, "test")
    return found.id


def assert_allowed(response, expected: int | None) -> None:
    if expected is None:
        assert response.status_code not in (401, 403), response.json
    else:
        assert response.status_code == expected, response.json


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), ENDPOINTS, ids=IDS)
def test_user_token_with_the_scope_is_allowed(
    client, shop, user, method, path, scope, body, expected
):
    hold = caller_hold(user, shop["client_id"])
    caller = Credits(client, user_token(client, shop, f"openid {scope}"))
    assert_allowed(call(caller, method, path, body, hold), expected)


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), ENDPOINTS, ids=IDS)
def test_user_token_without_the_scope_is_403(
    client, shop, user, method, path, scope, body, expected
):
    caller = Credits(client, user_token(client, shop, f"openid {without(scope)}"))
    response = call(caller, method, path, body)
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), ENDPOINTS, ids=IDS)
def test_app_token_without_the_scope_is_403(
    client, shop, user, method, path, scope, body, expected
):
    """The user granted everything; the app's own token lacks the scope."""
    delegated(client, shop, user, WALLET_SCOPES)
    caller = Credits(client, app_token(client, shop, without(scope)), acting_for=user.sub)
    response = call(caller, method, path, body)
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), ENDPOINTS, ids=IDS)
def test_token_without_the_wallet_audience_is_401(
    client, shop, user, method, path, scope, body, expected
):
    caller = Credits(client, user_token(client, shop, "openid profile"))
    response = call(caller, method, path, body)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert "audience" in response.json["error_description"]


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), ENDPOINTS, ids=IDS)
@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, "missing_authorization"),
        ("Bearer not.a.token", "invalid_token"),
        ("Bearer ", "unsupported_token_type"),
        ("Basic c2hvcDpzZWNyZXQ=", "unsupported_token_type"),
    ],
    ids=["none", "garbage", "empty", "basic"],
)
def test_no_valid_token_is_401(client, method, path, scope, body, expected, authorization, error):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.open(API + path, method=method, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == error


def test_another_audience_is_401(client, apps, user):
    """A token for an app's own API (no wallet scope, so no wallet ``aud``)."""
    other = apps.confidential("other", "user:metadata", audience="https://other.example")
    response = Credits(client, app_token(client, other), acting_for=user.sub).get("/credits")
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), ENDPOINTS, ids=IDS)
def test_app_acting_for_a_user_who_granted_the_scope(
    client, shop, user, method, path, scope, body, expected
):
    hold = caller_hold(user, shop["client_id"])
    caller = delegated(client, shop, user, scope)
    assert_allowed(call(caller, method, path, body, hold), expected)


@pytest.mark.parametrize(("method", "path", "scope", "body", "expected"), ENDPOINTS, ids=IDS)
def test_app_acting_for_a_user_who_did_not_grant_the_scope_is_403(
    client, shop, user, method, path, scope, body, expected
):
    delegated(client, shop, user, without(scope))  # the user granted the other scopes
    caller = Credits(client, app_token(client, shop, WALLET_SCOPES), acting_for=user.sub)
    response = call(caller, method, path, body)
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    # RFC 6750 section 3.1: the challenge names the error and the scope needed.
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ") and 'error="insufficient_scope"' in challenge
    assert f'scope="{scope}"' in challenge


def test_app_acting_for_a_user_who_granted_nothing_is_403(client, shop, user):
    caller = Credits(client, app_token(client, shop, WALLET_SCOPES), acting_for=user.sub)
    response = caller.get("/credits")
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


def test_consent_to_another_app_does_not_count(client, shop, blog, user):
    delegated(client, blog, user, WALLET_SCOPES)
    caller = Credits(client, app_token(client, shop, WALLET_SCOPES), acting_for=user.sub)
    assert caller.get("/credits").status_code == 403


@pytest.mark.parametrize(
    "acting_for",
    [None, "", "no-such-sub", "ada@example.com"],
    ids=["absent", "empty", "unknown", "email"],
)
def test_app_must_name_an_existing_user(client, shop, user, acting_for):
    token = app_token(client, shop, WALLET_SCOPES)
    params = {} if acting_for is None else {"user": acting_for}
    response = client.get(API + "/credits", headers=bearer(token), query_string=params)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert response.json["field"] == "user"


def test_app_may_name_the_user_in_the_body(client, shop, user):
    fund(user, 100)
    caller = delegated(client, shop, user, CONSUME)
    body = {"user": user.sub, "amount": 5, "service": "render", "idempotency_key": "k1"}
    response = client.post(API + "/credits/consume", json=body, headers=bearer(caller.token))
    assert response.status_code == 201, response.json
    assert response.json["balance"] == 95


def test_app_acting_for_a_disabled_user_is_404(client, shop, user):
    caller = delegated(client, shop, user, READ)
    users.set_disabled(user.email, True)
    response = caller.get("/credits")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_user_token_ignores_another_users_sub(client, shop, user):
    """A user's token always means the user's own wallet, whatever ``user`` says."""
    other = make_user("bob@example.com", name="Bob")
    fund(other, 500)
    fund(user, 7)
    caller = Credits(client, user_token(client, shop), acting_for=other.sub)
    assert caller.state()["balance"] == 7
    assert caller.consume(7).status_code == 201
    assert ledger.wallet_for(other.id).balance == 500


@pytest.mark.parametrize("kind", ["user", "app"])
def test_disabled_apps_token_is_401(client, shop, user, kind):
    if kind == "user":
        caller = Credits(client, user_token(client, shop))
    else:
        caller = delegated(client, shop, user, WALLET_SCOPES)
    assert caller.get("/credits").status_code == 200
    app_services.disable(shop["client_id"])
    response = caller.get("/credits")
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert caller.consume(1).status_code == 401


def test_packages_are_public(client):
    response = client.get(API + "/credits/packages")
    assert response.status_code == 200
    assert response.json == {"packages": []}
