"""Cross-origin rules per registered app (idp/cors.py)."""

import pytest

from tests.helpers import Flow, basic, bearer, pkce_pair, user_tokens

SPA = "https://spa.example"
SHOP = "https://shop.example"
EVIL = "https://evil.example"


@pytest.fixture
def spa(apps):
    return apps.create(
        client_id="spa",
        type="public",
        allowed_scopes="openid profile offline_access user:metadata",
        audience="https://spa.example",
        redirect_uris=["https://spa.example/cb"],
        allowed_origins=[SPA, "http://localhost:3000"],
    )


@pytest.fixture
def shop(apps):
    return apps.partner("shop", "openid user:metadata credits:read", origin=True)


@pytest.fixture
def spa_token(client, signed_in, spa):
    return user_tokens(client, spa, "openid offline_access user:metadata", sign_in=False)


def assert_cors(response, origin):
    """Readable by exactly ``origin``, never with credentials."""
    assert response.headers.get("Access-Control-Allow-Origin") == origin
    assert "Origin" in response.vary
    assert "Access-Control-Allow-Credentials" not in response.headers


def assert_no_cors(response):
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.vary  # a cache must not serve this to an allowed origin


# -- token endpoint ---------------------------------------------------------------------------
def test_public_client_code_exchange(client, signed_in, spa):
    verifier, challenge = pkce_pair()
    code = Flow(client, signed_in).code_for(spa, "openid", challenge)
    response = Flow(client).exchange(spa, code, verifier, Origin=SPA)
    assert response.status_code == 200, response.json
    assert_cors(response, SPA)
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


def test_second_registered_origin(client, signed_in, spa):
    verifier, challenge = pkce_pair()
    code = Flow(client, signed_in).code_for(spa, "openid", challenge)
    response = Flow(client).exchange(spa, code, verifier, Origin="http://localhost:3000")
    assert response.status_code == 200
    assert_cors(response, "http://localhost:3000")


@pytest.mark.parametrize("style", ["basic", "post"])
def test_confidential_client(client, apps, shop, style):
    form = {"grant_type": "client_credentials", "scope": "credits:read"}
    if style == "post":
        form.update(client_id="shop", client_secret=shop["client_secret"])
        headers = {"Origin": SHOP}
    else:
        headers = {"Origin": SHOP, **basic(shop)}
    response = client.post("/oauth/token", data=form, headers=headers)
    assert response.status_code == 200
    assert_cors(response, SHOP)


def test_confidential_code_exchange(client, signed_in, shop):
    code = Flow(client, signed_in).code_for(shop, "openid")
    response = Flow(client).exchange(shop, code, Origin=SHOP)
    assert response.status_code == 200
    assert_cors(response, SHOP)


def test_error_responses_are_readable_by_the_app(client, shop):
    """A registered app's browser code must see why its request failed."""
    form = {"grant_type": "client_credentials", "scope": "admin"}
    response = client.post("/oauth/token", data=form, headers={"Origin": SHOP, **basic(shop)})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_scope"
    assert_cors(response, SHOP)


@pytest.mark.parametrize(
    "origin", [EVIL, SHOP, "null", "https://spa.example:8443", "http://spa.example"]
)
def test_browser_code_exchange_from_another_origin(client, signed_in, spa, origin):
    """The rule behind per-app CORS: a client's token requests come only from its origins."""
    verifier, challenge = pkce_pair()
    code = Flow(client, signed_in).code_for(spa, "openid", challenge)
    response = Flow(client).exchange(spa, code, verifier, Origin=origin)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert "access_token" not in response.json
    assert_no_cors(response)
    # Refused before the grant ran: the code is still good from the app's own origin.
    assert Flow(client).exchange(spa, code, verifier, Origin=SPA).status_code == 200


@pytest.mark.parametrize("origin", [EVIL, SPA])
def test_confidential_client_from_another_origin(client, shop, origin):
    form = {"grant_type": "client_credentials"}
    response = client.post("/oauth/token", data=form, headers={"Origin": origin, **basic(shop)})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert "access_token" not in response.json
    assert_no_cors(response)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/oauth/revoke", {"client_id": "spa", "token": "x"}),
        ("/api/cross-app/auth", {"client_id": "spa", "code": "x", "code_verifier": "y"}),
        ("/api/cross-app/refresh-token", {"client_id": "spa", "refresh_token": "x"}),
    ],
)
def test_other_client_endpoints_check_the_origin(client, spa, path, body):
    if path.startswith("/oauth/"):
        response = client.post(path, data=body, headers={"Origin": EVIL})
    else:
        response = client.post(path, json=body, headers={"Origin": EVIL})
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert_no_cors(response)


def test_server_side_requests_need_no_origin(client, shop):
    """No Origin header (a partner's server): no CORS headers, no origin rule."""
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(shop)
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_unknown_client_is_left_to_the_token_endpoint(client):
    form = {"grant_type": "authorization_code", "client_id": "nope", "code": "x"}
    response = client.post("/oauth/token", data=form, headers={"Origin": EVIL})
    assert response.json["error"] == "invalid_client"
    assert_no_cors(response)


# -- revocation and bearer APIs -----------------------------------------------------------------
def test_revoke(client, spa, spa_token):
    form = {"client_id": "spa", "token": spa_token["access_token"]}
    response = client.post("/oauth/revoke", data=form, headers={"Origin": SPA})
    assert response.status_code == 200
    assert_cors(response, SPA)
    userinfo = client.get("/oauth/userinfo", headers=bearer(spa_token["access_token"]))
    assert userinfo.status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/oauth/userinfo"),
        ("POST", "/oauth/userinfo"),
        ("GET", "/api/cross-app/user/metadata"),
        ("PATCH", "/api/cross-app/user/metadata"),
        ("GET", "/api/cross-app/user-info"),
        ("GET", "/api/cross-app/user"),
    ],
)
def test_bearer_apis_by_the_tokens_client(client, spa, shop, spa_token, method, path):
    headers = bearer(spa_token["access_token"])
    response = client.open(path, method=method, json={}, headers={"Origin": SPA, **headers})
    assert response.status_code == 200, response.json
    assert_cors(response, SPA)
    for origin in (SHOP, EVIL):  # registered by another app, or by none
        response = client.open(path, method=method, json={}, headers={"Origin": origin, **headers})
        assert response.status_code == 200  # the API answers; the browser may not read it
        assert_no_cors(response)


def test_client_credentials_token_on_a_bearer_api(client, apps, shop):
    token = apps.token(client, shop, "user:metadata").json["access_token"]
    response = client.get("/api/cross-app/user/metadata", headers={"Origin": SHOP, **bearer(token)})
    assert response.status_code == 401
    assert_cors(response, SHOP)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer a.WzFd.b",  # payload is a JSON array
        "Bearer a.ImNsaWVudCI.b",  # a JSON string
        "Bearer a.!!!.b",
        "Bearer a.w6k.b",  # not UTF-8 JSON
        "Bearer garbage",
        "Bearer ",
    ],
)
def test_malformed_bearer_tokens(client, spa, signing_keys, authorization):
    headers = {"Origin": SPA, "Authorization": authorization}
    response = client.get("/oauth/userinfo", headers=headers)
    assert response.status_code == 401
    assert_no_cors(response)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!",
        "Basic w6k6eA==",  # "é:x": no such client
        "Basic c3Bh",  # "spa" without a secret
        "Basic /w==",  # not UTF-8
        "Basic \xe9",  # not base64 ASCII
        "Bearer ",  # a scheme without credentials
    ],
)
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke"])
def test_unparseable_client_credentials(client, spa, path, authorization):
    """Neither the origin check nor client authentication may fail on these (no 500)."""
    form = {"grant_type": "client_credentials", "token": "x"}
    headers = {"Origin": SPA, "Authorization": authorization}
    response = client.post(path, data=form, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


# -- preflight --------------------------------------------------------------------------------
_PREFLIGHT_PATHS = [
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/userinfo",
    "/api/cross-app/auth",
    "/api/cross-app/refresh-token",
    "/api/cross-app/validate-token",
    "/api/cross-app/user/metadata",
    "/api/cross-app/user",
]


def preflight(client, path, origin, method="POST"):
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    return client.options(path, headers=headers)


@pytest.mark.parametrize("path", _PREFLIGHT_PATHS)
def test_preflight_for_a_registered_origin(client, spa, path):
    response = preflight(client, path, SPA)
    assert response.status_code == 200
    assert_cors(response, SPA)
    methods = response.headers["Access-Control-Allow-Methods"].split(", ")
    assert {"GET", "POST", "PATCH", "PUT"} <= set(methods)
    allowed = response.headers["Access-Control-Allow-Headers"].lower().split(", ")
    assert {"authorization", "content-type"} <= set(allowed)
    assert response.headers["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize("path", _PREFLIGHT_PATHS)
def test_preflight_for_an_unregistered_origin(client, spa, path):
    response = preflight(client, path, EVIL)
    assert_no_cors(response)
    assert "Access-Control-Max-Age" not in response.headers


def test_preflight_for_a_disabled_apps_origin(client, apps, spa):
    from idp.apps import services as app_services

    app_services.disable("spa")
    assert_no_cors(preflight(client, "/oauth/token", SPA))


@pytest.mark.parametrize("path", ["/oauth/introspect", "/login", "/oauth/authorize", "/account"])
def test_no_cors_outside_the_partner_endpoints(client, spa, path):
    assert_no_cors(preflight(client, path, SPA))
    assert_no_cors(client.get(path, headers={"Origin": SPA}))


# -- public documents -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/openapi.json",
        "/api/cross-app/credits/packages",  # the catalogue: a signed-out page shows prices
    ],
)
@pytest.mark.parametrize("origin", [SPA, EVIL])
def test_public_documents(client, signing_keys, path, origin):
    response = client.get(path, headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    response = preflight(client, path, origin, "GET")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
