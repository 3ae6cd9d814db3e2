"""Introspection (RFC 7662) and revocation (RFC 7009) of JWT access tokens."""

import pytest

from tests.helpers import b64_claims, basic, bearer


@pytest.fixture
def shop(apps):
    return apps.confidential("shop", "credits:read", audience="https://shop.example")


@pytest.fixture
def blog(apps):
    return apps.confidential("blog", "credits:read", audience="https://blog.example")


@pytest.fixture
def issued(client, apps, shop):
    return apps.token(client, shop).json["access_token"]


def introspect(client, caller, token, **extra):
    return client.post("/oauth/introspect", data={"token": token, **extra}, headers=basic(caller))


def revoke(client, caller, token, **extra):
    return client.post("/oauth/revoke", data={"token": token, **extra}, headers=basic(caller))


def test_introspection_of_own_token(client, shop, issued):
    body = introspect(client, shop, issued).json
    claims = b64_claims(issued)
    assert body == {
        "active": True,
        "token_type": "Bearer",
        "scope": "credits:read",
        "client_id": "shop",
        "sub": "shop",
        "aud": claims["aud"],
        "iss": "https://idp.test",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims["jti"],
    }


def test_other_app_sees_inactive(client, blog, issued):
    assert introspect(client, blog, issued).json == {"active": False}


def test_resource_server_named_in_aud_may_introspect(client, apps, issued):
    api = apps.confidential("shop-api", "credits:read", audience="https://shop.example")
    assert introspect(client, api, issued).json["active"] is True


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_invalid_tokens_are_inactive(client, shop, token):
    response = introspect(client, shop, token)
    assert response.status_code == 200
    assert response.json == {"active": False}


def test_introspection_requires_client_authentication(client, issued):
    response = client.post("/oauth/introspect", data={"token": issued})
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


@pytest.mark.parametrize("form", [{}, {"token": ""}], ids=["missing", "empty"])
def test_introspection_missing_token_param(client, shop, form):
    response = client.post("/oauth/introspect", data=form, headers=basic(shop))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_unknown_hint_is_ignored_by_introspection(client, shop, issued):
    """RFC 7662 section 2.1: the hint only narrows the search."""
    response = introspect(client, shop, issued, token_type_hint="id_token")
    assert response.json["active"] is True


def test_unknown_hint_refused_by_revocation(client, shop, issued):
    response = revoke(client, shop, issued, token_type_hint="id_token")
    assert response.status_code == 400
    assert response.json["error"] == "unsupported_token_type"
    assert introspect(client, shop, issued).json["active"] is True


@pytest.mark.redis  # the deny list is in Redis or in the database
def test_revocation_visible_in_introspection(client, shop, issued):
    assert introspect(client, shop, issued).json["active"] is True
    response = revoke(client, shop, issued)
    assert response.status_code == 200
    assert introspect(client, shop, issued).json == {"active": False}


@pytest.mark.redis  # the deny list is in Redis or in the database
def test_revoked_token_refused_by_our_api(client, apps, issued, shop):
    admin = apps.admin()
    token = apps.token(client, admin, "admin").json["access_token"]
    assert client.get("/api/cross-app/apps", headers=bearer(token)).status_code == 200
    revoke(client, admin, token)
    response = client.get("/api/cross-app/apps", headers=bearer(token))
    assert response.status_code == 401
    assert response.json["error"] == "invalid_token"


@pytest.mark.redis  # the deny list is in Redis or in the database
def test_revoking_twice_and_unknown_tokens_answer_200(client, shop, issued):
    assert revoke(client, shop, issued).status_code == 200
    assert revoke(client, shop, issued).status_code == 200
    assert revoke(client, shop, "never-issued").status_code == 200


def test_cannot_revoke_another_apps_token(client, blog, shop, issued):
    response = revoke(client, blog, issued)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert introspect(client, shop, issued).json["active"] is True


def test_revocation_requires_client_authentication(client, shop, issued):
    response = client.post(
        "/oauth/revoke", data={"token": issued}, headers=basic({**shop, "client_secret": "nope"})
    )
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"


def _revoked(client, shop, issued, db):
    """Revoke ``issued``; its jti and what the database's deny list holds for it."""
    from sqlalchemy import select

    from idp.oauth2.models import RevokedToken

    jti = b64_claims(issued)["jti"]
    revoke(client, shop, issued)
    return jti, db.session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti))


@pytest.mark.redis(only=True)
def test_deny_list_lives_in_the_database_and_redis_caches_it(app, client, shop, issued, db):
    """The database holds every revocation; Redis (shared by all nodes) caches it,
    expiring with the token."""
    jti, in_db = _revoked(client, shop, issued, db)
    redis = app.extensions["idp_redis"]
    assert in_db == jti
    assert redis.get(f"idp:revoked:{jti}") == b"shop"
    assert 0 < redis.ttl(f"idp:revoked:{jti}") <= 600


def test_deny_list_lives_in_the_database_without_redis(app, client, shop, issued, db):
    jti, in_db = _revoked(client, shop, issued, db)
    assert app.extensions["idp_redis"] is None
    assert in_db == jti


@pytest.mark.redis(only=True)
def test_revocations_survive_a_redis_restart(app, client, apps, shop, issued, db):
    """Redis here keeps nothing on disk: after it restarts empty, a revoked token is
    still refused by introspection and by our APIs, and the cache is warmed again."""
    admin = apps.admin()
    admin_token = apps.token(client, admin, "admin").json["access_token"]
    revoke(client, shop, issued)
    revoke(client, admin, admin_token)
    redis = app.extensions["idp_redis"]
    for key in redis.scan_iter("idp:*"):  # what a restart without persistence loses
        redis.delete(key)

    assert introspect(client, shop, issued).json == {"active": False}
    response = client.get("/api/cross-app/apps", headers=bearer(admin_token))
    assert (response.status_code, response.json["error"]) == (401, "invalid_token")
    assert redis.exists(f"idp:revoked:{b64_claims(issued)['jti']}")


@pytest.mark.redis(only=True)
def test_a_cached_answer_never_hides_a_revocation_on_another_node(client, make_app, shop, issued):
    """Node A caches "not revoked"; node B revokes; node A refuses the token at once."""
    other = make_app().test_client()
    assert introspect(client, shop, issued).json["active"] is True  # cached as not revoked
    assert revoke(other, shop, issued).status_code == 200
    assert introspect(client, shop, issued).json == {"active": False}
