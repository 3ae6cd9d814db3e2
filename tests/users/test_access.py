"""Ending all of a user's access (idp.users.access): every SSO session, then what the
packages above registered (the OAuth layer: every refresh token)."""

from sqlalchemy import select

from idp.oauth2 import services as oauth_services
from idp.oauth2.models import RefreshToken
from idp.users.access import _ENDERS, end_all_access
from tests.helpers import Browser, stored_refresh_token


def test_ends_every_session_and_refresh_token_with_the_reason(app, db, user, apps):
    stored_refresh_token(user, apps)
    browsers = [app.test_client(), app.test_client()]
    for browser in browsers:
        assert Browser(browser).login().status_code == 302

    with app.test_request_context():
        end_all_access(user.id, "signed_out_everywhere")

    assert [b.get("/account").status_code for b in browsers] == [302, 302]
    db.session.rollback()
    token = db.session.scalar(select(RefreshToken))
    assert token.revoked_at is not None and token.revoke_reason == "signed_out_everywhere"


def test_the_oauth_layer_registers_its_ender_and_others_may_add_one(app, db, user, monkeypatch):
    assert oauth_services.revoke_user_grants in app.extensions[_ENDERS]
    calls = []
    monkeypatch.setitem(app.extensions, _ENDERS, [lambda *args: calls.append(args)])

    with app.test_request_context():
        end_all_access(user.id, "account_disabled")

    assert calls == [(user.id, "account_disabled")]
