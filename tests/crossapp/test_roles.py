"""Per-app roles: PUT /api/cross-app/apps/<client_id>/users/<sub>/roles and the RFC 9068
``roles`` claim."""

import pytest

from idp.apps import services as app_services
from tests.helpers import Flow, authorize_url, b64_claims, bearer, make_user, query_of, user_tokens


def roles_url(client_id: str, sub: str) -> str:
    return f"/api/cross-app/apps/{client_id}/users/{sub}/roles"


def put_roles(client, token, client_id, sub, roles):
    return client.put(roles_url(client_id, sub), json={"roles": roles}, headers=bearer(token))


@pytest.fixture
def admin_token(client, apps):
    return apps.token(client, apps.admin(), "admin").json["access_token"]


@pytest.fixture
def manager_token(client, apps, shop):
    """Shop's own client-credentials token that may manage its roles."""
    return apps.token(client, shop, "roles:manage").json["access_token"]


@pytest.fixture
def consented(client, signed_in, shop, user):
    """The user has signed in to shop (and so consented to it)."""
    user_tokens(client, shop, "openid", sign_in=False)
    return user


def test_admin_assigns_roles(client, admin_token, shop, user):
    response = put_roles(client, admin_token, "shop", user.sub, ["viewer", "editor", "viewer"])
    assert response.status_code == 200
    assert response.json == {"roles": ["editor", "viewer"]}
    response = put_roles(client, admin_token, "shop", user.sub, ["billing:admin"])
    assert response.json == {"roles": ["billing:admin"]}  # a PUT replaces
    assert put_roles(client, admin_token, "shop", user.sub, []).json == {"roles": []}


def test_app_assigns_roles_for_its_users(client, manager_token, consented):
    response = put_roles(client, manager_token, "shop", consented.sub, ["editor"])
    assert response.status_code == 200
    assert response.json == {"roles": ["editor"]}


def test_app_cannot_reach_users_who_never_used_it(client, manager_token, shop):
    stranger = make_user("bob@example.com")
    response = put_roles(client, manager_token, "shop", stranger.sub, ["editor"])
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


@pytest.mark.parametrize(
    ("who", "client_id", "known_user", "status", "error"),
    [
        ("admin", "no-such-app", True, 404, "not_found"),
        ("admin", "shop", False, 404, "not_found"),
        ("manager", "shop", False, 404, "not_found"),
        ("manager", "no-such-app", True, 403, "insufficient_scope"),  # not its own app
    ],
)
def test_unknown_app_or_user(client, request, consented, who, client_id, known_user, status, error):
    token = request.getfixturevalue(f"{who}_token")
    sub = consented.sub if known_user else "no-such-sub"
    response = put_roles(client, token, client_id, sub, ["editor"])
    assert response.status_code == status
    assert response.json["error"] == error


def test_app_cannot_assign_roles_in_another_app(client, signed_in, manager_token, blog, user):
    user_tokens(client, blog, "openid", sign_in=False)  # the user does use blog
    response = put_roles(client, manager_token, "blog", user.sub, ["editor"])
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


def test_person_cannot_be_granted_roles_manage(client, signed_in, shop, user):
    """``roles:manage`` is an app's own scope: the code flow refuses it outright, so no
    person can hold a token that lets them grant themselves roles."""
    url = authorize_url("shop", shop["redirect_uris"][0], "openid roles:manage")
    response = client.get(url)
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == "invalid_scope"


def test_token_without_roles_manage(client, apps, shop, consented):
    token = apps.token(client, shop, "user:metadata").json["access_token"]
    response = put_roles(client, token, "shop", consented.sub, ["editor"])
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    challenge = response.headers["WWW-Authenticate"]  # RFC 6750 section 3.1
    assert 'error="insufficient_scope"' in challenge and 'scope="roles:manage"' in challenge


def test_admin_app_that_lost_the_scope(client, apps, shop, user):
    admin = apps.admin()
    token = apps.token(client, admin, "admin").json["access_token"]
    app_services.update(admin["client_id"], {"allowed_scopes": "credits:read"})
    response = put_roles(client, token, "shop", user.sub, ["editor"])
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("headers", "error"), [({}, "invalid_token"), (bearer("a.b.c"), "invalid_token")]
)
def test_bearer_token_required(client, signing_keys, user, headers, error):
    response = client.put(roles_url("shop", user.sub), json={"roles": []}, headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == error
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "roles",
    [
        ["Admin"],
        [""],
        ["a" * 65],
        ["has space"],
        ["-leading-dash"],
        ["ok", 1],
        [["nested"]],
        "editor",
        None,
        [f"role{i}" for i in range(51)],
    ],
)
def test_invalid_roles(client, admin_token, shop, user, roles):
    response = put_roles(client, admin_token, "shop", user.sub, roles)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_role"


def test_valid_role_shapes(client, admin_token, shop, user):
    roles = ["a" * 64, "billing:admin", "x.y_z-1", "0"]
    response = put_roles(client, admin_token, "shop", user.sub, roles)
    assert response.json == {"roles": sorted(roles)}


@pytest.mark.parametrize("body", ['["editor"]', '"editor"', "roles=editor", "{"])
def test_body_must_be_a_json_object(client, admin_token, shop, user, body):
    response = client.put(
        roles_url("shop", user.sub),
        data=body,
        content_type="application/json",
        headers=bearer(admin_token),
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_roles_claim_in_that_apps_tokens_only(client, signed_in, admin_token, shop, blog, user):
    scope = "openid offline_access"
    before = user_tokens(client, shop, scope, sign_in=False)
    assert "roles" not in b64_claims(before["access_token"])  # none assigned yet
    put_roles(client, admin_token, "shop", user.sub, ["viewer", "editor"])

    refreshed = Flow(client).refresh(shop, before["refresh_token"])
    assert refreshed.status_code == 200
    assert b64_claims(refreshed.json["access_token"])["roles"] == ["editor", "viewer"]
    fresh = user_tokens(client, shop, scope, sign_in=False)["access_token"]
    assert b64_claims(fresh)["roles"] == ["editor", "viewer"]

    other = user_tokens(client, blog, scope, sign_in=False)
    assert "roles" not in b64_claims(other["access_token"])
    assert "roles" not in b64_claims(
        Flow(client).refresh(blog, other["refresh_token"]).json["access_token"]
    )


def test_roles_are_not_in_client_credentials_tokens(client, apps, admin_token, shop, user):
    put_roles(client, admin_token, "shop", user.sub, ["editor"])
    assert "roles" not in b64_claims(apps.token(client, shop).json["access_token"])


def test_removed_roles_leave_the_next_token(client, signed_in, admin_token, shop, user):
    put_roles(client, admin_token, "shop", user.sub, ["editor"])
    tokens = user_tokens(client, shop, "openid offline_access", sign_in=False)
    assert b64_claims(tokens["access_token"])["roles"] == ["editor"]
    put_roles(client, admin_token, "shop", user.sub, [])
    refreshed = Flow(client).refresh(shop, tokens["refresh_token"]).json["access_token"]
    assert "roles" not in b64_claims(refreshed)
