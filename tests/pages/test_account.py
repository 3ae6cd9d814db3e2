"""The account page: profile, password, connected apps, sign-out here and everywhere."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from idp.apps.services import query_client
from idp.audit.models import AuditEvent
from idp.core.db_types import utcnow
from idp.oauth2 import services as oauth_services
from idp.oauth2.models import Consent, RefreshToken
from idp.users.models import CrossAppSession, User
from tests.helpers import PASSWORD, Browser, authorize_url, csrf_of, pkce_pair, query_of
from tests.pages.flows import session_cookie, submit
from tests.pages.html import alerts, read, text

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def signed_in(client, user):
    assert Browser(client).login().status_code == 302
    return client


@pytest.fixture
def shop(apps):
    return apps.create(
        client_id="shop",
        name="Shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid profile email offline_access",
        audience="https://shop.example",
    )


def fresh_user(db, user) -> User:
    db.session.rollback()
    return db.session.get(User, user.id)


def shown(http, response, path: str = "/account"):
    """The page a successful POST redirects to (302: a reload never sends it again)."""
    assert response.status_code == 302, response.data[:300]
    assert urlsplit(response.headers["Location"]).path == path
    return http.get(response.headers["Location"])


def refresh_token(user, client_id: str, value: str) -> None:
    oauth_services.save_refresh_token(
        value,
        query_client(client_id),
        oauth_services.Subject(user.id, user.sub, utcnow()),
        "openid offline_access",
        value,
    )


def refresh_tokens(db) -> dict[str, str | None]:
    """Which refresh tokens are revoked, and why (None: still valid)."""
    db.session.rollback()
    return {
        row.family_id: row.revoke_reason if row.revoked_at else None
        for row in db.session.scalars(select(RefreshToken))
    }


@pytest.mark.parametrize("path", ["/account", "/purchase"])
def test_pages_need_a_session(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert query_of(response.headers["Location"])["return_to"] == path


@pytest.mark.parametrize(
    "path",
    [
        "/account/profile",
        "/account/password",
        "/account/apps/shop/revoke",
        "/account/sign-out-everywhere",
        "/account/sessions/1/end",
        "/account/email",
        "/account/email/verify",
        "/account/delete",
    ],
)
def test_forms_without_a_session_go_to_sign_in_then_the_account(client, db, user, path):
    page = client.get("/login")
    response = client.post(path, data={"csrf_token": csrf_of(page.data)})
    assert response.status_code == 302
    return_to = query_of(response.headers["Location"])["return_to"]
    assert return_to == "/account"  # a form target cannot be opened with GET
    assert Browser(client).login(return_to=return_to).headers["Location"] == "/account"


def test_return_to_keeps_the_query(client, db, user):
    response = client.get("/purchase?client_id=shop&return_to=/account")
    assert query_of(response.headers["Location"])["return_to"] == (
        "/purchase?client_id=shop&return_to=/account"
    )


def test_account_page_shows_the_person(signed_in, user):
    response = signed_in.get("/account")
    assert response.status_code == 200
    assert "ada@example.com verified" in text(response)
    assert "No app has access to your account." in text(response)


def test_profile_update(signed_in, db, user):
    response = submit(signed_in, "/account", "/account/profile", display_name="  Ada L.  ")
    assert "Your profile was saved." in text(shown(signed_in, response))
    assert fresh_user(db, user).display_name == "Ada L."
    assert "Your profile was saved." not in text(signed_in.get("/account"))  # shown once


def test_too_long_name_is_an_inline_error(signed_in, db, user):
    response = submit(signed_in, "/account", "/account/profile", display_name="x" * 101)
    assert response.status_code == 400
    assert alerts(response) == ["Your name can be at most 100 characters."]
    assert fresh_user(db, user).display_name == "Ada"


def test_change_password(signed_in, db, user):
    response = submit(
        signed_in,
        "/account",
        "/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
    )
    assert "Your password was changed." in text(shown(signed_in, response))
    assert Browser(signed_in).login(password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("wrong password!", NEW_PASSWORD, "Your current password is incorrect."),
        ("", NEW_PASSWORD, "Your current password is incorrect."),
        (PASSWORD, "short", "Use at least 10 characters."),
        (PASSWORD, "ada@example.com", "Your password must not be your email address."),
    ],
)
def test_change_password_rejections(signed_in, db, user, current, new, message):
    before = fresh_user(db, user).password_hash
    response = submit(
        signed_in, "/account", "/account/password", current_password=current, new_password=new
    )
    assert response.status_code == 400
    assert alerts(response) == [message]
    assert fresh_user(db, user).password_hash == before


def test_consent_lists_the_app_and_revoking_ends_its_access(signed_in, db, user, apps, shop):
    apps.create(
        client_id="news",
        name="News",
        redirect_uris=["https://news.example/cb"],
        allowed_scopes="openid offline_access",
        audience="https://news.example",
    )
    _, challenge = pkce_pair()
    url = authorize_url("shop", "https://shop.example/cb", "openid profile", challenge)
    allowed = Browser(signed_in).consent(url)
    assert allowed.status_code == 302
    assert "code" in query_of(allowed.headers["Location"])
    oauth_services.grant_consent(user.id, "news", "openid")
    refresh_token(user, "shop", "shop-1")
    refresh_token(user, "shop", "shop-2")
    refresh_token(user, "news", "news-1")

    page = signed_in.get("/account")
    listed = {a["data-client-id"] for a in read(page.data).all("li") if "data-client-id" in a}
    assert listed == {"shop", "news"}
    assert "Shop Sign you in with your account, See your name Revoke access" in text(page)

    asked = signed_in.get("/account/apps/shop/revoke")
    assert "Remove Shop's access?" in text(asked)
    assert len(list(db.session.scalars(select(Consent)))) == 2  # asking changed nothing
    response = shown(signed_in, submit(signed_in, "/account/apps/shop/revoke"))

    assert "Access removed. The app must ask you again." in text(response)
    listed = {a["data-client-id"] for a in read(response.data).all("li") if "data-client-id" in a}
    assert listed == {"news"}
    db.session.rollback()
    assert [c.client_id for c in db.session.scalars(select(Consent))] == ["news"]
    assert refresh_tokens(db) == {
        "shop-1": "consent_revoked",
        "shop-2": "consent_revoked",
        "news-1": None,
    }
    assert Browser(signed_in).consent(url).status_code == 302  # asked again


def test_sign_out_everywhere(app, db, user, shop):
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        assert Browser(browser).login().status_code == 302
    refresh_token(user, "shop", "shop-1")

    asked = here.get("/account/sign-out-everywhere")
    assert "Sign out everywhere?" in text(asked)
    assert elsewhere.get("/account").status_code == 200  # asking changed nothing
    response = submit(here, "/account/sign-out-everywhere")
    assert session_cookie(here, app) is None
    assert "You are signed out on every device" in text(shown(here, response, "/signed-out"))
    for browser in (here, elsewhere):
        assert browser.get("/account").status_code == 302
    db.session.rollback()
    assert all(s.revoked_at for s in db.session.scalars(select(CrossAppSession)))
    assert refresh_tokens(db) == {"shop-1": "signed_out_everywhere"}
    assert db.session.scalar(select(AuditEvent.event).order_by(AuditEvent.id.desc())) == (
        "logout.everywhere"
    )


def test_logout_get_only_asks(signed_in, db, user):
    response = signed_in.get("/logout")
    assert response.status_code == 200
    assert "Sign out? You are signed in as ada@example.com" in text(response)
    assert signed_in.get("/logout").status_code == 200
    assert signed_in.get("/account").status_code == 200


def test_logout_post_signs_out_this_browser_only(app, db, user):
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        assert Browser(browser).login().status_code == 302

    response = submit(here, "/logout")

    assert response.status_code == 200
    assert "You are signed out in this browser." in text(response)
    assert session_cookie(here, app) is None
    assert here.get("/account").status_code == 302
    assert elsewhere.get("/account").status_code == 200


def test_changing_the_password_ends_other_browsers_and_refresh_tokens(app, db, user, shop):
    """As a reset does: whoever knew the old password keeps nothing; this browser stays."""
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        assert Browser(browser).login().status_code == 302
    refresh_token(user, "shop", "shop-1")

    response = submit(
        here, "/account", "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD
    )

    assert response.status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302
    assert refresh_tokens(db) == {"shop-1": "password_changed"}


def test_a_refused_password_change_ends_nothing(app, db, user, shop):
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        assert Browser(browser).login().status_code == 302
    refresh_token(user, "shop", "shop-1")

    response = submit(
        here, "/account", "/account/password", current_password="wrong!", new_password=NEW_PASSWORD
    )

    assert response.status_code == 400
    assert elsewhere.get("/account").status_code == 200
    assert refresh_tokens(db) == {"shop-1": None}


def test_profile_changes_move_updated_at_and_a_password_change_does_not(signed_in, db, user):
    """OIDC ``updated_at`` is the profile's last change, not the password's."""
    stale = utcnow() - timedelta(days=3)
    fresh_user(db, user).updated_at = stale
    db.session.commit()

    submit(
        signed_in,
        "/account",
        "/account/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
    )
    assert fresh_user(db, user).updated_at == stale

    submit(signed_in, "/account", "/account/profile", display_name="Ada L.")
    assert fresh_user(db, user).updated_at > stale


def test_the_sign_out_button_signs_out_here_and_redirects(app, db, user):
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        assert Browser(browser).login().status_code == 302
    action = [f["action"] for f in read(here.get("/account").data).all("form")][-1]
    assert action.startswith("/account/sessions/")  # "Sign out": this device's session

    response = shown(
        here,
        here.post(action, data={"csrf_token": csrf_of(here.get("/account").data)}),
        "/signed-out",
    )

    assert "You are signed out in this browser." in text(response)
    assert here.get("/account").status_code == 302
    assert elsewhere.get("/account").status_code == 200


def test_a_reloaded_signed_out_page_says_nothing_it_cannot_know(signed_in):
    assert signed_in.get("/signed-out").status_code == 302  # still signed in: the account
