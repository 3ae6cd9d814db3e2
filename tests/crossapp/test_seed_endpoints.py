"""The seed's JSON contract endpoints, each checked against the standard endpoint it wraps:
/auth and /refresh-token (POST /oauth/token), /validate-token (POST /oauth/introspect),
/user-info (/oauth/userinfo) and /user."""

import pytest

from tests.helpers import Flow, b64_claims, basic, bearer, pkce_pair, user_tokens

# Claims that differ between any two tokens, however they were obtained.
_PER_TOKEN = {"jti", "iat", "exp", "auth_time"}


@pytest.fixture
def spa(apps):
    return apps.create(
        client_id="spa",
        type="public",
        allowed_scopes="openid profile offline_access user:metadata",
        audience="https://spa.example",
        redirect_uris=["https://spa.example/cb"],
        allowed_origins=["https://spa.example"],
    )


def via(client, endpoint: str, form: dict, headers=None):
    """POST ``form`` as a form to the standard endpoint, or as JSON to the seed one."""
    if endpoint.startswith("/oauth/"):
        return client.post(endpoint, data=form, headers=headers)
    return client.post(endpoint, json=form, headers=headers)


def stable_claims(token: str) -> dict:
    return {k: v for k, v in b64_claims(token).items() if k not in _PER_TOKEN}


# -- /auth ----------------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ["/oauth/token", "/api/cross-app/auth"])
def test_auth_exchanges_a_code_like_the_token_endpoint(client, signed_in, shop, endpoint):
    scope = "openid profile offline_access user:metadata"
    reference = user_tokens(client, shop, scope, sign_in=False)
    code = Flow(client, signed_in).code_for(shop, scope)
    response = via(client, endpoint, Flow.code_form(shop, code), basic(shop))
    assert response.status_code == 200, response.json
    body = response.json
    assert body.keys() == reference.keys()
    assert {"access_token", "refresh_token", "id_token"} <= body.keys()
    assert body["scope"] == reference["scope"] and body["token_type"] == "Bearer"
    assert stable_claims(body["access_token"]) == stable_claims(reference["access_token"])
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("style", ["basic", "json"])
def test_auth_confidential_client_authentication(client, signed_in, shop, style):
    form = Flow.code_form(shop, Flow(client, signed_in).code_for(shop, "openid"))
    headers = basic(shop) if style == "basic" else None
    if style == "json":
        form.update(client_id="shop", client_secret=shop["client_secret"])
    response = client.post("/api/cross-app/auth", json=form, headers=headers)
    assert response.status_code == 200, response.json


def test_auth_public_client_with_pkce(client, signed_in, spa):
    verifier, challenge = pkce_pair()
    code = Flow(client, signed_in).code_for(spa, "openid", challenge)
    wrong = client.post("/api/cross-app/auth", json=Flow.code_form(spa, code, pkce_pair()[0]))
    assert wrong.status_code == 400
    assert wrong.json["error"] == "invalid_grant"
    code = Flow(client, signed_in).code_for(spa, "openid", challenge)
    response = client.post("/api/cross-app/auth", json=Flow.code_form(spa, code, verifier))
    assert response.status_code == 200, response.json
    assert b64_claims(response.json["access_token"])["client_id"] == "spa"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/api/cross-app/auth", "/api/cross-app/auth"),
        ("/oauth/token", "/api/cross-app/auth"),
        ("/api/cross-app/auth", "/oauth/token"),
    ],
)
def test_auth_code_replay(client, signed_in, shop, first, second):
    form = Flow.code_form(shop, Flow(client, signed_in).code_for(shop, "openid"))
    issued = via(client, first, form, basic(shop))
    assert issued.status_code == 200
    replay = via(client, second, form, basic(shop))
    assert replay.status_code == 400
    assert replay.json["error"] == "invalid_grant"
    # RFC 6749 section 4.1.2: the tokens the code produced are revoked.
    userinfo = client.get("/oauth/userinfo", headers=bearer(issued.json["access_token"]))
    assert userinfo.status_code == 401


@pytest.mark.parametrize(
    ("credentials", "status"),
    [
        ({"client_id": "shop", "client_secret": "wrong"}, 401),
        ({"client_id": "shop"}, 401),
        ({"client_id": "nope", "client_secret": "wrong"}, 400),  # Authlib: unknown client
    ],
)
def test_auth_bad_client_credentials(client, signed_in, shop, credentials, status):
    for endpoint in ("/oauth/token", "/api/cross-app/auth"):
        code = Flow(client, signed_in).code_for(shop, "openid")
        response = via(client, endpoint, {**Flow.code_form(shop, code), **credentials})
        assert response.status_code == status, endpoint
        assert response.json["error"] == "invalid_client"
        assert "access_token" not in response.json


def test_auth_bad_basic_secret(client, signed_in, shop):
    form = Flow.code_form(shop, Flow(client, signed_in).code_for(shop, "openid"))
    response = client.post(
        "/api/cross-app/auth", json=form, headers=basic({**shop, "client_secret": "x"})
    )
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/api/cross-app/auth"])
@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code": "not-a-code"}, "invalid_grant"),
        ({"code": None}, "invalid_request"),
        ({"redirect_uri": "https://shop.example/other"}, "invalid_grant"),
    ],
)
def test_auth_rejections_match(client, signed_in, shop, endpoint, change, error):
    form = Flow.code_form(shop, Flow(client, signed_in).code_for(shop, "openid"))
    form = {k: v for k, v in {**form, **change}.items() if v is not None}
    response = via(client, endpoint, form, basic(shop))
    assert response.status_code == 400
    assert response.json["error"] == error


# -- /refresh-token ---------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ["/oauth/token", "/api/cross-app/refresh-token"])
def test_refresh_token_rotates(client, shop, shop_tokens, endpoint):
    form = {"grant_type": "refresh_token", "refresh_token": shop_tokens["refresh_token"]}
    response = via(client, endpoint, form, basic(shop))
    assert response.status_code == 200, response.json
    rotated = response.json["refresh_token"]
    assert rotated != shop_tokens["refresh_token"]
    assert response.json["scope"] == shop_tokens["scope"]
    assert stable_claims(response.json["access_token"]) == stable_claims(
        shop_tokens["access_token"]
    )
    # Reuse of the rotated-away token revokes the family, the new token included.
    reuse = via(client, endpoint, form, basic(shop))
    assert reuse.status_code == 400
    assert reuse.json["error"] == "invalid_grant"
    after = via(client, endpoint, {**form, "refresh_token": rotated}, basic(shop))
    assert after.status_code == 400
    assert after.json["error"] == "invalid_grant"


def test_refresh_token_narrows_scope(client, shop, shop_tokens):
    body = {"refresh_token": shop_tokens["refresh_token"], "scope": "openid"}
    response = client.post("/api/cross-app/refresh-token", json=body, headers=basic(shop))
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "openid"


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        ({"refresh_token": "nope"}, "basic", 400, "invalid_grant"),
        ({"refresh_token": None}, "basic", 400, "invalid_request"),
        ({"client_id": "shop", "client_secret": "wrong"}, None, 401, "invalid_client"),
    ],
)
def test_refresh_token_rejections(client, shop, shop_tokens, body, headers, status, error):
    body = {"refresh_token": shop_tokens["refresh_token"], **body}
    body = {k: v for k, v in body.items() if v is not None}
    headers = basic(shop) if headers == "basic" else None
    response = client.post("/api/cross-app/refresh-token", json=body, headers=headers)
    assert response.status_code == status
    assert response.json["error"] == error


def test_refresh_token_of_another_app(client, shop_tokens, blog):
    body = {"refresh_token": shop_tokens["refresh_token"]}
    response = client.post("/api/cross-app/refresh-token", json=body, headers=basic(blog))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"


# -- /validate-token --------------------------------------------------------------------------
def test_validate_token_answers_like_introspection(client, shop, shop_tokens):
    token = shop_tokens["access_token"]
    response = client.post(
        "/api/cross-app/validate-token", json={"token": token}, headers=basic(shop)
    )
    assert response.status_code == 200
    assert response.json["active"] is True
    assert response.json["sub"] == b64_claims(token)["sub"]
    reference = client.post("/oauth/introspect", data={"token": token}, headers=basic(shop))
    assert response.json == reference.json


def test_validate_token_client_secret_in_body(client, shop, shop_tokens):
    body = {"token": shop_tokens["access_token"], "client_id": "shop"}
    body["client_secret"] = shop["client_secret"]
    response = client.post("/api/cross-app/validate-token", json=body)
    assert response.json["active"] is True


@pytest.mark.parametrize("which", ["garbage", "revoked", "other_app"])
def test_validate_token_inactive(client, shop, blog, shop_tokens, which):
    token = shop_tokens["access_token"]
    caller = blog if which == "other_app" else shop
    if which == "garbage":
        token = "a.b.c"
    elif which == "revoked":
        assert (
            client.post("/oauth/revoke", data={"token": token}, headers=basic(shop)).status_code
            == 200
        )
    response = client.post(
        "/api/cross-app/validate-token", json={"token": token}, headers=basic(caller)
    )
    assert response.status_code == 200
    assert response.json == {"active": False}


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        ({}, None, 401, "invalid_client"),
        ({"client_id": "shop", "client_secret": "wrong"}, None, 401, "invalid_client"),
        ({"token": None}, "basic", 400, "invalid_request"),
        ({"token": 42}, "basic", 400, "invalid_request"),
    ],
)
def test_validate_token_rejections(client, shop, shop_tokens, body, headers, status, error):
    body = {"token": shop_tokens["access_token"], **body}
    body = {k: v for k, v in body.items() if v is not None}
    headers = basic(shop) if headers == "basic" else None
    response = client.post("/api/cross-app/validate-token", json=body, headers=headers)
    assert response.status_code == status
    assert response.json["error"] == error


# -- /user-info and /user ---------------------------------------------------------------------
@pytest.mark.parametrize("scope", ["openid", "openid profile", "openid profile email"])
def test_user_info_equals_userinfo(client, signed_in, shop, user, scope):
    token = user_tokens(client, shop, scope, sign_in=False)["access_token"]
    response = client.get("/api/cross-app/user-info", headers=bearer(token))
    assert response.status_code == 200
    assert response.json == client.get("/oauth/userinfo", headers=bearer(token)).json
    assert response.json["sub"] == user.sub
    assert ("email" in response.json) == ("email" in scope)


@pytest.mark.parametrize("path", ["/api/cross-app/user-info", "/api/cross-app/user"])
def test_user_endpoints_need_openid(client, signed_in, shop, path):
    token = user_tokens(client, shop, "user:metadata", sign_in=False)["access_token"]
    response = client.get(path, headers=bearer(token))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


def test_user_adds_roles_and_metadata(client, apps, signed_in, shop, blog, user):
    token = user_tokens(client, shop, "openid email user:metadata", sign_in=False)["access_token"]
    client.patch("/api/cross-app/user/metadata", json={"theme": "dark"}, headers=bearer(token))
    admin = apps.token(client, apps.admin(), "admin").json["access_token"]
    roles = {"roles": ["editor"]}
    url = f"/api/cross-app/apps/shop/users/{user.sub}/roles"
    assert client.put(url, json=roles, headers=bearer(admin)).status_code == 200

    response = client.get("/api/cross-app/user", headers=bearer(token))
    assert response.status_code == 200
    userinfo = client.get("/oauth/userinfo", headers=bearer(token)).json
    assert response.json == {**userinfo, "roles": ["editor"], "metadata": {"theme": "dark"}}

    other = user_tokens(client, blog, "openid user:metadata", sign_in=False)["access_token"]
    response = client.get("/api/cross-app/user", headers=bearer(other))
    assert response.json["roles"] == [] and response.json["metadata"] == {}


def test_user_without_metadata_scope(client, signed_in, shop, user):
    token = user_tokens(client, shop, "openid profile", sign_in=False)["access_token"]
    response = client.get("/api/cross-app/user", headers=bearer(token))
    assert response.status_code == 200
    assert response.json["roles"] == []
    assert "metadata" not in response.json


# -- bodies -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/api/cross-app/auth", "/api/cross-app/refresh-token", "/api/cross-app/validate-token"]
)
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("grant_type=authorization_code&code=x", "application/x-www-form-urlencoded"),
        ('["code"]', "application/json"),
        ('"code"', "application/json"),
        ("{", "application/json"),
        ("", "application/json"),
    ],
)
def test_non_json_bodies(client, shop, path, body, content_type):
    response = client.post(path, data=body, content_type=content_type, headers=basic(shop))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
