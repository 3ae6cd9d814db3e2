"""The one resolver of who calls a bearer API (idp.oauth2.bearer.Caller): a user's token,
an app's own token, an app acting for a user who granted it a scope, an admin token."""

import pytest

from idp.oauth2 import services as oauth_services
from idp.oauth2.bearer import Caller, InsufficientScope, UserRequired, caller_of
from idp.oauth2.verification import verify_access_token
from tests.helpers import make_user, mint_tokens


@pytest.fixture
def shop(apps):
    return apps.confidential(
        "shop", "openid credits:read roles:manage", audience="https://shop.example"
    )


def _caller(client, apps, app, scope) -> Caller:
    return caller_of(verify_access_token(apps.token(client, app, scope).json["access_token"]))


def test_a_users_token_speaks_for_that_user(app, shop, user):
    claims = verify_access_token(mint_tokens(shop, user, "openid credits:read")["access_token"])
    caller = caller_of(claims)
    assert not caller.is_app
    assert caller.person() is caller.user is caller.token_user
    assert caller.person().id == user.id
    assert caller.client_id == "shop"
    assert caller.scopes == {"openid", "credits:read"}
    assert "https://shop.example" in caller.audiences
    assert caller.actor == f"user:{user.sub}"
    assert not caller.is_admin()


def test_an_apps_own_token_has_no_person(client, apps, shop):
    caller = _caller(client, apps, shop, "credits:read")
    assert caller.is_app and caller.user is None
    assert caller.actor == "client:shop"
    with pytest.raises(UserRequired):
        caller.person()


def test_an_app_acts_only_for_a_user_who_granted_the_scope(client, apps, shop, user):
    caller = _caller(client, apps, shop, "credits:read")
    assert caller.acting_for_user("no-such-sub", "credits:read") is None
    assert caller.acting_for_user(None, "credits:read") is None
    with pytest.raises(InsufficientScope):
        caller.acting_for_user(user.sub, "credits:read")

    oauth_services.grant_consent(user.id, "shop", "openid credits:read")
    acting = caller.acting_for_user(user.sub, "credits:read")
    assert acting.user.id == user.id and acting.token_user is None
    assert acting.actor == "client:shop"  # the app acted, for the user
    with pytest.raises(UserRequired):
        acting.person()


def test_the_admin_check(client, apps, shop, db):
    admin = apps.admin()
    assert _caller(client, apps, admin, "admin").is_admin()
    assert not _caller(client, apps, shop, "roles:manage").is_admin()


def test_a_disabled_user_is_still_named_so_the_api_can_refuse(client, apps, shop, db):
    other = make_user(email="bob@example.com")
    oauth_services.grant_consent(other.id, "shop", "credits:read")
    other.disabled = True
    db.session.commit()
    acting = _caller(client, apps, shop, "credits:read").acting_for_user(other.sub, "credits:read")
    assert acting.user.disabled
