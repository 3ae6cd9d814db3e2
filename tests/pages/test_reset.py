"""Password reset: a single-use, expiring link by real SMTP, and no account enumeration."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from idp.apps.services import query_client
from idp.core.db_types import utcnow
from idp.oauth2 import services as oauth_services
from idp.oauth2.models import RefreshToken
from idp.users.errors import InvalidResetToken
from idp.users.models import PasswordReset, User
from tests.helpers import PASSWORD, Browser, csrf_of, mail_link, make_user
from tests.pages.flows import forgot
from tests.pages.html import alerts, text

NEW_PASSWORD = "a brand new passphrase"
SENT = (
    "If an account uses that address, we sent it a link to choose a new password. "
    "The link works once and expires soon."
)


def stored_hash(db, email: str) -> str:
    db.session.rollback()
    return db.session.scalar(select(User.password_hash).where(User.email == email))


def set_password(http, link: str, password: str = NEW_PASSWORD):
    path = urlsplit(link).path
    page = http.get(path)
    assert page.status_code == 200, page.data[:300]
    return http.post(path, data={"password": password, "csrf_token": csrf_of(page.data)})


def reset_link(client, mailbox, email: str = "ada@example.com") -> str:
    assert forgot(client, email).status_code == 200
    return mail_link(mailbox)


def test_forgot_mails_a_link_to_the_issuer(client, db, user, mailbox):
    response = forgot(client, "Ada@Example.com ")

    assert response.status_code == 200
    assert SENT in text(response)
    [message] = mailbox.messages
    assert message["To"] == user.email
    assert message["Subject"] == "Reset your password"
    link = mail_link(mailbox)
    assert link.startswith("https://idp.test/reset/")
    assert len(urlsplit(link).path.rsplit("/", 1)[1]) >= 43  # 256 bits


def test_link_ignores_a_forged_host_header(client, db, user, mailbox):
    """Reset poisoning: the link must not point wherever the request's Host says."""
    page = client.get("/forgot")
    csrf_session = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    client.set_cookie(csrf_session.key, csrf_session.value, domain="evil.example")
    response = client.post(
        "/forgot",
        data={"email": user.email, "csrf_token": csrf_of(page.data)},
        headers={"Host": "evil.example"},
    )
    assert response.status_code == 200
    assert mail_link(mailbox).startswith("https://idp.test/reset/")


@pytest.mark.parametrize(
    "email", ["nobody@example.com", "not-an-email", "", "disabled@example.com"]
)
def test_unknown_address_gets_the_same_answer_and_no_mail(client, db, user, mailbox, email):
    make_user("disabled@example.com").disabled = True
    db.session.commit()
    known = forgot(client, user.email)
    mailbox.messages.clear()

    response = forgot(client, email)

    assert response.status_code == known.status_code == 200
    assert text(response) == text(known)
    assert mailbox.messages == []
    assert db.session.scalar(select(PasswordReset).where(PasswordReset.user_id != user.id)) is None


def test_link_sets_the_password_once(client, db, user, mailbox):
    link = reset_link(client, mailbox)

    response = set_password(client, link)

    assert response.status_code == 200
    assert "Your password was changed. Sign in with it now." in text(response)
    assert Browser(client).login(password=NEW_PASSWORD).status_code == 302
    assert Browser(client).login(password=PASSWORD).status_code == 401

    again = client.get(urlsplit(link).path)
    assert again.status_code == 400
    assert alerts(again) == [InvalidResetToken.description]
    page = client.get("/forgot")
    replay = client.post(
        urlsplit(link).path,
        data={"password": "yet another passphrase", "csrf_token": csrf_of(page.data)},
    )
    assert replay.status_code == 400
    assert alerts(replay) == [InvalidResetToken.description]
    assert Browser(client).login(password=NEW_PASSWORD).status_code == 302


def test_expired_link_is_refused(client, db, user, mailbox):
    link = reset_link(client, mailbox)
    page = client.get(urlsplit(link).path)
    db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    before = stored_hash(db, user.email)

    for response in (
        client.get(urlsplit(link).path),
        client.post(
            urlsplit(link).path, data={"password": NEW_PASSWORD, "csrf_token": csrf_of(page.data)}
        ),
    ):
        assert response.status_code == 400
        assert alerts(response) == [InvalidResetToken.description]
    assert stored_hash(db, user.email) == before


@pytest.mark.parametrize("token", ["not-a-token", "x" * 43, "x" * 200, "%00"])
def test_made_up_links_are_refused(client, db, user, token):
    response = client.get(f"/reset/{token}")
    assert response.status_code == 400
    assert alerts(response) == [InvalidResetToken.description]


def test_weak_new_password_keeps_the_link_usable(client, db, user, mailbox):
    link = reset_link(client, mailbox)

    response = set_password(client, link, "short")

    assert response.status_code == 400
    assert alerts(response) == ["Use at least 10 characters."]
    assert set_password(client, link).status_code == 200


def test_using_a_link_invalidates_the_others(client, db, user, mailbox):
    first = reset_link(client, mailbox)
    second = reset_link(client, mailbox)

    assert set_password(client, second).status_code == 200

    response = client.get(urlsplit(first).path)
    assert response.status_code == 400
    assert alerts(response) == [InvalidResetToken.description]


def test_reset_ends_every_session_and_refresh_token(app, db, user, apps, mailbox):
    apps.create(
        client_id="shop",
        redirect_uris=["https://shop.example/cb"],
        allowed_scopes="openid offline_access",
        audience="https://shop.example",
    )
    signed_in = app.test_client()
    assert Browser(signed_in).login().status_code == 302
    subject = oauth_services.Subject(user.id, user.sub, utcnow())
    oauth_services.save_refresh_token(
        "refresh-1", query_client("shop"), subject, "openid offline_access", "family-1"
    )
    stranger = make_user("eve@example.com")
    oauth_services.save_refresh_token(
        "refresh-2",
        query_client("shop"),
        oauth_services.Subject(stranger.id, stranger.sub, utcnow()),
        "openid offline_access",
        "family-2",
    )
    assert signed_in.get("/account").status_code == 200

    other = app.test_client()
    assert set_password(other, reset_link(other, mailbox)).status_code == 200

    assert signed_in.get("/account").status_code == 302
    db.session.rollback()
    tokens = {
        row.token_hash: (row.revoked_at is not None, row.revoke_reason)
        for row in db.session.scalars(select(RefreshToken))
    }
    assert tokens == {
        oauth_services.token_hash("refresh-1"): (True, "password_reset"),
        oauth_services.token_hash("refresh-2"): (False, None),
    }
