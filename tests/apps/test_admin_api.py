"""The admin JSON API over the registry: who may call it, and each operation."""

import time

import pytest

from idp.apps import services
from keys.signer import key_cache
from tests.helpers import basic, bearer

API = "/api/cross-app"
ENDPOINTS = [
    ("post", f"{API}/register"),
    ("get", f"{API}/apps"),
    ("get", f"{API}/apps/shop"),
    ("patch", f"{API}/apps/shop"),
    ("post", f"{API}/apps/shop/disable"),
    ("post", f"{API}/apps/shop/rotate-secret"),
]


@pytest.fixture
def admin(apps):
    return apps.admin()


@pytest.fixture
def admin_headers(client, apps, admin):
    return bearer(apps.token(client, admin, "admin").json["access_token"])


@pytest.fixture
def shop(apps):
    return apps.partner("shop", "credits:read user:metadata")


def call(client, method, path, headers):
    body = {"name": "Renamed"} if method in ("post", "patch") else None
    return getattr(client, method)(path, json=body, headers=headers)


def mint(client_id: str, aud: list[str], scope: str, exp_in: int = 60) -> str:
    """A token signed with our active key, for claims no grant would issue."""
    now = int(time.time())
    claims = {
        "iss": "https://idp.test",
        "sub": client_id,
        "aud": aud,
        "client_id": client_id,
        "scope": scope,
        "jti": f"minted-{now}-{scope}",
        "iat": now - 120,
        "exp": now + exp_in,
    }
    return key_cache().sign(claims, typ="at+jwt")


def registry() -> list[dict]:
    return [services.to_dict(a) for a in services.list_all()]


def assert_untouched(client, apps, shop, before):
    """A refused call changed nothing: same records, the secret still works."""
    assert registry() == before
    assert apps.token(client, shop).status_code == 200


# --- who may call ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_token(client, apps, shop, method, path):
    """Authlib answers a missing bearer token with its own code (RFC 6750 section 3.1)."""
    before = registry()
    response = call(client, method, path, {})
    assert response.status_code == 401
    assert response.json["error"] == "missing_authorization"
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert_untouched(client, apps, shop, before)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("basic", id="client-credentials-instead-of-token"),
        pytest.param("Bearer", id="empty-bearer"),
        pytest.param("Token abc.def.ghi", id="other-scheme"),
    ],
)
def test_not_a_bearer_token(client, shop, authorization):
    value = basic(shop)["Authorization"] if authorization == "basic" else authorization
    response = client.get(f"{API}/apps", headers={"Authorization": value})
    assert response.status_code == 401
    assert response.json["error"] == "unsupported_token_type"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_partner_app_token_is_refused(client, apps, shop, method, path):
    """A partner's token lacks the admin audience: RFC 6750 invalid_token."""
    token = apps.token(client, shop).json["access_token"]
    before = registry()
    response = call(client, method, path, bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert_untouched(client, apps, shop, before)


def test_admin_apps_token_for_another_scope_is_refused(client, apps):
    ops = apps.create(
        client_id="ops",
        allowed_scopes="admin credits:read",
        first_party=True,
        audience="https://ops.example",
    )
    token = apps.token(client, ops, "credits:read").json["access_token"]
    response = client.get(f"{API}/apps", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_admin_audience_without_admin_scope(client, apps, admin, shop, method, path):
    """RFC 6750 section 3.1: a valid token lacking the scope gets 403 insufficient_scope."""
    token = mint("ops-admin", ["https://ops.example", "https://idp.test/api/admin"], "credits:read")
    before = registry()
    response = call(client, method, path, bearer(token))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    assert_untouched(client, apps, shop, before)


@pytest.mark.parametrize(
    ("aud", "exp_in"),
    [
        # Expired by more than the verifier's clock leeway (IDP_CLOCK_LEEWAY, 30 s).
        pytest.param(["https://ops.example", "https://idp.test/api/admin"], -60, id="expired"),
        pytest.param(
            ["https://ops.example", "https://idp.test/api/wallet"], 60, id="wallet-audience"
        ),
        pytest.param("https://ops.example", 60, id="own-audience-only"),
    ],
)
def test_admin_scope_without_valid_audience_or_time(client, admin, aud, exp_in):
    response = client.get(f"{API}/apps", headers=bearer(mint("ops-admin", aud, "admin", exp_in)))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


def test_token_of_disabled_admin_app_is_refused(client, apps, admin_headers):
    other = apps.admin("ops-backup")
    backup = bearer(apps.token(client, other, "admin").json["access_token"])
    response = client.post(f"{API}/apps/ops-admin/disable", headers=backup)
    assert response.status_code == 200
    refused = client.get(f"{API}/apps", headers=admin_headers)
    assert refused.status_code == 401
    assert refused.json["error"] == "invalid_token"
    assert client.get(f"{API}/apps", headers=backup).status_code == 200


def test_admin_app_disabling_itself_loses_access_at_once(client, admin_headers):
    assert client.post(f"{API}/apps/ops-admin/disable", headers=admin_headers).status_code == 200
    response = client.get(f"{API}/apps", headers=admin_headers)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"allowed_scopes": []}, id="admin-scope-withdrawn"),
        pytest.param({"allowed_scopes": [], "first_party": False}, id="no-longer-first-party"),
    ],
)
def test_token_of_demoted_admin_app_is_refused(client, apps, admin_headers, change):
    other = apps.admin("ops-backup")
    backup = bearer(apps.token(client, other, "admin").json["access_token"])
    response = client.patch(f"{API}/apps/ops-admin", json=change, headers=backup)
    assert response.status_code == 200, response.json
    refused = client.get(f"{API}/apps", headers=admin_headers)
    assert refused.status_code == 401
    assert refused.json["error"] == "invalid_token"


# --- operations ------------------------------------------------------------------------------


def test_list(client, admin_headers, shop):
    response = client.get(f"{API}/apps", headers=admin_headers)
    assert response.status_code == 200
    listed = response.json["apps"]
    assert [a["client_id"] for a in listed] == ["ops-admin", "shop"]
    assert listed[1]["audience"] == "https://shop.example"
    assert all("client_secret" not in a and "client_secret_hash" not in a for a in listed)


def test_get(client, admin_headers, shop):
    response = client.get(f"{API}/apps/shop", headers=admin_headers)
    assert response.status_code == 200
    expected = {k: v for k, v in shop.items() if k != "client_secret"}
    assert response.json == expected


def test_patch_changes_only_given_fields(client, admin_headers, shop):
    response = client.patch(
        f"{API}/apps/shop",
        headers=admin_headers,
        json={"name": "Shop 2", "allowed_origins": ["https://shop.example"]},
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["name"] == "Shop 2"
    assert body["allowed_origins"] == ["https://shop.example"]
    assert body["updated_at"] > shop["updated_at"]
    unchanged = (
        "client_id",
        "type",
        "redirect_uris",
        "allowed_scopes",
        "audience",
        "access_token_lifetime",
        "first_party",
        "status",
        "created_at",
        "secret_rotated_at",
    )
    assert {k: body[k] for k in unchanged} == {k: shop[k] for k in unchanged}
    assert client.get(f"{API}/apps/shop", headers=admin_headers).json == body


def test_patch_takes_effect_at_once(client, apps, admin_headers, shop):
    assert apps.token(client, shop).json["expires_in"] == 600
    response = client.patch(
        f"{API}/apps/shop",
        headers=admin_headers,
        json={"access_token_lifetime": 120, "allowed_scopes": "credits:read"},
    )
    assert response.status_code == 200
    token = apps.token(client, shop)
    assert token.json["expires_in"] == 120
    assert token.json["scope"] == "credits:read"
    refused = apps.token(client, shop, "user:metadata")
    assert refused.status_code == 400
    assert refused.json["error"] == "invalid_scope"


def test_empty_patch_is_a_no_op(client, admin_headers, shop):
    response = client.patch(f"{API}/apps/shop", json={}, headers=admin_headers)
    assert response.status_code == 200
    assert response.json["name"] == shop["name"]


@pytest.mark.parametrize(
    ("target", "body", "error", "field"),
    [
        ("shop", {"client_id": "shop2"}, "invalid_client_metadata", "client_id"),
        ("shop", {"type": "public"}, "invalid_client_metadata", "type"),
        ("shop", {"status": "disabled"}, "invalid_client_metadata", "status"),
        ("shop", {"client_secret": "chosen"}, "invalid_client_metadata", "client_secret"),
        ("shop", {"name": " "}, "invalid_client_metadata", "name"),
        (
            "shop",
            {"redirect_uris": ["https://shop.example/*"]},
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        ("shop", {"allowed_scopes": "admin"}, "invalid_client_metadata", "allowed_scopes"),
        ("shop", {"audience": "https://idp.test/api/admin"}, "invalid_client_metadata", "audience"),
        ("shop", {"access_token_lifetime": 10}, "invalid_client_metadata", "access_token_lifetime"),
        (
            "shop",
            {"refresh_reuse_grace_seconds": 120},
            "invalid_client_metadata",
            "refresh_reuse_grace_seconds",
        ),
        # the combination is checked against the stored app
        ("ops-admin", {"first_party": False}, "invalid_client_metadata", "allowed_scopes"),
        ("mobile", {"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris"),
    ],
)
def test_patch_rejections(client, apps, admin_headers, shop, target, body, error, field):
    apps.create(client_id="mobile", type="public", redirect_uris=["com.example.app:/cb"])
    before = client.get(f"{API}/apps/{target}", headers=admin_headers).json
    response = client.patch(f"{API}/apps/{target}", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json["error"] == error
    assert response.json["field"] == field
    assert client.get(f"{API}/apps/{target}", headers=admin_headers).json == before


@pytest.mark.parametrize("field", ["client_id", "type"])
def test_immutable_fields(client, admin_headers, shop, field):
    response = client.patch(f"{API}/apps/shop", json={field: "public"}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"
    assert response.json["field"] == field
    assert response.json["error_description"] == f"{field} cannot be changed after registration"


@pytest.mark.parametrize("data", ['["name"]', "null", "{"])
def test_patch_body_must_be_a_json_object(client, admin_headers, shop, data):
    response = client.patch(
        f"{API}/apps/shop", data=data, content_type="application/json", headers=admin_headers
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"


def test_disable(client, apps, admin_headers, shop):
    assert apps.token(client, shop).status_code == 200
    response = client.post(f"{API}/apps/shop/disable", headers=admin_headers)
    assert response.status_code == 200
    assert response.json["status"] == "disabled"
    refused = apps.token(client, shop)
    assert refused.status_code == 401
    assert refused.json["error"] == "invalid_client"
    listed = client.get(f"{API}/apps/shop", headers=admin_headers).json
    assert listed["status"] == "disabled"


def test_disable_revokes_outstanding_tokens_of_that_app(client, apps, admin_headers, shop):
    token = apps.token(client, shop).json["access_token"]
    resource = apps.confidential("shop-api", audience="https://shop.example")
    introspect = {"token": token}
    seen = client.post("/oauth/introspect", data=introspect, headers=basic(resource))
    assert seen.json["active"] is True
    client.post(f"{API}/apps/shop/disable", headers=admin_headers)
    seen = client.post("/oauth/introspect", data=introspect, headers=basic(resource))
    assert seen.json == {"active": False}


def test_rotate_secret(client, apps, admin_headers, shop):
    assert apps.token(client, shop).status_code == 200  # the old secret is cached now
    response = client.post(f"{API}/apps/shop/rotate-secret", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    new_secret = response.json["client_secret"]
    assert new_secret != shop["client_secret"]
    assert response.json["secret_rotated_at"] > shop["secret_rotated_at"]
    old = apps.token(client, shop)
    assert old.status_code == 401
    assert old.json["error"] == "invalid_client"
    assert apps.token(client, {**shop, "client_secret": new_secret}).status_code == 200
    again = client.get(f"{API}/apps/shop", headers=admin_headers)
    assert "client_secret" not in again.json


def test_rotate_secret_of_public_app(client, apps, admin_headers):
    apps.create(client_id="mobile", type="public", redirect_uris=["com.example.app:/cb"])
    response = client.post(f"{API}/apps/mobile/rotate-secret", headers=admin_headers)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_client_metadata"
    assert response.json["field"] == "type"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"{API}/apps/nope"),
        ("patch", f"{API}/apps/nope"),
        ("post", f"{API}/apps/nope/disable"),
        ("post", f"{API}/apps/nope/rotate-secret"),
        ("get", f"{API}/apps/{'x' * 200}"),
    ],
)
def test_unknown_client_id(client, admin_headers, method, path):
    response = call(client, method, path, admin_headers)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
