"""Client-credentials grant (RFC 6749 section 4.4) and the RFC 9068 token it returns."""

import time

import pytest

from tests.helpers import b64_claims, b64_header, basic


@pytest.fixture
def shop(apps):
    return apps.confidential(
        "shop",
        "credits:read credits:consume user:metadata",
        audience="https://shop.example",
        access_token_lifetime=300,
    )


@pytest.mark.parametrize("style", ["basic", "post"])
def test_issues_rfc9068_jwt(client, apps, shop, signing_keys, style):
    response = apps.token(client, shop, "credits:read", style=style)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "credits:read"
    assert response.headers["Cache-Control"] == "no-store"
    header, claims = b64_header(body["access_token"]), b64_claims(body["access_token"])
    assert header == {"typ": "at+jwt", "alg": "RS256", "kid": signing_keys["active"]}
    assert claims["iss"] == "https://idp.test"
    assert claims["sub"] == "shop" and claims["client_id"] == "shop"
    assert claims["aud"] == ["https://shop.example", "https://idp.test/api/wallet"]
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 5
    assert len(claims["jti"]) >= 16


def test_no_scope_means_every_allowed_resource_scope(client, apps, shop):
    body = apps.token(client, shop).json
    assert body["scope"] == "credits:read credits:consume user:metadata"


def test_audience_follows_the_granted_scopes(client, apps, shop):
    token = apps.token(client, shop, "user:metadata").json["access_token"]
    assert b64_claims(token)["aud"] == ["https://shop.example", "https://idp.test/api"]
    token = apps.token(client, shop, "credits:read").json["access_token"]
    assert "https://idp.test/api" not in b64_claims(token)["aud"]


def test_each_token_has_its_own_jti(client, apps, shop):
    first = b64_claims(apps.token(client, shop).json["access_token"])
    second = b64_claims(apps.token(client, shop).json["access_token"])
    assert first["jti"] != second["jti"]


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        ("admin", "invalid_scope"),  # not allowed for this app
        ("openid", "invalid_scope"),  # needs a user
        ("credits:read bogus", "invalid_scope"),
        ("credits:purchase", "invalid_scope"),
    ],
)
def test_scope_rejections(client, apps, shop, scope, error):
    response = apps.token(client, shop, scope)
    assert response.status_code == 400
    assert response.json["error"] == error


@pytest.mark.parametrize(
    ("headers", "form", "status", "error"),
    [
        ({}, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"Authorization": "Basic !!!"},
            {"grant_type": "client_credentials"},
            401,
            "invalid_client",
        ),
        (
            None,
            {"grant_type": "password", "username": "a", "password": "b"},
            400,
            "unsupported_grant_type",
        ),
        (None, {}, 400, "unsupported_grant_type"),
    ],
)
def test_request_rejections(client, shop, headers, form, status, error):
    response = client.post(
        "/oauth/token", data=form, headers=basic(shop) if headers is None else headers
    )
    assert response.status_code == status
    assert response.json["error"] == error


def test_wrong_secret_is_invalid_client_with_www_authenticate(client, apps, shop):
    response = apps.token(client, {**shop, "client_secret": "wrong"})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_and_disabled_clients_look_alike(client, apps, shop):
    from idp.apps import services

    unknown = apps.token(client, {"client_id": "ghost", "client_secret": "x"})
    services.disable("shop")
    disabled = apps.token(client, shop)
    assert unknown.status_code == disabled.status_code == 401
    assert unknown.json == disabled.json


def test_public_client_cannot_use_client_credentials(client, apps):
    spa = apps.create(
        client_id="spa",
        type="public",
        redirect_uris=["https://spa.example/cb"],
        allowed_scopes="credits:read",
    )
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "spa"}
    )
    assert spa["client_secret"] is None
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


def test_get_is_not_allowed(client):
    response = client.get("/oauth/token")
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"


def test_keys_bootstrap_on_first_use(client, apps, db):
    """A fresh deployment with an empty key store still signs (and publishes) a key."""
    from keys import services

    shop = apps.create(client_id="shop", allowed_scopes="credits:read")
    response = apps.token(client, shop)
    assert response.status_code == 200
    kid = b64_header(response.json["access_token"])["kid"]
    assert kid == services.active_kid()
    assert kid in [k["kid"] for k in client.get("/.well-known/jwks.json").json["keys"]]


# -- RFC 6749 sections 2.3, 3.1 and 3.2 ---------------------------------------------------------
FORM = "application/x-www-form-urlencoded"


def test_a_parameter_without_a_value_counts_as_omitted(client, shop):
    """Section 3.1: ``scope=`` is what standard libraries send for "no scope"."""
    response = client.post(
        "/oauth/token",
        data="grant_type=client_credentials&scope=",
        content_type=FORM,
        headers=basic(shop),
    )
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "credits:read credits:consume user:metadata"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/oauth/token", "grant_type=client_credentials&scope=credits:read&scope=admin"),
        ("/oauth/token", "grant_type=client_credentials&grant_type=client_credentials"),
        ("/oauth/introspect", "token=a&token=b"),
        ("/oauth/revoke", "token=a&token=b"),
    ],
)
def test_a_parameter_sent_twice_is_invalid_request(client, shop, path, body):
    """Section 3.2: parameters MUST NOT be included more than once."""
    response = client.post(path, data=body, content_type=FORM, headers=basic(shop))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_resource_may_be_repeated(client, shop):
    """RFC 8707 section 2 lets ``resource`` appear more than once."""
    body = "grant_type=client_credentials&resource=https://a.example&resource=https://b.example"
    response = client.post("/oauth/token", data=body, content_type=FORM, headers=basic(shop))
    assert response.status_code == 200, response.json


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/oauth/token", {"grant_type": "client_credentials", "client_secret": "s"}),
        ("/oauth/token", {"grant_type": "client_credentials", "client_id": "other"}),
        ("/oauth/introspect", {"token": "a", "client_secret": "s"}),
        ("/oauth/revoke", {"token": "a", "client_secret": "s"}),
    ],
)
def test_two_client_authentication_methods_are_invalid_request(client, shop, path, body):
    """Section 2.3: a client MUST NOT use more than one authentication method per request,
    even when both carry its right secret."""
    if "client_secret" in body:
        body = {**body, "client_id": "shop", "client_secret": shop["client_secret"]}
    response = client.post(path, data=body, headers=basic(shop))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
