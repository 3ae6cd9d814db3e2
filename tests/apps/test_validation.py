"""Registry validation (``POST /api/cross-app/register``): every rejection, and what is accepted."""

import hashlib

import pytest
from sqlalchemy import func, select

from idp.apps import schemas
from idp.apps.models import AppIntegration
from tests.helpers import bearer

REGISTER = "/api/cross-app/register"
META, URI = "invalid_client_metadata", "invalid_redirect_uri"
PROD = schemas.Policy(
    production=True,
    max_lifetime=86400,
    default_lifetime=600,
    reserved_audiences=frozenset({"https://idp.example", "https://idp.example/api/admin"}),
)
DEV = schemas.Policy(
    production=False,
    max_lifetime=86400,
    default_lifetime=600,
    reserved_audiences=PROD.reserved_audiences,
)


@pytest.fixture
def admin_headers(client, apps):
    admin = apps.admin()
    return bearer(apps.token(client, admin, "admin").json["access_token"])


def register(client, headers, **body):
    body.setdefault("allowed_scopes", "openid")
    return client.post(REGISTER, json=body, headers=headers)


def app_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(AppIntegration))


def stored_hash(db, client_id: str) -> str:
    return db.session.scalar(
        select(AppIntegration.client_secret_hash).where(AppIntegration.client_id == client_id)
    )


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("https://shop.example/cb#done", id="fragment"),
        pytest.param("https://shop.example/cb#", id="empty-fragment"),
        pytest.param("https://*.shop.example/cb", id="wildcard-host"),
        pytest.param("https://shop.example/*", id="wildcard-path"),
        pytest.param("/cb", id="relative-path"),
        pytest.param("shop.example/cb", id="no-scheme"),
        pytest.param("https:///cb", id="no-host"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("data:text/html,<script>alert(1)</script>", id="data"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("https://user:pw@shop.example/cb", id="user-and-password"),
        pytest.param("https://user@shop.example/cb", id="user"),
        pytest.param("myapp:/cb", id="scheme-not-reverse-domain"),
        pytest.param("com.example.app:", id="native-without-path"),
        pytest.param("https://shop.example:99999/cb", id="port-out-of-range"),
        pytest.param("https://shop.example:abc/cb", id="port-not-numeric"),
        pytest.param("https://[::1/cb", id="broken-ipv6"),
    ],
)
def test_redirect_uri_rejections(client, db, admin_headers, uri):
    before = app_count(db)
    response = register(
        client, admin_headers, name="Shop", redirect_uris=["https://shop.example/ok", uri]
    )
    assert response.status_code == 400
    assert response.json["error"] == URI
    assert response.json["field"] == "redirect_uris"
    assert app_count(db) == before


@pytest.mark.parametrize(
    "uri",
    [
        "http://shop.example/cb",
        "http://127.0.0.1.nip.io/cb",
        "http://localhost.shop.example/cb",
        "http://10.0.0.1/cb",
    ],
)
def test_production_refuses_http_outside_loopback(uri):
    """A full production app needs PostgreSQL and https, so the policy is exercised directly."""
    assert schemas.validate_new({"name": "Shop", "redirect_uris": [uri]}, DEV)
    with pytest.raises(schemas.InvalidRedirectURI) as caught:
        schemas.validate_new({"name": "Shop", "redirect_uris": [uri]}, PROD)
    assert caught.value.error == URI
    assert caught.value.to_dict()["field"] == "redirect_uris"


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8000/callback",
        "http://127.0.0.2/cb",
        "http://localhost/cb",
        "http://[::1]:9000/cb",
        "https://shop.example/cb?tab=1",
        "com.example.app:/oauth2redirect",
    ],
)
def test_production_accepts_loopback_http_https_and_native_schemes(uri):
    values = schemas.validate_new({"name": "Shop", "redirect_uris": [uri]}, PROD)
    assert values["redirect_uris"] == [uri]


@pytest.mark.parametrize("origin", ["http://shop.example", "http://192.168.1.2:8080"])
def test_production_refuses_http_origins_outside_loopback(origin):
    assert schemas.validate_new({"name": "Shop", "allowed_origins": [origin]}, DEV)
    with pytest.raises(schemas.RegistryError) as caught:
        schemas.validate_new({"name": "Shop", "allowed_origins": [origin]}, PROD)
    assert caught.value.error == META
    assert caught.value.to_dict()["field"] == "allowed_origins"


def test_production_accepts_loopback_http_origin():
    values = schemas.validate_new(
        {"name": "Shop", "allowed_origins": ["http://localhost:3000"]}, PROD
    )
    assert values["allowed_origins"] == ["http://localhost:3000"]


def test_development_accepts_http_redirect_and_native_scheme(client, admin_headers):
    response = register(
        client,
        admin_headers,
        name="Shop",
        type="public",
        redirect_uris=["http://shop.test/cb", "com.example.app:/oauth2redirect"],
    )
    assert response.status_code == 201, response.json
    assert response.json["redirect_uris"] == [
        "http://shop.test/cb",
        "com.example.app:/oauth2redirect",
    ]


@pytest.mark.parametrize(
    "origin",
    [
        pytest.param("https://shop.example/app", id="path"),
        pytest.param("https://shop.example/", id="trailing-slash"),
        pytest.param("https://*.shop.example", id="wildcard"),
        pytest.param("*", id="bare-wildcard"),
        pytest.param("ftp://shop.example", id="ftp-scheme"),
        pytest.param("chrome-extension://abcdef", id="extension-scheme"),
        pytest.param("shop.example", id="no-scheme"),
        pytest.param("https://shop.example?x=1", id="query"),
        pytest.param("https://shop.example#top", id="fragment"),
        pytest.param("https://user@shop.example", id="userinfo"),
        pytest.param("https://shop.example:99999", id="bad-port"),
        pytest.param("https://[::1", id="broken-ipv6"),
    ],
)
def test_origin_rejections(client, db, admin_headers, origin):
    before = app_count(db)
    response = register(client, admin_headers, name="Shop", allowed_origins=[origin])
    assert response.status_code == 400
    assert response.json["error"] == META
    assert response.json["field"] == "allowed_origins"
    assert app_count(db) == before


@pytest.mark.parametrize(
    ("body", "error", "field"),
    [
        # scopes
        ({"allowed_scopes": "credits:read bogus"}, META, "allowed_scopes"),
        ({"allowed_scopes": ["credits:read", "write"]}, META, "allowed_scopes"),
        ({"allowed_scopes": 42}, META, "allowed_scopes"),
        ({"allowed_scopes": ["credits:read", 1]}, META, "allowed_scopes"),
        # the admin scope belongs to first-party confidential apps only
        ({"allowed_scopes": "admin"}, META, "allowed_scopes"),
        ({"allowed_scopes": "admin", "first_party": False}, META, "allowed_scopes"),
        (
            {
                "allowed_scopes": "admin",
                "first_party": True,
                "type": "public",
                "redirect_uris": ["https://shop.example/cb"],
            },
            META,
            "allowed_scopes",
        ),
        # type and first_party
        ({"type": "spa"}, META, "type"),
        ({"type": None}, META, "type"),
        ({"first_party": "yes"}, META, "first_party"),
        ({"first_party": 1}, META, "first_party"),
        # a public app must be able to receive its code somewhere
        ({"type": "public"}, URI, "redirect_uris"),
        ({"type": "public", "redirect_uris": []}, URI, "redirect_uris"),
        # list shapes
        ({"redirect_uris": 42}, META, "redirect_uris"),
        ({"redirect_uris": [42]}, META, "redirect_uris"),
        (
            {"redirect_uris": [f"https://shop.example/{i}" for i in range(21)]},
            META,
            "redirect_uris",
        ),
        ({"allowed_origins": {"https://shop.example": True}}, META, "allowed_origins"),
        # client_id format
        ({"client_id": "ab"}, META, "client_id"),
        ({"client_id": "a" * 65}, META, "client_id"),
        ({"client_id": "Shop"}, META, "client_id"),
        ({"client_id": "-shop"}, META, "client_id"),
        ({"client_id": "shop app"}, META, "client_id"),
        ({"client_id": "shop/1"}, META, "client_id"),
        ({"client_id": 12345}, META, "client_id"),
        # unknown fields, including ones a caller must never set
        ({"client_secret": "chosen"}, META, "client_secret"),
        ({"status": "active"}, META, "status"),
        ({"grant_types": ["client_credentials"]}, META, "grant_types"),
        # name
        ({"name": None}, META, "name"),
        ({"name": ""}, META, "name"),
        ({"name": "   "}, META, "name"),
        ({"name": "x" * 101}, META, "name"),
        ({"name": 42}, META, "name"),
        # access-token lifetime
        ({"access_token_lifetime": 59}, META, "access_token_lifetime"),
        ({"access_token_lifetime": 86401}, META, "access_token_lifetime"),
        ({"access_token_lifetime": 0}, META, "access_token_lifetime"),
        ({"access_token_lifetime": -600}, META, "access_token_lifetime"),
        ({"access_token_lifetime": "600"}, META, "access_token_lifetime"),
        ({"access_token_lifetime": 600.0}, META, "access_token_lifetime"),
        ({"access_token_lifetime": True}, META, "access_token_lifetime"),
        ({"access_token_lifetime": None}, META, "access_token_lifetime"),
        # refresh-token reuse grace window: 0 to 60 seconds
        ({"refresh_reuse_grace_seconds": -1}, META, "refresh_reuse_grace_seconds"),
        ({"refresh_reuse_grace_seconds": 61}, META, "refresh_reuse_grace_seconds"),
        ({"refresh_reuse_grace_seconds": "2"}, META, "refresh_reuse_grace_seconds"),
        ({"refresh_reuse_grace_seconds": 2.0}, META, "refresh_reuse_grace_seconds"),
        ({"refresh_reuse_grace_seconds": True}, META, "refresh_reuse_grace_seconds"),
        ({"refresh_reuse_grace_seconds": None}, META, "refresh_reuse_grace_seconds"),
        # audience: never a resource of this server, never with spaces
        ({"audience": "https://idp.test/api/wallet"}, META, "audience"),
        ({"audience": "https://idp.test/api/admin"}, META, "audience"),
        ({"audience": "https://idp.test"}, META, "audience"),
        ({"audience": "https://shop.example/api v1"}, META, "audience"),
        ({"audience": "shop\tapi"}, META, "audience"),
        ({"audience": ""}, META, "audience"),
        ({"audience": "a" * 256}, META, "audience"),
        ({"audience": ["https://shop.example"]}, META, "audience"),
    ],
)
def test_metadata_rejections(client, db, admin_headers, body, error, field):
    before = app_count(db)
    response = client.post(REGISTER, json={"name": "Shop", **body}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json["error"] == error
    assert response.json["field"] == field
    assert response.json["error_description"]
    assert app_count(db) == before


def test_name_missing(client, admin_headers):
    response = client.post(REGISTER, json={"type": "confidential"}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json["error"] == META
    assert response.json["field"] == "name"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param('["name", "Shop"]', "application/json", id="array"),
        pytest.param('"Shop"', "application/json", id="string"),
        pytest.param("42", "application/json", id="number"),
        pytest.param("null", "application/json", id="null"),
        pytest.param('{"name": ', "application/json", id="broken-json"),
        pytest.param("name=Shop", "application/x-www-form-urlencoded", id="form"),
        pytest.param("", "application/json", id="empty"),
    ],
)
def test_body_must_be_a_json_object(client, db, admin_headers, data, content_type):
    before = app_count(db)
    response = client.post(REGISTER, data=data, content_type=content_type, headers=admin_headers)
    assert response.status_code == 400
    assert response.json["error"] == META
    assert "field" not in response.json
    assert app_count(db) == before


@pytest.mark.postgres  # a unique-constraint error inside the transaction
def test_duplicate_client_id(client, db, admin_headers):
    first = register(client, admin_headers, name="Shop", client_id="shop")
    assert first.status_code == 201
    second = register(client, admin_headers, name="Other shop", client_id="shop")
    assert second.status_code == 400
    assert second.json["error"] == "client_id_in_use"
    assert second.json["field"] == "client_id"
    assert "client_secret" not in second.json
    assert (
        db.session.scalar(select(AppIntegration.name).where(AppIntegration.client_id == "shop"))
        == "Shop"
    )


def test_confidential_registration_returns_one_time_secret(client, db, apps, admin_headers):
    response = register(
        client,
        admin_headers,
        name=" Shop ",
        client_id="shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_origins=["https://Shop.Example"],
        allowed_scopes="openid credits:read",
        audience="https://shop.example",
        access_token_lifetime=300,
    )
    assert response.status_code == 201, response.json
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    secret = body.pop("client_secret")
    assert len(secret) >= 43  # 256 bits, base64url
    assert body["secret_rotated_at"] == body["created_at"]
    expected = {
        "client_id": "shop",
        "name": "Shop",
        "type": "confidential",
        "redirect_uris": ["https://shop.example/cb"],
        "allowed_origins": ["https://shop.example"],
        "allowed_scopes": ["openid", "credits:read"],
        "audience": "https://shop.example",
        "access_token_lifetime": 300,
        "first_party": False,
        "status": "active",
    }
    assert {key: body[key] for key in expected} == expected
    assert stored_hash(db, "shop") == hashlib.sha256(secret.encode()).hexdigest()
    token = apps.token(client, {"client_id": "shop", "client_secret": secret})
    assert token.status_code == 200, token.json
    assert token.json["expires_in"] == 300


def test_secret_is_shown_once(client, admin_headers):
    secret = register(client, admin_headers, name="Shop", client_id="shop").json["client_secret"]
    for response in (
        client.get("/api/cross-app/apps/shop", headers=admin_headers),
        client.get("/api/cross-app/apps", headers=admin_headers),
    ):
        assert response.status_code == 200
        assert secret not in response.get_data(as_text=True)


def test_public_registration_has_no_secret(client, db, admin_headers):
    response = register(
        client, admin_headers, name="Mobile", type="public", redirect_uris=["com.example.app:/cb"]
    )
    assert response.status_code == 201, response.json
    assert "client_secret" not in response.json
    assert response.json["type"] == "public"
    assert response.json["secret_rotated_at"] is None
    assert stored_hash(db, response.json["client_id"]) is None


def test_generated_defaults(client, admin_headers):
    body = register(client, admin_headers, name="Shop").json
    assert body["client_id"].startswith("app_")
    assert schemas.CLIENT_ID_RE.match(body["client_id"])
    assert body["audience"] == body["client_id"]
    assert body["access_token_lifetime"] == 600
    assert body["type"] == "confidential"
    assert body["first_party"] is False
    assert (body["redirect_uris"], body["allowed_origins"]) == ([], [])
    assert register(client, admin_headers, name="Shop 2").json["client_id"] != body["client_id"]


def test_first_party_confidential_app_may_hold_admin_scope(client, apps, admin_headers):
    response = register(
        client,
        admin_headers,
        name="Ops 2",
        client_id="ops-two",
        allowed_scopes=["admin"],
        first_party=True,
    )
    assert response.status_code == 201, response.json
    token = apps.token(client, response.json, "admin")
    assert token.status_code == 200
    listed = client.get("/api/cross-app/apps", headers=bearer(token.json["access_token"]))
    assert listed.status_code == 200


def test_secret_hash_never_in_api_output(client, db, admin_headers):
    created = register(client, admin_headers, name="Shop", client_id="shop")
    outputs = [created]
    outputs.append(client.get("/api/cross-app/apps", headers=admin_headers))
    outputs.append(client.get("/api/cross-app/apps/shop", headers=admin_headers))
    outputs.append(
        client.patch("/api/cross-app/apps/shop", json={"name": "Shop 2"}, headers=admin_headers)
    )
    rotated = client.post("/api/cross-app/apps/shop/rotate-secret", headers=admin_headers)
    outputs.append(rotated)
    outputs.append(client.post("/api/cross-app/apps/shop/disable", headers=admin_headers))
    hashes = {
        hashlib.sha256(created.json["client_secret"].encode()).hexdigest(),
        stored_hash(db, "shop"),
    }
    assert len(hashes) == 2  # the rotation changed it
    for response in outputs:
        assert response.status_code in (200, 201), response.json
        text = response.get_data(as_text=True)
        assert "client_secret_hash" not in text
        assert not any(h in text for h in hashes)
